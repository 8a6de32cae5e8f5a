/**
 * `Managers/vpmd`: vpmd itself as the manager of the host, its NetworkProtocol (what this
 * service listens on) and its LogServices with the audit trail. The audit entries are the
 * core's own ring, read through `audit-log@1` at request time (one ring, ids kept across
 * restarts); this plugin keeps no copy and reads no file.
 */
import { hostname } from 'node:os';
import { AUDIT_LOG, CORE_API_VERSION, type AuditRecord } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import type { Route } from '../http/router.js';
import { notFound } from './service-root.js';
import { collection, link, logService, odataType, status } from './types.js';
import { logEntriesRoutes } from './log-entries.js';
import { chassisTargets } from './chassis.js';

const M = '/redfish/v1/Managers/vpmd';
const LOG = `${M}/LogServices/AuditLog`;
/** The audit entry's MessageId (EntryType Oem: vpmd's own identifiers) by outcome. */
const AUDIT_MESSAGE_IDS = { ok: 'Vpmd.Audit.Ok', denied: 'Vpmd.Audit.Denied', failed: 'Vpmd.Audit.Failed' } as const;

/** Routes of the manager, its network protocol and its audit log. */
export function managerRoutes(deps: ServiceDeps): Route[] {
  const { ctx } = deps;
  const audit = () => ctx.capabilities.get(AUDIT_LOG);
  const entryBody = (e: AuditRecord & { n: number }, uri: string): Record<string, unknown> => ({
    '@odata.id': uri,
    '@odata.type': odataType('LogEntry'),
    Id: String(e.id),
    Name: `Audit entry ${e.id}`,
    EntryType: 'Oem',
    OemRecordFormat: 'vpmd audit',
    // For EntryType Oem the schema lets MessageId carry OEM information; DMTF's Tacklebox
    // (rf_logs, print_log_entries) reads it from every entry and crashes without it.
    MessageId: AUDIT_MESSAGE_IDS[e.outcome],
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
          // The reverse of each chassis' ManagedBy (every chassis served, the host's first), of
          // the system's ManagedBy, and of the host chassis' ManagersInChassis.
          Links: {
            ManagerForServers: [link(`/redfish/v1/Systems/${ctx.config.systemId}`)],
            ManagerForChassis: [...chassisTargets(ctx).keys()].map((id) => link(`/redfish/v1/Chassis/${id}`)),
            ManagerInChassis: link(`/redfish/v1/Chassis/${ctx.config.systemId}`),
          },
        };
      },
    },
    {
      pattern: '/redfish/v1/Managers/vpmd/NetworkProtocol',
      entity: 'ManagerNetworkProtocol',
      get: (req) => ({
        '@odata.id': `${M}/NetworkProtocol`,
        '@odata.type': odataType('ManagerNetworkProtocol'),
        Id: 'NetworkProtocol',
        Name: 'Network protocols of the Redfish service',
        Description:
          'What this Redfish service listens on; the SNMP agent and other plugins report their own listeners in vpmctl status',
        // The FQDN only when the system's host name is one: it is not guessed from DNS. Null
        // (the schema's "unknown") otherwise, as OCP's Baseline profile wants the property.
        HostName: hostname().split('.')[0],
        FQDN: hostname().includes('.') ? hostname() : null,
        HTTPS: {
          ProtocolEnabled: true,
          Port: deps.port(),
          // The certificate is for ConfigureManager only (DMTF's registry): no link others cannot follow.
          ...(req.principal && ctx.access.can(req.principal, 'ConfigureManager')
            ? { Certificates: link(`${M}/NetworkProtocol/HTTPS/Certificates`) }
            : {}),
        },
        // No plain-HTTP listener: no port (null, as the schema allows), not an invented one.
        HTTP: { ProtocolEnabled: false, Port: null },
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
    ...logEntriesRoutes({
      service: LOG,
      name: 'Audit entries',
      list: () =>
        audit()
          .page()
          .entries.map((e) => ({ ...e, n: e.id })),
      body: entryBody,
    }),
  ];
}
