/**
 * LogService entries as `hw.log.v1` events: each entry once, remembered by its URI across
 * restarts (state `log-marks`, the newest {@link KEEP_SEEN} per log). The first read of a log
 * emits what it holds, as the IPMI poller does with a SEL. Entries a vpmd relayed from its own
 * Redfish poller (`Oem.Vpmd.Source` `redfish/...`) are not read back: a vpmd polling a vpmd
 * would otherwise echo them forever.
 */
import { Type, type ScopedEventBus, type StateStore } from 'vpmd';
import { prop, str } from './readings.js';
import type { RfObject } from './session.js';
import type { RedfishTarget } from './target.js';

/** Entry URIs remembered per log. */
export const KEEP_SEEN = 2000;

const Marks = Type.Record(Type.String(), Type.Record(Type.String(), Type.Array(Type.String())));
const MARKS_SPEC = { version: 1, schema: Marks } as const;

const SEVERITY: Readonly<Record<string, 'info' | 'warning' | 'critical'>> = {
  OK: 'info',
  Warning: 'warning',
  Critical: 'critical',
};

/** One entry as `vpmctl redfish logs` lists it. */
export interface LogEntryView {
  readonly log: string;
  readonly id: string;
  readonly created: string | undefined;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly message: string;
}

/** A LogEntry in our terms. */
export function entryView(log: string, e: RfObject): LogEntryView {
  const sev = prop(e, 'Severity') ?? prop(e, 'MessageSeverity');
  const created = prop(e, 'Created') ?? prop(e, 'EventTimestamp');
  const msg = prop(e, 'Message');
  const msgId = prop(e, 'MessageId');
  return {
    log,
    id: str(prop(e, '@odata.id')) ?? str(prop(e, 'Id')) ?? '',
    created: typeof created === 'string' ? created : undefined,
    severity: (typeof sev === 'string' ? SEVERITY[sev] : undefined) ?? 'info',
    message: `${typeof msg === 'string' ? msg : '(no message)'}${typeof msgId === 'string' ? ` [${msgId}]` : ''}`,
  };
}

function relayed(e: RfObject): boolean {
  const src = prop(e, 'Oem', 'Vpmd', 'Source');
  return typeof src === 'string' && src.startsWith('redfish/');
}

/** Reads the log entries of targets and emits the new ones. */
export class LogReader {
  private marks: Record<string, Record<string, string[]>> = {};

  constructor(
    private readonly events: ScopedEventBus,
    private readonly state: StateStore,
  ) {}

  /** Loads the remembered entries. */
  async load(): Promise<void> {
    this.marks = { ...((await this.state.read('log-marks', MARKS_SPEC)) ?? {}) };
  }

  /** Every entry of every log of `t` (for `vpmctl redfish logs`). */
  async entries(t: RedfishTarget): Promise<LogEntryView[]> {
    const d = t.discovery ?? (await t.discover());
    const out: LogEntryView[] = [];
    for (const log of d.logs) {
      for (const e of await t.expandedMembers(log)) if (!relayed(e)) out.push(entryView(log, e));
    }
    return out;
  }

  /** Emits the entries of `t` not seen before; returns how many. */
  async poll(t: RedfishTarget): Promise<number> {
    const name = t.target.name;
    const d = t.discovery ?? (await t.discover());
    const mine = (this.marks[name] ??= {});
    let emitted = 0;
    let changed = false;
    // Every log read at once (bounded by the BMC's request limit), then handled in order.
    const all = await Promise.all(d.logs.map(async (log) => ({ log, entries: await t.expandedMembers(log) })));
    for (const { log, entries } of all) {
      const seen = new Set(mine[log] ?? []);
      const fresh: LogEntryView[] = [];
      for (const e of entries) {
        const v = entryView(log, e);
        if (v.id === '' || seen.has(v.id) || relayed(e)) continue;
        seen.add(v.id);
        fresh.push(v);
      }
      if (fresh.length === 0) continue;
      for (const v of fresh) {
        const ts = v.created === undefined ? NaN : Date.parse(v.created);
        this.events.emit('hw.log.v1', {
          source: `redfish/${name}`,
          id: `${name}:${v.id}`,
          timestamp: Number.isFinite(ts) ? ts : Date.now(),
          severity: v.severity,
          message: v.message,
        });
        emitted++;
      }
      mine[log] = [...seen].slice(-KEEP_SEEN);
      changed = true;
    }
    if (changed) await this.state.write('log-marks', MARKS_SPEC, this.marks);
    return emitted;
  }
}
