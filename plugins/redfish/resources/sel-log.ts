/**
 * `Systems/{id}/LogServices/SEL`: the System Event Log of this host's own BMC (the `bmcs@1`
 * target marked `hostBmc`), read from the BMC at request time (its driver keeps the last read
 * while the SEL's add and erase timestamps stay the same). Each record is a LogEntry of
 * EntryType SEL with the fields DMTF maps from IPMI (SensorType, SensorNumber, EntryCode,
 * GeneratorId, MessageId = event type and data). ClearLog erases the BMC's SEL (IPMI Clear SEL).
 * Without a host BMC the service and its collection do not exist.
 */
import { VpmdError, type BmcLogEntry, type BmcSelRecord } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import { RedfishError, baseMessage } from '../http/redfish-error.js';
import type { Reply, Route } from '../http/router.js';
import { hostBmc } from './host-bmc.js';
import { logEntriesRoutes } from './log-entries.js';
import { notFound } from './service-root.js';
import { collection, link, odataType, status } from './types.js';

const SEVERITY = { info: 'OK', warning: 'Warning', critical: 'Critical' } as const;

/** DMTF's SensorType names by IPMI sensor type code (IPMI v2.0 table 42-3). */
const SENSOR_TYPES: readonly (string | undefined)[] = [
  undefined,
  'Temperature',
  'Voltage',
  'Current',
  'Fan',
  'Physical Chassis Security',
  'Platform Security Violation Attempt',
  'Processor',
  'Power Supply / Converter',
  'PowerUnit',
  'CoolingDevice',
  'Other Units-based Sensor',
  'Memory',
  'Drive Slot/Bay',
  'POST Memory Resize',
  'System Firmware Progress',
  'Event Logging Disabled',
  undefined, // 11h: Watchdog 1, has no DMTF name
  'System Event',
  'Critical Interrupt',
  'Button/Switch',
  'Module/Board',
  'Microcontroller/Coprocessor',
  'Add-in Card',
  'Chassis',
  'ChipSet',
  'Other FRU',
  'Cable/Interconnect',
  'Terminator',
  'SystemBoot/Restart',
  'Boot Error',
  'BaseOSBoot/InstallationStatus',
  'OS Stop/Shutdown',
  'Slot/Connector',
  'System ACPI PowerState',
  'Watchdog',
  'Platform Alert',
  'Entity Presence',
  'Monitor ASIC/IC',
  'LAN',
  'Management Subsystem Health',
  'Battery',
  'Session Audit',
  'Version Change',
  'FRUState',
];

/** Threshold event offsets 0-11 (event/reading type 01h), as DMTF's LogEntryCode spells them. */
const THRESHOLD_CODES = [
  'Lower Non-critical - going low',
  'Lower Non-critical - going high',
  'Lower Critical - going low',
  'Lower Critical - going high',
  'Lower Non-recoverable - going low',
  'Lower Non-recoverable - going high',
  'Upper Non-critical - going low',
  'Upper Non-critical - going high',
  'Upper Critical - going low',
  'Upper Critical - going high',
  'Upper Non-recoverable - going low',
  'Upper Non-recoverable - going high',
];

const hex2 = (n: number): string => n.toString(16).padStart(2, '0').toUpperCase();

/** The SEL-specific properties of a LogEntry. */
function selProperties(r: BmcSelRecord): Record<string, unknown> {
  const sensorType = r.sensorTypeCode >= 0xc0 ? 'OEM' : SENSOR_TYPES[r.sensorTypeCode];
  const code =
    r.eventType === 0x01 ? THRESHOLD_CODES[r.eventData[0] & 0x0f] : r.direction === 'Asserted' ? 'Assert' : 'Deassert';
  const dirType = (r.direction === 'Deasserted' ? 0x80 : 0) | r.eventType;
  return {
    ...(sensorType !== undefined ? { SensorType: sensorType } : {}),
    SensorNumber: r.sensorNumber,
    ...(code !== undefined ? { EntryCode: code } : {}),
    GeneratorId: `0x${r.generatorId.toString(16).padStart(4, '0').toUpperCase()}`,
    // DMTF: '0xNNaabbcc', the EventDir/EventType byte then event data 1-3.
    MessageId: `0x${[dirType, ...r.eventData].map(hex2).join('')}`,
  };
}

type Numbered = BmcLogEntry & { readonly n: number };

/** Routes of `Systems/{id}/LogServices` and the SEL service. */
export function selLogRoutes(deps: ServiceDeps): Route[] {
  const id = deps.ctx.config.systemId;
  const services = `/redfish/v1/Systems/${id}/LogServices`;
  const sel = `${services}/SEL`;
  /** The host BMC's name, or 404 for these URIs when there is none. */
  const bmc = (): string => {
    const h = hostBmc(deps);
    if (!('name' in h)) throw notFound('LogService', 'SEL');
    return h.name;
  };
  const entries = async (): Promise<Numbered[]> => {
    const h = hostBmc(deps);
    if (!('name' in h)) throw notFound('LogService', 'SEL');
    return (await h.bmcs.logEntries(h.name)).map((e) => ({ ...e, n: Number(e.id) }));
  };
  return [
    {
      pattern: services,
      entity: 'LogServiceCollection',
      get: () => (bmc(), collection('LogServiceCollection', services, 'Log services of the host', [sel])),
    },
    {
      pattern: sel,
      entity: 'LogService',
      get: () => {
        const name = bmc();
        return {
          '@odata.id': sel,
          '@odata.type': odataType('LogService'),
          Id: 'SEL',
          Name: 'System Event Log',
          Description: `The IPMI System Event Log of this host's BMC ${name}, read from the BMC`,
          ServiceEnabled: true,
          LogEntryType: 'SEL',
          // IPMI SELs stop adding when full (Get SEL Info's overflow flag) unless the BMC wraps.
          OverWritePolicy: 'Unknown',
          Entries: link(`${sel}/Entries`),
          Actions: { '#LogService.ClearLog': { target: `${sel}/Actions/LogService.ClearLog` } },
          Status: status('OK'),
        };
      },
    },
    {
      pattern: `${sel}/Actions/LogService.ClearLog`,
      entity: 'LogService',
      post: async (req): Promise<Reply> => {
        const h = hostBmc(deps);
        if (!('name' in h)) throw notFound('LogService', 'SEL');
        const unknown = Object.keys(req.body).filter((k) => !k.includes('@odata.'));
        if (unknown.length)
          throw new RedfishError(
            400,
            unknown.map((k) => baseMessage('ActionParameterUnknown', ['LogService.ClearLog', k])),
          );
        if (!req.principal) throw new VpmdError('E_INTERNAL', 'LogService.ClearLog without a principal');
        // The driver checks ConfigureComponents too and audits `ipmi sel NAME --clear`.
        await h.bmcs.clearLog(h.name, req.principal);
        return { status: 204, headers: {} };
      },
    },
    ...logEntriesRoutes<Numbered>({
      service: sel,
      name: 'SEL entries',
      list: entries,
      body: (e, uri) => ({
        '@odata.id': uri,
        '@odata.type': odataType('LogEntry'),
        Id: String(e.n),
        Name: `SEL entry ${e.n}`,
        EntryType: 'SEL',
        Severity: SEVERITY[e.severity],
        ...(e.created !== undefined ? { Created: new Date(e.created).toISOString() } : {}),
        Message: e.message,
        ...(e.sel ? selProperties(e.sel) : {}),
      }),
    }),
  ];
}
