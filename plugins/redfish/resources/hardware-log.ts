/**
 * `Managers/vpmd/LogServices/HardwareLog`: hardware event log entries (IPMI SEL and similar,
 * `hw.log.v1` events from the IPMI plugin) kept in memory while the service runs, newest 1000.
 * The source plugin owns the durable copy (the BMC's SEL); this is the Redfish view of it.
 */
import type { VpmdEventMap } from 'vpmd';
import type { Route } from '../http/router.js';
import { logEntriesRoutes } from './log-entries.js';
import { oemType } from './oem-schema.js';
import { logService, odataType } from './types.js';

type HwEntry = VpmdEventMap['hw.log.v1'] & { n: number };

const LOG = '/redfish/v1/Managers/vpmd/LogServices/HardwareLog';
const SEVERITY = { info: 'OK', warning: 'Warning', critical: 'Critical' } as const;

/** How many entries the hardware log keeps by default (the newest). */
export const HARDWARE_LOG_KEPT = 1000;

/** The in-memory hardware log. */
export class HardwareLog {
  private readonly entries: HwEntry[] = [];
  private next = 1;

  constructor(private readonly keep = HARDWARE_LOG_KEPT) {}

  /** Appends an entry (the oldest go beyond `keep`). */
  add(e: VpmdEventMap['hw.log.v1']): void {
    // Not `{ ...e, n }`: V8 (Node 20) gives each object built that way a hidden class of its own.
    this.entries.push(Object.assign({}, e, { n: this.next++ }));
    if (this.entries.length > this.keep) this.entries.splice(0, this.entries.length - this.keep);
  }

  /** Entries, oldest first. */
  list(): readonly HwEntry[] {
    return this.entries;
  }
}

/** Routes of the hardware log service. */
export function hardwareLogRoutes(log: HardwareLog): Route[] {
  return [
    {
      pattern: LOG,
      entity: 'LogService',
      get: () =>
        logService(
          LOG,
          'HardwareLog',
          'Hardware event log',
          'Hardware log entries (IPMI SEL of the polled BMCs) received since the service started',
        ),
    },
    ...logEntriesRoutes({
      service: LOG,
      name: 'Hardware log entries',
      list: () => log.list(),
      body: (e, uri) => ({
        '@odata.id': uri,
        '@odata.type': odataType('LogEntry'),
        Id: String(e.n),
        Name: `Hardware log entry ${e.n}`,
        EntryType: 'Oem',
        OemRecordFormat: 'vpmd hw.log',
        // The source's own record id (EntryType Oem: OEM information): DMTF's Tacklebox rf_logs
        // reads MessageId from every entry and crashes without it.
        MessageId: e.id,
        Severity: SEVERITY[e.severity],
        Created: new Date(e.timestamp).toISOString(),
        Message: `${e.source}: ${e.message}`,
        Oem: { Vpmd: { '@odata.type': oemType('VpmdLogEntry'), Source: e.source, SourceId: e.id } },
      }),
    }),
  ];
}
