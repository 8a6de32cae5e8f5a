/**
 * The message `Registries` collection: one MessageRegistryFile per registry whose MessageIds this
 * service sends (Base in errors, ResourceEvent in events), each located both here (the messages
 * as this service has them: texts, severities, argument counts, resolutions) and at its DMTF
 * publication URI (the authoritative file).
 */
import { MESSAGE_REGISTRIES } from '../generated/message-registries.js';
import type { MessageSpec } from '../http/message-types.js';
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
      {
        Language: 'en',
        Uri: `${REG}/${prefix}/${key}.json`,
        PublicationUri: `https://redfish.dmtf.org/registries/${key}.json`,
      },
    ],
  };
}

/** The registry document served at a Location's Uri. */
function registryDocument(key: RegistryKey): string {
  const { prefix, version } = split(key);
  const messages: Record<string, unknown> = {};
  for (const [id, m] of Object.entries(MESSAGE_REGISTRIES[key] as Record<string, MessageSpec>))
    messages[id] = { Message: m.message, NumberOfArgs: m.args, MessageSeverity: m.severity, Resolution: m.resolution };
  return JSON.stringify({
    '@odata.type': '#MessageRegistry.v1_6_3.MessageRegistry',
    Id: key,
    Name: `${prefix} Message Registry`,
    Language: 'en',
    RegistryPrefix: prefix,
    RegistryVersion: version,
    OwningEntity: 'DMTF',
    Messages: messages,
  });
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
    {
      pattern: `${REG}/{id}/{file}`,
      entity: 'MessageRegistryFile',
      text: (req) => {
        const key = byPrefix.get(req.params.id ?? '');
        if (!key || req.params.file !== `${key}.json`) throw notFound('MessageRegistryFile', req.params.file ?? '');
        return { contentType: 'application/json; charset=utf-8', body: registryDocument(key) };
      },
    },
  ];
}
