/**
 * The soak judges the agent at steady state, so its bounded stores must be full before the fitted
 * window opens; otherwise they are still filling and their growth, bounded but real, reads as a
 * leak. The stores that hold objects on the V8 heap and fill from the load (each entry a few
 * hundred bytes, at about one entry a second: the power controller audits each budget action):
 *
 * - the audit log's in-memory ring ({@link AUDIT_ENTRIES_KEPT} entries);
 * - the Redfish poller's seen-entry marks ({@link KEEP_SEEN} URIs per log): the demo's poller
 *   reads the agent's own AuditLog, so each audit entry becomes a mark
 * - and a `hw.log.v1` event, kept in the Redfish hardware log ({@link HARDWARE_LOG_KEPT});
 * - the poller's ETag cache (512 URIs and 1 MiB of reply text per BMC) kept the last AuditLog
 *   collection read, every entry of the ring in it, until replies over 256 KiB stopped being kept.
 *
 * At the soak's rate that is 17 minutes for the rings and 33 for the marks: longer than the hour's
 * warm-up. Instead, {@link prefillState} gives the agent the state directory an agent that ran
 * that long leaves behind, before it starts: an audit file holding more entries than the ring
 * keeps (it loads the newest), and the marks of the older ones as already seen. The agent's first
 * read of its own AuditLog then finds a full ring of new entries: the marks fill to their bound
 * and the hardware log receives a full ring's worth. {@link storeFill} reads back what each store
 * holds, so the soak prints whether they were full when the window opened.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_ENTRIES_KEPT } from '../../core/services/audit-log.js';
import { KEEP_SEEN } from '../../plugins/redfish/poller/logs.js';
import { HARDWARE_LOG_KEPT } from '../../plugins/redfish/resources/hardware-log.js';
import type { DemoCredentials } from './agent.js';
import { httpsGetJson } from './load.js';

const LOGS = '/redfish/v1/Managers/vpmd/LogServices';
const AUDIT_ENTRIES = `${LOGS}/AuditLog/Entries`;
const HARDWARE_ENTRIES = `${LOGS}/HardwareLog/Entries`;

/** The newest audit id in `text` (JSON lines), 0 when there is none. */
function lastId(text: string): number {
  let last = 0;
  for (const line of text.split('\n')) {
    try {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id === 'number' && id > last) last = id;
    } catch {
      // blank or torn line
    }
  }
  return last;
}

/**
 * Appends {@link AUDIT_ENTRIES_KEPT} + {@link KEEP_SEEN} audit entries to the demo's state (shaped
 * like the power controller's, a second apart, ending now) and marks the older
 * {@link KEEP_SEEN} as seen by every Redfish target of the demo. Returns how many were written.
 */
export async function prefillState(dir: string): Promise<{ auditEntries: number; marksPerLog: number }> {
  const state = join(dir, 'state');
  const auditFile = join(state, 'audit.jsonl');
  const text = await readFile(auditFile, 'utf8').catch(() => '');
  const first = lastId(text) + 1;
  const count = AUDIT_ENTRIES_KEPT + KEEP_SEEN;
  const now = Date.now();
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const khz = 1_900_000 + ((i * 7_919) % 20) * 1_000;
    lines.push(
      JSON.stringify({
        action: 'power control',
        principal: 'power-controller',
        origin: 'internal',
        outcome: 'ok',
        detail: `batch-1: frequency ceiling ${khz} kHz on CPUs 4,5,6,7 (cause: soak prefill, batch-1 drew 7.0 W against 8.0 W)`,
        timestamp: now - (count - i) * 1000,
        id: first + i,
      }),
    );
  }
  const lead = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeFile(auditFile, `${text}${lead}${lines.join('\n')}\n`, { mode: 0o600 });

  // The marks file as the state store writes it; the demo's poller may not have written one yet.
  const marksFile = join(state, 'plugins', 'redfish', 'log-marks.json');
  const saved = await readFile(marksFile, 'utf8')
    .then((t) => JSON.parse(t) as { data: Record<string, Record<string, string[]>> })
    .catch(() => undefined);
  const targets = Object.keys(saved?.data ?? {});
  const seen = Array.from({ length: KEEP_SEEN }, (_, i) => `${AUDIT_ENTRIES}/${first + i}`);
  const data = Object.fromEntries(
    (targets.length > 0 ? targets : ['self']).map((t) => [t, { ...saved?.data[t], [AUDIT_ENTRIES]: seen }]),
  );
  const savedAt = new Date().toISOString();
  await writeFile(marksFile, `${JSON.stringify({ format: 'vpmd-state', version: 1, savedAt, data })}\n`, {
    mode: 0o600,
  });
  return { auditEntries: count, marksPerLog: KEEP_SEEN };
}

/** One bounded store: what it holds now and its bound. */
export interface StoreFill {
  held: number;
  bound: number;
}

/** What the bounded stores hold now (-1 where it could not be read), and the newest audit id. */
export async function storeFill(
  creds: DemoCredentials,
): Promise<{ stores: Record<string, StoreFill>; newestAuditId: number }> {
  const read = async (path: string): Promise<{ held: number; newest: number }> => {
    const body = (await httpsGetJson(`https://127.0.0.1:${creds.redfish.port}${path}`, creds.redfish)) as
      { 'Members@odata.count'?: unknown; Members?: Array<{ Id?: unknown }> } | undefined;
    const n = body?.['Members@odata.count'];
    return { held: typeof n === 'number' ? n : -1, newest: Number(body?.Members?.at(-1)?.Id ?? NaN) };
  };
  const marks = await readFile(join(creds.dir, 'state', 'plugins', 'redfish', 'log-marks.json'), 'utf8')
    .then((t) => (JSON.parse(t) as { data: Record<string, Record<string, string[]>> }).data)
    .catch(() => ({}));
  const fewestMarks = Math.min(...Object.values(marks).map((logs) => logs[AUDIT_ENTRIES]?.length ?? 0));
  const audit = await read(AUDIT_ENTRIES);
  return {
    stores: {
      auditRing: { held: audit.held, bound: AUDIT_ENTRIES_KEPT },
      hardwareLog: { held: (await read(HARDWARE_ENTRIES)).held, bound: HARDWARE_LOG_KEPT },
      redfishLogMarks: { held: Number.isFinite(fewestMarks) ? fewestMarks : -1, bound: KEEP_SEEN },
    },
    newestAuditId: audit.newest,
  };
}

/**
 * Whether every store was full at the window's start, and at the audit rate measured over the
 * window, after how many minutes of load each would have filled from empty without the prefill.
 */
export function fillReport(
  start: { t: number; fill: Awaited<ReturnType<typeof storeFill>> },
  end: { t: number; fill: Awaited<ReturnType<typeof storeFill>> },
): { fullAtWindowStart: boolean; auditEntriesPerMinute: number; minutesToFillFromEmpty: Record<string, number> } {
  const perMinute = ((end.fill.newestAuditId - start.fill.newestAuditId) / (end.t - start.t)) * 60;
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  return {
    fullAtWindowStart: Object.values(start.fill.stores).every((s) => s.held >= s.bound),
    auditEntriesPerMinute: r1(perMinute),
    minutesToFillFromEmpty: Object.fromEntries(
      Object.entries(start.fill.stores).map(([name, s]) => [name, r1(s.bound / perMinute)]),
    ),
  };
}
