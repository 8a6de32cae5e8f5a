/**
 * The message `Registries` collection: one MessageRegistryFile per registry whose MessageIds this
 * service sends (Base in errors, ResourceEvent in events), each located at its DMTF publication
 * URI (the authoritative file, with the exact version the service uses).
 */
import { MESSAGE_REGISTRIES } from '../generated/message-registries.js';
import type { Route } from '../http/router.js';
import { notFound } from './service-root.js';
import { collection, odataType } from './types.js';

const REG = '/redfish/v1/Registries';

type RegistryKey = keyof typeof MESSAGE_REGISTRIES;

/** `Base.1.22.1` → `{ prefix: 'Base', version: '1.22.1' }` */
function split(key: RegistryKey): { prefix: string; version: string } {
  const i = key.indexOf('.');
  return { prefix: key.slice(0, i), version: key.slice(i + 1) };
}

const byPrefix = new Map((Object.keys(MESSAGE_REGISTRIES) as RegistryKey[]).map((k) => [split(k).prefix, k] as const));

function fileBody(prefix: string): Record<string, unknown> {
  const key = byPrefix.get(prefix);
  if (!key) throw notFound('MessageRegistryFile', prefix);
  const { version } = split(key);
  const minor = version.split('.').slice(0, 2).join('.');
  return {
    '@odata.id': `${REG}/${prefix}`,
    '@odata.type': odataType('MessageRegistryFile'),
    Id: prefix,
    Name: `${prefix} message registry file`,
    Description: `The ${prefix} message registry, version ${version}`,
    Languages: ['en'],
    Registry: `${prefix}.${minor}`,
    Location: [
      // Only the publication: a Uri here is fetched and validated as a MessageRegistry, and the
      // service keeps only the messages' texts, not DMTF's whole document.
      { Language: 'en', PublicationUri: `https://redfish.dmtf.org/registries/${key}.json` },
    ],
  };
}

/** Routes of the Registries collection. */
export function registryRoutes(): Route[] {
  return [
    {
      pattern: REG,
      entity: 'MessageRegistryFileCollection',
      shared: true,
      get: () =>
        collection(
          'MessageRegistryFileCollection',
          REG,
          'Message registries',
          [...byPrefix.keys()].map((p) => `${REG}/${p}`),
        ),
    },
    {
      pattern: `${REG}/{id}`,
      entity: 'MessageRegistryFile',
      shared: true,
      get: (req) => fileBody(req.params.id ?? ''),
    },
  ];
}
