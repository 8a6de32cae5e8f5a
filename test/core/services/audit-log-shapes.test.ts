import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInThisContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import { AuditLog } from '../../../core/services/audit-log.js';
import { HardwareLog } from '../../../plugins/redfish/resources/hardware-log.js';

// V8's own test of whether two objects share a hidden class (map).
setFlagsFromString('--allow-natives-syntax');
const haveSameMap = runInThisContext('(a, b) => %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
const sharing = (xs: readonly object[]): number => xs.filter((x, i) => i > 0 && haveSameMap(x, xs[i - 1]!)).length;

describe('kept log entries share one hidden class', () => {
  // `{ ...entry, id }` made a map (and descriptor array) per entry: about 280 bytes more for each
  // of the 1,000 kept, and the soak saw the ring's heap grow as its entries were replaced.
  it('audit records, as the power controller emits them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vpmd-audit-shapes-'));
    try {
      const audit = new AuditLog(dir, createLogger({ level: 'silent' }), 100);
      for (let i = 0; i < 100; i++) {
        const detail = `batch-1: ceiling ${i}`;
        audit.record({
          action: 'power control',
          principal: 'power-controller',
          origin: 'internal',
          ...(i % 1000 === 5000 ? { address: 'x' } : {}),
          outcome: 'ok',
          ...(detail !== undefined ? { detail } : {}),
          timestamp: Date.now(),
        });
      }
      await audit.flush();
      expect(sharing(audit.list(100))).toBe(99);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('hardware log entries', () => {
    const log = new HardwareLog(100);
    for (let i = 0; i < 100; i++)
      log.add({ source: 'redfish/self', id: `self:${i}`, timestamp: i, severity: 'info', message: `m ${i}` });
    expect(sharing(log.list())).toBe(99);
  });
});
