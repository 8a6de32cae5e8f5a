/**
 * The Redfish types this service emits, each at the newest version of DSP8010 2025.4. The list
 * drives `@odata.type`, the `$metadata` references, the JsonSchemas collection and the tests'
 * schema validation, so a type added here is served and checked everywhere at once.
 */

/** Versioned namespaces by type name. */
export const TYPE_VERSIONS = {
  ServiceRoot: 'v1_20_0',
  ComputerSystem: 'v1_27_0',
  Processor: 'v1_22_0',
  ActionInfo: 'v1_5_0',
  Chassis: 'v1_28_0',
  PowerSubsystem: 'v1_1_3',
  ThermalSubsystem: 'v1_5_0',
  ThermalMetrics: 'v1_3_2',
  Sensor: 'v1_12_0',
  EnvironmentMetrics: 'v1_5_0',
  Control: 'v1_7_0',
  Manager: 'v1_24_0',
  ManagerNetworkProtocol: 'v1_12_0',
  LogService: 'v1_9_0',
  LogEntry: 'v1_21_0',
  AccountService: 'v1_18_1',
  ManagerAccount: 'v1_14_1',
  Role: 'v1_3_3',
  SessionService: 'v1_2_0',
  Session: 'v1_8_0',
  EventService: 'v1_12_0',
  EventDestination: 'v1_16_0',
  JsonSchemaFile: 'v1_1_5',
  Message: 'v1_3_0',
  Event: 'v1_13_0',
  MessageRegistryFile: 'v1_1_5',
  CertificateService: 'v1_2_1',
  CertificateLocations: 'v1_0_4',
  Certificate: 'v1_11_0',
} as const;

/** A type this service emits. */
export type TypeName = keyof typeof TYPE_VERSIONS;

/** Collections this service emits (unversioned). */
export const COLLECTIONS = [
  'ComputerSystemCollection',
  'ProcessorCollection',
  'ChassisCollection',
  'SensorCollection',
  'ControlCollection',
  'ManagerCollection',
  'LogServiceCollection',
  'LogEntryCollection',
  'ManagerAccountCollection',
  'RoleCollection',
  'SessionCollection',
  'EventDestinationCollection',
  'JsonSchemaFileCollection',
  'MessageRegistryFileCollection',
  'CertificateCollection',
] as const;

/** `#ComputerSystem.v1_27_0.ComputerSystem` */
export function odataType(t: TypeName): string {
  return `#${t}.${TYPE_VERSIONS[t]}.${t}`;
}

/** A collection resource body. */
export function collection(
  type: (typeof COLLECTIONS)[number],
  id: string,
  name: string,
  members: readonly string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    '@odata.id': id,
    '@odata.type': `#${type}.${type}`,
    Name: name,
    Members: members.map((m) => ({ '@odata.id': m })),
    'Members@odata.count': members.length,
    ...extra,
  };
}

/** `{ "@odata.id": uri }` */
export function link(uri: string): { '@odata.id': string } {
  return { '@odata.id': uri };
}

/** The Redfish `Status` of a health state. */
export function status(
  health: 'OK' | 'Warning' | 'Critical',
  state: 'Enabled' | 'Absent' | 'UnavailableOffline' | 'Disabled' = 'Enabled',
): { State: string; Health: string } {
  return { State: state, Health: health };
}

/** Turns any text into a Redfish Id segment (letters, digits, `_`, `-`, `.`). */
export function toId(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

/** A LogService resource at `uri` holding up to 1,000 entries that wrap (the audit and hardware logs). */
export function logService(uri: string, id: string, name: string, description: string): Record<string, unknown> {
  return {
    '@odata.id': uri,
    '@odata.type': odataType('LogService'),
    Id: id,
    Name: name,
    Description: description,
    ServiceEnabled: true,
    OverWritePolicy: 'WrapsWhenFull',
    MaxNumberOfRecords: 1000,
    LogEntryType: 'Multiple',
    Entries: link(`${uri}/Entries`),
    Status: status('OK'),
  };
}

/** The second last formatted by {@link isoTime}, and its text up to the milliseconds. */
let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * `new Date(ms).toISOString()`, at a fraction of its cost where many timestamps share a second
 * (the readings of one sampling round, formatted for every sensor of an expanded collection):
 * the date and time are formatted once per second, the milliseconds appended.
 */
export function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  const second = Math.floor(whole / 1000);
  // Out of the plain `YYYY-MM-DDTHH:MM:SS.mmmZ` range (or not a time): Date's own answer (or its RangeError).
  if (!(whole >= 0 && whole < 253402300800000)) return new Date(ms).toISOString();
  if (second !== isoSecond) {
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    isoSecond = second;
  }
  const millis = whole - second * 1000;
  return `${isoPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
