import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScopedEventBus } from 'vpmd';
import { StateStore } from '../../core/state/state-store.js';
import { fillReport, prefillState } from '../../bench/soak/prefill.js';
import { AUDIT_ENTRIES_KEPT, AuditLog } from '../../core/services/audit-log.js';
import { KEEP_SEEN, LogReader } from '../../plugins/redfish/poller/logs.js';
import type { RedfishTarget } from '../../plugins/redfish/poller/target.js';
import { createLogger } from '../../core/logger.js';

const AUDIT = '/redfish/v1/Managers/vpmd/LogServices/AuditLog/Entries';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-soak-prefill-'));
  await mkdir(join(dir, 'state', 'plugins', 'redfish'), { recursive: true });
  // What the demo leaves: a few audit entries, one of them already read by the poller.
  const demo = [1, 2, 3].map((id) =>
    JSON.stringify({
      action: 'account add',
      principal: 'root',
      origin: 'cli',
      outcome: 'ok',
      detail: 'x',
      timestamp: id,
      id,
    }),
  );
  await writeFile(join(dir, 'state', 'audit.jsonl'), `${demo.join('\n')}\n`);
  await writeFile(
    join(dir, 'state', 'plugins', 'redfish', 'log-marks.json'),
    `${JSON.stringify({ format: 'vpmd-state', version: 1, savedAt: new Date().toISOString(), data: { self: { [AUDIT]: [`${AUDIT}/1`] } } })}\n`,
  );
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('prefillState', () => {
  it('leaves the audit ring, the log marks and the hardware log full after the first log read', async () => {
    await prefillState(dir);
    const audit = new AuditLog(join(dir, 'state'), createLogger({ level: 'silent' }));
    await audit.load();
    const ring = audit.list(Number.POSITIVE_INFINITY);
    expect(ring).toHaveLength(AUDIT_ENTRIES_KEPT);
    expect(ring.at(-1)?.id).toBe(3 + AUDIT_ENTRIES_KEPT + KEEP_SEEN);

    // The poller's first read of the agent's own AuditLog (the ring as Redfish serves it).
    const emitted: unknown[] = [];
    const events = { emit: (_: string, e: unknown) => emitted.push(e) } as unknown as ScopedEventBus;
    const reader = new LogReader(events, new StateStore(join(dir, 'state', 'plugins', 'redfish')));
    await reader.load();
    const target = {
      target: { name: 'self' },
      discovery: { logs: [AUDIT] },
      expandedMembers: () => Promise.resolve(ring.map((r) => ({ '@odata.id': `${AUDIT}/${r.id}`, Message: r.detail }))),
    } as unknown as RedfishTarget;
    // Every entry of the ring is new: the hardware log (hw.log.v1) receives a full ring.
    expect(await reader.poll(target)).toBe(AUDIT_ENTRIES_KEPT);
    const marks = JSON.parse(await readFile(join(dir, 'state', 'plugins', 'redfish', 'log-marks.json'), 'utf8')) as {
      data: Record<string, Record<string, string[]>>;
    };
    expect(marks.data.self?.[AUDIT]).toHaveLength(KEEP_SEEN);
    // Read again: nothing new.
    expect(await reader.poll(target)).toBe(0);
  });
});

describe('fillReport', () => {
  it('says whether every store was full and how long each takes to fill at the measured rate', () => {
    const fill = (held: number, newestAuditId: number) => ({
      stores: { auditRing: { held, bound: 1000 }, redfishLogMarks: { held: 2000, bound: 2000 } },
      newestAuditId,
    });
    const r = fillReport({ t: 600, fill: fill(1000, 5000) }, { t: 3600, fill: fill(1000, 8000) });
    expect(r).toEqual({
      fullAtWindowStart: true,
      auditEntriesPerMinute: 60,
      minutesToFillFromEmpty: { auditRing: 16.7, redfishLogMarks: 33.3 },
    });
    expect(fillReport({ t: 600, fill: fill(999, 5000) }, { t: 3600, fill: fill(1000, 8000) }).fullAtWindowStart).toBe(
      false,
    );
  });
});
