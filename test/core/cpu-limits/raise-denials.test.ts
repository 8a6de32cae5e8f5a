/**
 * cpu-limits@1 raise denials: per domain and owner, found by UUID (any case) or name from
 * memory, the oldest first when several owners deny, bad input refused with what is allowed.
 */
import { describe, expect, it } from 'vitest';
import { RaiseDenials } from '../../../core/cpu-limits/raise-denials.js';

const UUID = 'AAAAAAAA-1111-4222-8333-444455556666';

describe('raise denials', () => {
  it('finds a denial by UUID in any case and by name, the oldest owner first, until lifted', () => {
    let t = 1000;
    const d = new RaiseDenials(() => t);
    d.deny('power:budget:web', { uuid: UUID, name: 'web' }, 'over its 20 W budget');
    t = 2000;
    d.deny('facility:thermal', { uuid: UUID, name: 'web' }, 'zone 0 too hot');
    expect(d.find(UUID)).toMatchObject({ owner: 'power:budget:web', uuid: UUID.toLowerCase(), since: 1000 });
    expect(d.find(UUID.toLowerCase())).toEqual(d.find('web'));
    expect(d.find('other')).toBeUndefined();
    // Re-denying keeps the original time; the reason follows the latest call.
    t = 3000;
    d.deny('power:budget:web', { uuid: UUID, name: 'web' }, 'over its 15 W budget');
    expect(d.find('web')).toMatchObject({ since: 1000, reason: 'over its 15 W budget' });
    d.lift('power:budget:web', UUID);
    expect(d.find('web')).toMatchObject({ owner: 'facility:thermal' });
    d.lift('facility:thermal');
    expect(d.find('web')).toBeUndefined();
    expect(d.all()).toEqual([]);
  });

  it('refuses a bad owner, a non-UUID and an empty reason, and changes nothing', () => {
    const d = new RaiseDenials(() => 0);
    expect(() => d.deny('Power budget', { uuid: UUID, name: 'web' }, 'x')).toThrow(/must look like plugin:what/);
    expect(() => d.deny('power:budget:web', { uuid: 'web', name: 'web' }, 'x')).toThrow(/'web' is not a domain UUID/);
    expect(() => d.deny('power:budget:web', { uuid: UUID, name: 'web' }, ' ')).toThrow(/needs a reason/);
    expect(d.all()).toEqual([]);
  });
});
