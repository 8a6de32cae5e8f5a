/**
 * `Managers/vpmd`: vpmd itself as the manager of the host, its NetworkProtocol (what this
 * service listens on) and its LogServices with the audit trail. The audit history is read
 * once from the core's `audit.jsonl` (JSON lines, documented in core/services/audit-log.ts)
 * and kept current from `audit.v1` events, so no core API is needed to serve it.
 */
import { readFile } from 'node:fs/promises';
import { type VpmdEventMap, CORE_API_VERSION } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import type { Route } from '../http/router.js';
import { notFound } from './service-root.js';
import { collection, link, logService, odataType, status } from './types.js';
import { logEntriesRoutes } from './log-entries.js';

type AuditEntry = VpmdEventMap['audit.v1'];

/** The audit entries the AuditLog service serves (newest `keep`), numbered from 1. */
export class AuditTrail {
  private readonly entries: Array<AuditEntry & { n: number }> = [];
  private next = 1;

  constructor(
    private readonly file: string,
    private readonly keep = 1000,
  ) {}

  /** Reads the history written before this start (a torn or missing file is skipped). */
  async load(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(-this.keep - 1)) {
      if (!line.trim()) continue;
      try {
        this.add(JSON.parse(line) as AuditEntry);
      } catch {
        // a torn last line after a crash: the core skips it too
      }
    }
  }

  /** Appends an entry (the oldest go beyond `keep`). */
  add(e: AuditEntry): void {
    this.entries.push({ ...e, n: this.next++ });
    if (this.entries.length > this.keep) this.entries.splice(0, this.entries.length - this.keep);
  }

  /** Entries, oldest first. */
  list(): ReadonlyArray<AuditEntry & { n: number }> {
    return this.entries;
  }
}

const M = '/redfish/v1/Managers/vpmd';
const LOG = `${M}/LogServices/AuditLog`;

/** Routes of the manager, its network protocol and its audit log. */
export function managerRoutes(deps: ServiceDeps, audit: AuditTrail): Route[] {
  const { ctx } = deps;
  const entryBody = (e: AuditEntry & { n: number }, uri: string): Record<string, unknown> => ({
    '@odata.id': uri,
    '@odata.type': odataType('LogEntry'),
    Id: String(e.n),
    Name: `Audit entry ${e.n}`,
    EntryType: 'Oem',
    OemRecordFormat: 'vpmd audit',
    Severity: e.outcome === 'ok' ? 'OK' : 'Warning',
    Created: new Date(e.timestamp).toISOString(),
    Message: `${e.principal} (${e.origin}${e.address ? ` from ${e.address}` : ''}): ${e.action}: ${e.outcome}${e.detail ? ` (${e.detail})` : ''}`,
  });
  return [
    {
      pattern: '/redfish/v1/Managers',
      entity: 'ManagerCollection',
      get: () => collection('ManagerCollection', '/redfish/v1/Managers', 'Managers', [M]),
    },
    {
      pattern: '/redfish/v1/Managers/{mgr}',
      entity: 'Manager',
      get: (req) => {
        if (req.params.mgr !== 'vpmd') throw notFound('Manager', req.params.mgr ?? '');
        return {
          '@odata.id': M,
          '@odata.type': odataType('Manager'),
          Id: 'vpmd',
          Name: 'vpmd power management agent',
          ManagerType: 'Service',
          FirmwareVersion: `vpmd core API ${CORE_API_VERSION}`,
          Status: status('OK'),
          NetworkProtocol: link(`${M}/NetworkProtocol`),
          LogServices: link(`${M}/LogServices`),
          Links: {
            ManagerForServers: [link(`/redfish/v1/Systems/${ctx.config.systemId}`)],
            ManagerForChassis: [link(`/redfish/v1/Chassis/${ctx.config.systemId}`)],
          },
        };
      },
    },
    {
      pattern: '/redfish/v1/Managers/vpmd/NetworkProtocol',
      entity: 'ManagerNetworkProtocol',
      get: () => ({
        '@odata.id': `${M}/NetworkProtocol`,
        '@odata.type': odataType('ManagerNetworkProtocol'),
        Id: 'NetworkProtocol',
        Name: 'Network protocols of the Redfish service',
        Description:
          'What this Redfish service listens on; the SNMP agent and other plugins report their own listeners in vpmctl status',
        HTTPS: { ProtocolEnabled: true, Port: deps.port() },
        HTTP: { ProtocolEnabled: false },
        Status: status('OK'),
      }),
    },
    {
      pattern: '/redfish/v1/Managers/vpmd/LogServices',
      entity: 'LogServiceCollection',
      get: () =>
        collection('LogServiceCollection', `${M}/LogServices`, 'Log services', [LOG, `${M}/LogServices/HardwareLog`]),
    },
    {
      pattern: '/redfish/v1/Managers/vpmd/LogServices/{log}',
      entity: 'LogService',
      get: (req) => {
        if (req.params.log !== 'AuditLog') throw notFound('LogService', req.params.log ?? '');
        return logService(
          LOG,
          'AuditLog',
          'vpmd audit log',
          'Privileged actions and refusals on every surface (vpmctl, Redfish, SNMP, guest channels)',
        );
      },
    },
    ...logEntriesRoutes({ service: LOG, name: 'Audit entries', list: () => audit.list(), body: entryBody }),
  ];
}
