/**
 * Kept log entries share one hidden class. `{ ...entry, id }` made a map (and descriptor array)
 * per entry: about 280 bytes more for each of the 1,000 kept, and the soak saw the ring's heap
 * grow as its entries were replaced. Checked in a fresh node process: in the suite's shared
 * workers other tests' objects can have moved the same maps on, which says nothing of the logs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { compiledFixture } from '../../support/compiled-fixture.js';

let shares: { audit: number; hardware: number };
beforeAll(async () => {
  const fixture = await compiledFixture(new URL('./fixtures/log-shapes.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--allow-natives-syntax', fixture]);
  shares = JSON.parse(stdout) as typeof shares;
}, 60_000);

describe('kept log entries share one hidden class', () => {
  it('audit records, as the power controller emits them', () => {
    expect(shares.audit).toBe(99);
  });

  it('hardware log entries', () => {
    expect(shares.hardware).toBe(99);
  });
});
