/**
 * `Systems/{id}/Oem/Vpmd/CapabilitiesDocuments`: the host's capabilities documents (the libvirt
 * capabilities XML and vpmd's power document) as a JSON resource of the OEM type
 * `VpmdCapabilitiesDocuments` whose `...Uri` properties are file downloads. The documents are
 * not Redfish payloads, so they are not resources themselves: a client (or the DMTF validator)
 * walking `@odata.id` links only ever meets JSON. Without a capabilities-documents provider the
 * resource says why, and the downloads answer 503 with the reason.
 */
import { CAPABILITIES_DOCUMENTS, VpmdError } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import type { Route, RouteRequest } from '../http/router.js';
import { oemType } from './oem-schema.js';
import { notFound } from './service-root.js';

const NO_PROVIDER = 'no capabilities-documents provider is running (enable the libvirt-caps plugin)';

/** The URI of the resource for system `id`. */
export function capabilitiesDocumentsUri(id: string): string {
  return `/redfish/v1/Systems/${id}/Oem/Vpmd/CapabilitiesDocuments`;
}

/** Routes of the resource and its two downloads. */
export function capabilitiesDocumentsRoutes(deps: ServiceDeps): Route[] {
  const { ctx } = deps;
  const id = ctx.config.systemId;
  const base = capabilitiesDocumentsUri(id);
  const provider = (req: RouteRequest) => {
    if (req.params.sys !== id) throw notFound('ComputerSystem', req.params.sys ?? '');
    const docs = ctx.capabilities.find(CAPABILITIES_DOCUMENTS);
    if (!docs) throw new VpmdError('E_CAPABILITY_MISSING', NO_PROVIDER);
    return docs;
  };
  return [
    {
      pattern: '/redfish/v1/Systems/{sys}/Oem/Vpmd/CapabilitiesDocuments',
      entity: 'ComputerSystem',
      get: (req) => {
        if (req.params.sys !== id) throw notFound('ComputerSystem', req.params.sys ?? '');
        const available = ctx.capabilities.find(CAPABILITIES_DOCUMENTS) !== undefined;
        return {
          '@odata.id': base,
          '@odata.type': oemType('VpmdCapabilitiesDocuments'),
          Id: 'CapabilitiesDocuments',
          Name: 'Host capabilities documents',
          Description: 'The libvirt capabilities XML and the vpmd power document of this host, as file downloads',
          Available: available,
          ...(available
            ? {
                LibvirtCapabilitiesUri: `${base}/libvirt-capabilities.xml`,
                PowerDocumentUri: `${base}/power-capabilities.json`,
              }
            : { Reason: NO_PROVIDER }),
        };
      },
    },
    {
      pattern: '/redfish/v1/Systems/{sys}/Oem/Vpmd/CapabilitiesDocuments/libvirt-capabilities.xml',
      entity: 'ComputerSystem',
      text: async (req) => ({ contentType: 'application/xml', body: await provider(req).libvirtXml() }),
    },
    {
      pattern: '/redfish/v1/Systems/{sys}/Oem/Vpmd/CapabilitiesDocuments/power-capabilities.json',
      entity: 'ComputerSystem',
      text: async (req) => ({
        contentType: 'application/json',
        body: JSON.stringify(await provider(req).powerDocument()),
      }),
    },
  ];
}
