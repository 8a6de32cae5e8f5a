/**
 * vpmd's OEM extensions (`Oem.Vpmd`) and its one OEM resource, described once here and served
 * from that description as DMTF requires of OEM extensions: every `Oem/Vpmd` object carries an
 * `@odata.type` of these namespaces, `$metadata` references the CSDL document
 * ({@link OEM_CSDL_URI}), and `/redfish/v1/JsonSchemas/{Namespace}` serves the JSON schema of
 * each namespace. The DMTF Service Validator downloads the CSDL from `$metadata` and checks every
 * OEM object against it.
 */

/** A property of an OEM type. */
interface OemProperty {
  readonly name: string;
  readonly kind: 'string' | 'boolean' | 'number' | 'link' | 'url' | 'objects';
  readonly description: string;
  /** May be null (or absent) in a payload. */
  readonly nullable?: boolean;
  /** For `link`: the resource type it points at (`Namespace.Type`). */
  readonly target?: string;
  /** For `objects` (an array of complex values): the complex type's name, description and properties. */
  readonly items?: { readonly name: string; readonly description: string; readonly properties: readonly OemProperty[] };
}

/** An OEM type: an `Oem.Vpmd` object inside a DMTF resource, or a resource of its own. */
interface OemType {
  readonly namespace: string;
  readonly name: string;
  readonly kind: 'oem-object' | 'resource';
  readonly description: string;
  readonly properties: readonly OemProperty[];
  /** For resources: the URI templates it is served at (`Redfish.Uris`). */
  readonly uris?: readonly string[];
}

/** The version of every vpmd OEM namespace. */
export const OEM_VERSION = 'v1_0_0';

/** Where `$metadata` says the CSDL of the OEM namespaces is. */
export const OEM_CSDL_URI = '/redfish/v1/Schemas/Vpmd_v1.xml';

const TYPES: readonly OemType[] = [
  {
    namespace: 'VpmdComputerSystem',
    name: 'ComputerSystem',
    kind: 'oem-object',
    description: 'vpmd additions to the host ComputerSystem.',
    properties: [
      {
        name: 'CapabilitiesDocuments',
        kind: 'link',
        target: 'VpmdCapabilitiesDocuments.CapabilitiesDocuments',
        description: 'The libvirt capabilities XML and the vpmd power document of this host.',
      },
      {
        name: 'GuestChannels',
        kind: 'string',
        description: 'Whether a PATCH of OperatingSpeedRangeMHz also bounds guest frequency requests.',
      },
      {
        name: 'PowerProfiles',
        kind: 'link',
        target: 'VpmdPowerProfiles.PowerProfiles',
        description: 'The power profiles of this host and the CPU pools they run on.',
      },
      {
        name: 'VmEnergy',
        kind: 'link',
        target: 'VpmdVmEnergy.VmEnergy',
        description: 'The energy accounted to each virtual machine on this host.',
      },
    ],
  },
  {
    namespace: 'VpmdVmEnergy',
    name: 'VmEnergy',
    kind: 'resource',
    description:
      'The energy accounted to each virtual machine on this host: a share of the RAPL energy by the CPU time of its threads and, when a wall-power source measures the host, the share scaled to wall power.',
    uris: ['/redfish/v1/Systems/{ComputerSystemId}/Oem/Vpmd/VmEnergy'],
    properties: [
      {
        name: 'Available',
        kind: 'boolean',
        description: 'Whether an energy accounting provider (the energy plugin) is running.',
      },
      {
        name: 'Reason',
        kind: 'string',
        nullable: true,
        description: 'Why no figures are available, when they are not.',
      },
      {
        name: 'VirtualMachines',
        kind: 'objects',
        description: 'One entry per virtual machine with an energy counter, running or stopped, in UUID order.',
        items: {
          name: 'VirtualMachine',
          description: 'The accounted energy of one virtual machine.',
          properties: [
            { name: 'DomainUuid', kind: 'string', description: 'The libvirt domain UUID, the VM identity.' },
            { name: 'Name', kind: 'string', description: 'The libvirt domain name when last seen.' },
            { name: 'Running', kind: 'boolean', description: 'Whether the domain runs now.' },
            {
              name: 'EnergyJoules',
              kind: 'number',
              description: 'The RAPL-based energy accounted to the VM, in joules.',
            },
            {
              name: 'PowerWatts',
              kind: 'number',
              nullable: true,
              description: 'The RAPL-based average power over the last accounting interval, in watts.',
            },
            { name: 'Model', kind: 'string', description: 'The model that produced the RAPL-based figures.' },
            {
              name: 'WallEnergyJoules',
              kind: 'number',
              nullable: true,
              description: 'The energy scaled to the host wall power, in joules, when a wall source exists.',
            },
            {
              name: 'WallPowerWatts',
              kind: 'number',
              nullable: true,
              description: 'The wall-scaled average power over the last interval, in watts.',
            },
            { name: 'WallModel', kind: 'string', nullable: true, description: 'The model of the wall-scaled figures.' },
            {
              name: 'WallSource',
              kind: 'string',
              nullable: true,
              description: 'The wall-power source, such as a BMC DCMI reading or a PDU outlet.',
            },
            {
              name: 'NovaInstanceId',
              kind: 'string',
              nullable: true,
              description: 'The Nova instance id, when known.',
            },
            { name: 'NovaProjectId', kind: 'string', nullable: true, description: 'The Nova project id, when known.' },
          ],
        },
      },
    ],
  },
  {
    namespace: 'VpmdSensor',
    name: 'Sensor',
    kind: 'oem-object',
    description: 'Where vpmd reads this sensor.',
    properties: [
      { name: 'MetricId', kind: 'string', description: 'The vpmd telemetry metric id.' },
      { name: 'SourcePlugin', kind: 'string', description: 'The vpmd plugin that provides the metric.' },
      {
        name: 'SourceSensor',
        kind: 'string',
        nullable: true,
        description: 'The sensor of the source (an hwmon file, an IPMI sensor name).',
      },
    ],
  },
  {
    namespace: 'VpmdLogEntry',
    name: 'LogEntry',
    kind: 'oem-object',
    description: 'Where a hardware log entry came from.',
    properties: [
      { name: 'Source', kind: 'string', description: 'The BMC or device that logged the entry.' },
      { name: 'SourceId', kind: 'string', description: 'The id of the entry in its source log (the SEL record id).' },
    ],
  },
  {
    namespace: 'VpmdCapabilitiesDocuments',
    name: 'CapabilitiesDocuments',
    kind: 'resource',
    description:
      'The capabilities documents of the host: the libvirt capabilities XML and the vpmd power document (JSON), as file downloads.',
    uris: ['/redfish/v1/Systems/{ComputerSystemId}/Oem/Vpmd/CapabilitiesDocuments'],
    properties: [
      {
        name: 'Available',
        kind: 'boolean',
        description: 'Whether a capabilities-documents provider (the libvirt-caps plugin) is running.',
      },
      {
        name: 'Reason',
        kind: 'string',
        nullable: true,
        description: 'Why the documents are not available, when they are not.',
      },
      {
        name: 'LibvirtCapabilitiesUri',
        kind: 'url',
        nullable: true,
        description: 'The libvirt capabilities XML of the host (application/xml, validates against capability.rng).',
      },
      {
        name: 'PowerDocumentUri',
        kind: 'url',
        nullable: true,
        description: 'The vpmd power document of the host (application/json).',
      },
    ],
  },
  {
    namespace: 'VpmdPowerProfiles',
    name: 'PowerProfiles',
    kind: 'resource',
    description:
      'The power profiles of the host (governor, EPP, frequency, turbo, resume latency, uncore) and the CPU pools running them.',
    uris: ['/redfish/v1/Systems/{ComputerSystemId}/Oem/Vpmd/PowerProfiles'],
    properties: [
      {
        name: 'Available',
        kind: 'boolean',
        description: 'Whether a power-profiles provider (the profiles plugin) is running.',
      },
      {
        name: 'Reason',
        kind: 'string',
        nullable: true,
        description: 'Why profiles are not available, when they are not.',
      },
      {
        name: 'PowerMode',
        kind: 'string',
        nullable: true,
        description: 'The ComputerSystem PowerMode the pools run now.',
      },
      {
        name: 'Pools',
        kind: 'string',
        nullable: true,
        description: 'Each CPU pool with its CPUs and profile, one per line (pool: CPUs, source, profile).',
      },
      {
        name: 'Profiles',
        kind: 'string',
        nullable: true,
        description: 'Each profile with its settings, one per line (name: settings).',
      },
    ],
  },
];

/** `#VpmdSensor.v1_0_0.Sensor` */
export function oemType(namespace: string): string {
  const t = TYPES.find((x) => x.namespace === namespace);
  if (!t) throw new Error(`unknown OEM namespace ${namespace}`);
  return `#${t.namespace}.${OEM_VERSION}.${t.name}`;
}

/** The OEM namespaces, for `$metadata` and the JsonSchemas collection. */
export function oemNamespaces(): string[] {
  return TYPES.map((t) => t.namespace);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

const READ_ONLY = '<Annotation Term="OData.Permissions" EnumMember="OData.Permission/Read"/>';

function csdlProperty(p: OemProperty, namespace: string): string {
  const desc = `<Annotation Term="OData.Description" String="${esc(p.description)}"/><Annotation Term="OData.LongDescription" String="This property shall contain ${esc(p.description.charAt(0).toLowerCase() + p.description.slice(1))}"/>`;
  if (p.kind === 'link')
    return `        <NavigationProperty Name="${p.name}" Type="${p.target ?? ''}" Nullable="false">${READ_ONLY}${desc}<Annotation Term="OData.AutoExpandReferences"/></NavigationProperty>`;
  if (p.kind === 'objects')
    return `        <Property Name="${p.name}" Type="Collection(${namespace}.${OEM_VERSION}.${p.items?.name ?? ''})" Nullable="false">${READ_ONLY}${desc}</Property>`;
  const type = p.kind === 'boolean' ? 'Edm.Boolean' : p.kind === 'number' ? 'Edm.Decimal' : 'Edm.String';
  const url = p.kind === 'url' ? '<Annotation Term="OData.IsURL"/>' : '';
  return `        <Property Name="${p.name}" Type="${type}"${p.nullable ? '' : ' Nullable="false"'}>${READ_ONLY}${desc}${url}</Property>`;
}

function csdlType(t: OemType): string {
  const head = `    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="${t.namespace}">
      <Annotation Term="Redfish.OwningEntity" String="vpmd"/>`;
  const versioned = `    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="${t.namespace}.${OEM_VERSION}">
      <Annotation Term="Redfish.OwningEntity" String="vpmd"/>
      <Annotation Term="Redfish.Release" String="1.0"/>`;
  const props = t.properties.map((p) => csdlProperty(p, t.namespace)).join('\n');
  const desc = `<Annotation Term="OData.Description" String="${esc(t.description)}"/><Annotation Term="OData.LongDescription" String="${esc(t.description)}"/>`;
  // The complex types of array properties, in the versioned schema beside the type.
  const complex = t.properties
    .flatMap((p) => (p.items ? [p.items] : []))
    .map(
      (c) => `
      <ComplexType Name="${c.name}">
        <Annotation Term="OData.AdditionalProperties" Bool="false"/><Annotation Term="OData.Description" String="${esc(c.description)}"/><Annotation Term="OData.LongDescription" String="${esc(c.description)}"/>
${c.properties.map((p) => csdlProperty(p, t.namespace)).join('\n')}
      </ComplexType>`,
    )
    .join('');
  if (t.kind === 'oem-object')
    return `${head}
    </Schema>
${versioned}
      <ComplexType Name="${t.name}" BaseType="Resource.OemObject">
        <Annotation Term="OData.AdditionalProperties" Bool="false"/>${desc}
${props}
      </ComplexType>
    </Schema>`;
  const uris = (t.uris ?? []).map((u) => `<String>${u}</String>`).join('');
  return `${head}
      <EntityType Name="${t.name}" BaseType="Resource.v1_0_0.Resource" Abstract="true">${desc}
        <Annotation Term="Capabilities.InsertRestrictions"><Record><PropertyValue Property="Insertable" Bool="false"/></Record></Annotation>
        <Annotation Term="Capabilities.UpdateRestrictions"><Record><PropertyValue Property="Updatable" Bool="false"/></Record></Annotation>
        <Annotation Term="Capabilities.DeleteRestrictions"><Record><PropertyValue Property="Deletable" Bool="false"/></Record></Annotation>
        <Annotation Term="Redfish.Uris"><Collection>${uris}</Collection></Annotation>
      </EntityType>
    </Schema>
${versioned}
      <EntityType Name="${t.name}" BaseType="${t.namespace}.${t.name}">
        <Annotation Term="OData.AdditionalProperties" Bool="false"/>${desc}
${props}
      </EntityType>${complex}
    </Schema>`;
}

const ODATA_VOCAB = 'http://docs.oasis-open.org/odata/odata/v4.0/errata03/csd01/complete/vocabularies';

/** The CSDL document of every vpmd OEM namespace (served at {@link OEM_CSDL_URI}). */
export function oemCsdl(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
  <edmx:Reference Uri="${ODATA_VOCAB}/Org.OData.Core.V1.xml">
    <edmx:Include Namespace="Org.OData.Core.V1" Alias="OData"/>
  </edmx:Reference>
  <edmx:Reference Uri="${ODATA_VOCAB}/Org.OData.Capabilities.V1.xml">
    <edmx:Include Namespace="Org.OData.Capabilities.V1" Alias="Capabilities"/>
  </edmx:Reference>
  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/RedfishExtensions_v1.xml">
    <edmx:Include Namespace="RedfishExtensions.v1_0_0" Alias="Redfish"/>
  </edmx:Reference>
  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/Resource_v1.xml">
    <edmx:Include Namespace="Resource"/>
    <edmx:Include Namespace="Resource.v1_0_0"/>
  </edmx:Reference>
  <edmx:DataServices>
${TYPES.map(csdlType).join('\n')}
  </edmx:DataServices>
</edmx:Edmx>
`;
}

const DMTF = 'http://redfish.dmtf.org/schemas/v1/';
const ANNOTATION_PATTERN = {
  '^([a-zA-Z_][a-zA-Z0-9_]*)?@(odata|Redfish|Message)\\.[a-zA-Z_][a-zA-Z0-9_]*$': {
    description: 'This property shall specify a valid odata or Redfish property.',
    type: ['array', 'boolean', 'integer', 'number', 'null', 'object', 'string'],
  },
};

function jsonProperty(p: OemProperty): Record<string, unknown> {
  if (p.kind === 'link')
    return { $ref: `${DMTF}odata-v4.json#/definitions/idRef`, description: p.description, readonly: true };
  if (p.kind === 'objects')
    return {
      description: p.description,
      readonly: true,
      type: 'array',
      items: { $ref: `#/definitions/${p.items?.name ?? ''}` },
    };
  const base = p.kind === 'boolean' ? 'boolean' : p.kind === 'number' ? 'number' : 'string';
  return {
    description: p.description,
    readonly: true,
    type: p.nullable ? [base, 'null'] : base,
    ...(p.kind === 'url' ? { format: 'uri-reference' } : {}),
  };
}

/** The versioned JSON schema of an OEM namespace, or undefined for a name that is not one. */
export function oemJsonSchema(namespace: string): Record<string, unknown> | undefined {
  const t = TYPES.find((x) => x.namespace === namespace);
  if (!t) return undefined;
  const props: Record<string, unknown> = {};
  if (t.kind === 'resource') {
    props['@odata.context'] = { $ref: `${DMTF}odata-v4.json#/definitions/context` };
    props['@odata.etag'] = { $ref: `${DMTF}odata-v4.json#/definitions/etag` };
    props['@odata.id'] = { $ref: `${DMTF}odata-v4.json#/definitions/id` };
  }
  props['@odata.type'] = { $ref: `${DMTF}odata-v4.json#/definitions/type` };
  if (t.kind === 'resource') {
    props.Id = { $ref: `${DMTF}Resource.json#/definitions/Id`, readonly: true };
    props.Name = { $ref: `${DMTF}Resource.json#/definitions/Name`, readonly: true };
    props.Description = {
      anyOf: [{ $ref: `${DMTF}Resource.json#/definitions/Description` }, { type: 'null' }],
      readonly: true,
    };
  }
  for (const p of t.properties) props[p.name] = jsonProperty(p);
  const complex: Record<string, unknown> = {};
  for (const c of t.properties.flatMap((p) => (p.items ? [p.items] : [])))
    complex[c.name] = {
      additionalProperties: false,
      description: c.description,
      patternProperties: ANNOTATION_PATTERN,
      properties: Object.fromEntries(c.properties.map((p) => [p.name, jsonProperty(p)])),
      type: 'object',
    };
  return {
    $id: `/redfish/v1/JsonSchemas/${t.namespace}/${t.namespace}.${OEM_VERSION}.json`,
    $ref: `#/definitions/${t.name}`,
    $schema: `${DMTF}redfish-schema-v1.json`,
    copyright: 'vpmd OEM extension',
    language: 'en',
    owningEntity: 'vpmd',
    title: `#${t.namespace}.${OEM_VERSION}.${t.name}`,
    definitions: {
      [t.name]: {
        additionalProperties: false,
        description: t.description,
        patternProperties: ANNOTATION_PATTERN,
        properties: props,
        required: t.kind === 'resource' ? ['@odata.id', '@odata.type', 'Id', 'Name'] : ['@odata.type'],
        type: 'object',
      },
      ...complex,
    },
  };
}

/** Every OEM JSON schema by its file name (`VpmdSensor.v1_0_0.json`), for payload checks. */
export function oemJsonSchemaFiles(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    TYPES.map((t) => [`${t.namespace}.${OEM_VERSION}.json`, oemJsonSchema(t.namespace) as Record<string, unknown>]),
  );
}
