/**
 * The documents a client reads first: `/redfish`, the service root, the OData service document,
 * `$metadata` (referencing the DMTF CSDL of every type served) and the JsonSchemas collection.
 */
import { randomUUID } from 'node:crypto';
import type { Route } from '../http/router.js';
import { fail } from '../http/redfish-error.js';
import { QUERY_FEATURES } from '../http/query.js';
import { COLLECTIONS, TYPE_VERSIONS, collection, link, odataType } from './types.js';
import { OEM_CSDL_URI, OEM_VERSION, oemCsdl, oemJsonSchema, oemNamespaces, oemType } from './oem-schema.js';

/** Every schema a payload of this service names: the versioned types, the collections, vpmd's OEM namespaces. */
function schemaNames(): string[] {
  return [...Object.keys(TYPE_VERSIONS), ...COLLECTIONS, ...oemNamespaces()];
}

const V1 = '/redfish/v1';
const CHILDREN: Record<string, string> = {
  Systems: `${V1}/Systems`,
  Chassis: `${V1}/Chassis`,
  Managers: `${V1}/Managers`,
  AccountService: `${V1}/AccountService`,
  SessionService: `${V1}/SessionService`,
  EventService: `${V1}/EventService`,
  JsonSchemas: `${V1}/JsonSchemas`,
  Registries: `${V1}/Registries`,
  CertificateService: `${V1}/CertificateService`,
};

/** Namespaces of `$metadata`: every served type and collection, and what they build on. */
function namespaces(): Array<{ file: string; includes: string[] }> {
  const out = Object.entries(TYPE_VERSIONS).map(([t, v]) => ({ file: `${t}_v1.xml`, includes: [t, `${t}.${v}`] }));
  out.push(...COLLECTIONS.map((c) => ({ file: `${c}_v1.xml`, includes: [c] })));
  out.push({ file: 'Resource_v1.xml', includes: ['Resource', 'Resource.v1_0_0'] });
  out.push({ file: 'RedfishExtensions_v1.xml', includes: ['RedfishExtensions.v1_0_0'] });
  return out;
}

/** The `$metadata` document. */
export function metadataXml(): string {
  const dmtf = namespaces().map((n) => ({ ...n, uri: `http://redfish.dmtf.org/schemas/v1/${n.file}` }));
  const oem = { uri: OEM_CSDL_URI, includes: oemNamespaces().flatMap((ns) => [ns, `${ns}.${OEM_VERSION}`]) };
  const refs = [...dmtf, oem].map(
    (n) =>
      `  <edmx:Reference Uri="${n.uri}">\n${n.includes
        .map((i) => `    <edmx:Include Namespace="${i}"${i === 'RedfishExtensions.v1_0_0' ? ' Alias="Redfish"' : ''}/>`)
        .join('\n')}\n  </edmx:Reference>`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">',
    ...refs,
    '  <edmx:DataServices>',
    '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">',
    `      <EntityContainer Name="Service" Extends="ServiceRoot.${TYPE_VERSIONS.ServiceRoot}.ServiceContainer"/>`,
    '    </Schema>',
    '  </edmx:DataServices>',
    '</edmx:Edmx>',
    '',
  ].join('\n');
}

/** Routes of the service root and the OData documents. */
export function serviceRootRoutes(uuid: string = randomUUID()): Route[] {
  const open = ['GET', 'HEAD'];
  return [
    { pattern: '/redfish', entity: 'ServiceRoot', noAuth: open, get: () => ({ v1: '/redfish/v1/' }) },
    {
      pattern: V1,
      entity: 'ServiceRoot',
      noAuth: open,
      get: () => ({
        '@odata.id': `${V1}/`,
        '@odata.type': odataType('ServiceRoot'),
        Id: 'RootService',
        Name: 'vpmd Redfish service',
        RedfishVersion: '1.21.0',
        UUID: uuid,
        Vendor: 'vpmd',
        Product: 'vpmd host power management agent',
        ProtocolFeaturesSupported: QUERY_FEATURES,
        Systems: link(CHILDREN.Systems as string),
        Chassis: link(CHILDREN.Chassis as string),
        Managers: link(CHILDREN.Managers as string),
        AccountService: link(CHILDREN.AccountService as string),
        SessionService: link(CHILDREN.SessionService as string),
        EventService: link(CHILDREN.EventService as string),
        JsonSchemas: link(CHILDREN.JsonSchemas as string),
        Registries: link(CHILDREN.Registries as string),
        CertificateService: link(CHILDREN.CertificateService as string),
        Links: { Sessions: link(`${V1}/SessionService/Sessions`) },
      }),
    },
    {
      pattern: `${V1}/odata`,
      entity: 'ServiceRoot',
      noAuth: open,
      get: () => ({
        '@odata.context': `${V1}/$metadata`,
        value: [
          { name: 'Service', kind: 'Singleton', url: `${V1}/` },
          ...Object.entries(CHILDREN).map(([name, url]) => ({ name, kind: 'Singleton', url })),
        ],
      }),
    },
    {
      pattern: `${V1}/$metadata`,
      entity: 'ServiceRoot',
      noAuth: open,
      text: () => ({ contentType: 'application/xml', body: metadataXml() }),
    },
    {
      pattern: OEM_CSDL_URI,
      entity: 'ServiceRoot',
      noAuth: open,
      text: () => ({ contentType: 'application/xml', body: oemCsdl() }),
    },
    {
      pattern: `${V1}/JsonSchemas`,
      entity: 'JsonSchemaFileCollection',
      get: () =>
        collection(
          'JsonSchemaFileCollection',
          `${V1}/JsonSchemas`,
          'JSON schemas',
          schemaNames().map((t) => `${V1}/JsonSchemas/${t}`),
        ),
    },
    {
      pattern: `${V1}/JsonSchemas/{id}`,
      entity: 'JsonSchemaFile',
      get: (req) => {
        const t = req.params.id ?? '';
        if (!schemaNames().includes(t)) throw notFound('JsonSchemaFile', t);
        if (oemNamespaces().includes(t)) return oemSchemaFile(t);
        const v = (TYPE_VERSIONS as Record<string, string>)[t];
        const file = v ? `${t}.${v}.json` : `${t}.json`;
        return {
          '@odata.id': `${V1}/JsonSchemas/${t}`,
          '@odata.type': odataType('JsonSchemaFile'),
          Id: t,
          Name: `${t} schema`,
          Description: `JSON schema of ${t}${v ? ` ${v}` : ''} (published by DMTF)`,
          Languages: ['en'],
          Schema: v ? `#${t}.${v}.${t}` : `#${t}.${t}`,
          Location: [{ Language: 'en', PublicationUri: `http://redfish.dmtf.org/schemas/v1/${file}` }],
        };
      },
    },
    {
      pattern: `${V1}/JsonSchemas/{id}/{file}`,
      entity: 'JsonSchemaFile',
      text: (req) => {
        const ns = req.params.id ?? '';
        const schema = req.params.file === `${ns}.${OEM_VERSION}.json` ? oemJsonSchema(ns) : undefined;
        if (!schema) throw fail(404, 'ResourceMissingAtURI', [req.path]);
        return { contentType: 'application/json', body: JSON.stringify(schema) };
      },
    },
  ];
}

/** The JsonSchemaFile of a vpmd OEM namespace: its JSON schema is served here, not by DMTF. */
function oemSchemaFile(ns: string): Record<string, unknown> {
  return {
    '@odata.id': `${V1}/JsonSchemas/${ns}`,
    '@odata.type': odataType('JsonSchemaFile'),
    Id: ns,
    Name: `${ns} schema`,
    Description: `JSON schema of the vpmd OEM extension ${ns} ${OEM_VERSION} (CSDL: ${OEM_CSDL_URI})`,
    Languages: ['en'],
    Schema: oemType(ns),
    Location: [{ Language: 'en', Uri: `${V1}/JsonSchemas/${ns}/${ns}.${OEM_VERSION}.json` }],
  };
}

/** A 404 for a known type with an unknown id. */
export function notFound(type: string, id: string): Error {
  return fail(404, 'ResourceNotFound', [type, id]);
}
