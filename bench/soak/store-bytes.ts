/**
 * What each bounded store the soak fills costs on the V8 heap when full: the store filled with
 * entries shaped like the soak's (the power controller's audit entries, their Redfish LogEntry
 * views), live heap measured after a forced GC before and after, divided by the entries.
 * Usage: tsx --expose-gc bench/soak/store-bytes.ts (prints JSON: bytes per entry and when full).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_ENTRIES_KEPT, AuditLog } from '../../core/services/audit-log.js';
import { createLogger } from '../../core/logger.js';
import { KEEP_SEEN } from '../../plugins/redfish/poller/logs.js';
import { HARDWARE_LOG_KEPT, HardwareLog } from '../../plugins/redfish/resources/hardware-log.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('store-bytes: run with tsx --expose-gc\n');
  process.exit(2);
}
const LOGS = '/redfish/v1/Managers/vpmd/LogServices';
const detail = (i: number): string =>
  `batch-1: frequency ceiling ${1_900_000 + (i % 20) * 1000} kHz on CPUs 4,5,6,7 (cause: batch-1 drew 7.${i % 10} W against 8.0 W)`;
const created = (i: number): string => new Date(1_796_000_000_000 + i * 1000).toISOString();
/** A LogEntryCollection as the agent serves it (the poller's ETag cache keeps the parsed body). */
const collection = (log: 'AuditLog' | 'HardwareLog', n: number): string =>
  JSON.stringify({
    '@odata.id': `${LOGS}/${log}/Entries`,
    Members: Array.from({ length: n }, (_, i) => {
      const audit = `${LOGS}/AuditLog/Entries/${5000 + i}`;
      const message = `power-controller (internal): power control: ok (${detail(i)})`;
      return log === 'AuditLog'
        ? {
            '@odata.id': audit,
            '@odata.type': '#LogEntry.v1_21_0.LogEntry',
            Id: String(5000 + i),
            Name: `Audit entry ${5000 + i}`,
            EntryType: 'Oem',
            OemRecordFormat: 'vpmd audit',
            MessageId: 'Vpmd.Audit.Ok',
            Severity: 'OK',
            Created: created(i),
            Message: message,
          }
        : {
            '@odata.id': `${LOGS}/HardwareLog/Entries/${i + 1}`,
            '@odata.type': '#LogEntry.v1_21_0.LogEntry',
            Id: String(i + 1),
            Name: `Hardware log entry ${i + 1}`,
            EntryType: 'Oem',
            OemRecordFormat: 'vpmd hw.log',
            MessageId: `self:${audit}`,
            Severity: 'OK',
            Created: created(i),
            Message: `redfish/self: ${message} [Vpmd.Audit.Ok]`,
            Oem: {
              Vpmd: {
                '@odata.type': '#VpmdLogEntry.v1_0_0.LogEntry',
                Source: 'redfish/self',
                SourceId: `self:${audit}`,
              },
            },
          };
    }),
    'Members@odata.count': n,
  });

/** Live heap bytes that `fill()`'s result keeps, per entry. */
async function perEntry(entries: number, fill: () => unknown): Promise<number> {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const kept = await fill();
  gc!();
  const bytes = process.memoryUsage().heapUsed - before;
  if (kept === undefined) throw new Error('nothing kept');
  return Math.round(bytes / entries);
}

const log = createLogger({ level: 'silent' });
const dir = await mkdtemp(join(tmpdir(), 'vpmd-store-bytes-'));
const stores = {
  auditRing: {
    bound: AUDIT_ENTRIES_KEPT,
    bytesPerEntry: await perEntry(AUDIT_ENTRIES_KEPT, async () => {
      const a = new AuditLog(dir, log);
      for (let i = 0; i < AUDIT_ENTRIES_KEPT; i++)
        a.record({
          action: 'power control',
          principal: 'power-controller',
          origin: 'internal',
          outcome: 'ok',
          detail: detail(i),
          timestamp: 1_796_000_000_000 + i,
        });
      await a.flush();
      return a;
    }),
  },
  hardwareLog: {
    bound: HARDWARE_LOG_KEPT,
    bytesPerEntry: await perEntry(HARDWARE_LOG_KEPT, () => {
      const h = new HardwareLog();
      for (let i = 0; i < HARDWARE_LOG_KEPT; i++)
        h.add({
          source: 'redfish/self',
          id: `self:${LOGS}/AuditLog/Entries/${5000 + i}`,
          timestamp: 1_796_000_000_000 + i,
          severity: 'info',
          message: `power-controller (internal): power control: ok (${detail(i)}) [Vpmd.Audit.Ok]`,
        });
      return h;
    }),
  },
  redfishLogMarks: {
    bound: KEEP_SEEN,
    bytesPerEntry: await perEntry(KEEP_SEEN, () =>
      Array.from({ length: KEEP_SEEN }, (_, i) => `${LOGS}/AuditLog/Entries/${3000 + i}`),
    ),
  },
  etagAuditLogBody: {
    bound: AUDIT_ENTRIES_KEPT,
    bytesPerEntry: await perEntry(AUDIT_ENTRIES_KEPT, () => JSON.parse(collection('AuditLog', AUDIT_ENTRIES_KEPT))),
  },
  etagHardwareLogBody: {
    bound: HARDWARE_LOG_KEPT,
    bytesPerEntry: await perEntry(HARDWARE_LOG_KEPT, () => JSON.parse(collection('HardwareLog', HARDWARE_LOG_KEPT))),
  },
};
await rm(dir, { recursive: true, force: true });
const KiB = (b: number): number => Math.round(b / 102.4) / 10;
process.stdout.write(
  `${JSON.stringify(
    {
      stores: Object.fromEntries(
        Object.entries(stores).map(([k, s]) => [k, { ...s, fullKiB: KiB(s.bound * s.bytesPerEntry) }]),
      ),
      totalFullKiB: KiB(Object.values(stores).reduce((a, s) => a + s.bound * s.bytesPerEntry, 0)),
    },
    null,
    2,
  )}\n`,
);
