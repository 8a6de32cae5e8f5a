import { describe, expect, it } from 'vitest';
import { EventBus, scopeEventBus } from '../../../core/services/event-bus.js';
import { createLogger } from '../../../core/logger.js';

describe('event bus', () => {
  it('delivers typed events, contains a throwing listener and drops an owner’s subscriptions', () => {
    const bus = new EventBus(createLogger({ level: 'silent' }));
    const got: string[] = [];
    bus.on('a', 'host.power.v1', () => {
      throw new Error('bad listener');
    });
    scopeEventBus(bus, 'b').on('host.power.v1', (e) => void got.push(`b:${e.state}`));
    bus.emit('host.power.v1', { state: 'suspended', timestamp: 1 });
    expect(got).toEqual(['b:suspended']);
    expect(bus.removeOwner('b')).toBe(1);
    bus.emit('host.power.v1', { state: 'on', timestamp: 2 });
    expect(got).toEqual(['b:suspended']);
  });

  it('refuses undeclared event names from untyped (JavaScript) plugins', () => {
    const bus = new EventBus(createLogger({ level: 'silent' }));
    expect(() => bus.emit('nope.v1' as 'host.power.v1', { state: 'on', timestamp: 0 })).toThrow(
      expect.objectContaining({ code: 'E_EVENT_UNKNOWN' }),
    );
  });
});
