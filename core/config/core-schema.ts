/**
 * The schema of vpmd's configuration file (everything but the plugins' own sections, which each
 * plugin's manifest describes). The key names here are part of vpmd's contract with operators.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './schema-helpers.js';

const PathString = (description: string, def?: string) =>
  Type.String({ minLength: 1, description, ...(def !== undefined ? { default: def } : {}) });

/** A plugin's section: its own keys plus the reserved `enabled` and `module`. */
export const PluginSectionBase = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: 'false turns the plugin off', default: true })),
    module: Type.Optional(Type.String({ minLength: 1, description: 'path or npm package of an external plugin' })),
  },
  { additionalProperties: true },
);

/** Keys every plugin section may carry besides the plugin's own. */
export const RESERVED_PLUGIN_KEYS: readonly string[] = ['enabled', 'module'];

/** The core configuration schema. */
export const CoreConfigSchema = Type.Object(
  {
    host: Type.Object(
      {
        root: PathString('directory under which sys/, proc/ and dev/ are read', '/'),
        simulated: Type.Boolean({
          default: false,
          description: 'host.root is a tree made by the simulated-host generator',
        }),
        sampleInterval: Type.Number({
          minimum: 0.1,
          maximum: 3600,
          default: 5,
          description: 'seconds between host telemetry samples',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    control: Type.Object(
      { socket: PathString('unix socket path of the control channel', '/run/vpmd/control.sock') },
      { additionalProperties: false, default: {} },
    ),
    state: Type.Object(
      { dir: PathString('directory for persistent state', '/var/lib/vpmd') },
      { additionalProperties: false, default: {} },
    ),
    management: Type.Object(
      {
        address: Type.Optional(Type.String({ minLength: 1, description: 'address every network listener binds to' })),
        interface: Type.Optional(
          Type.String({ minLength: 1, description: 'interface whose address listeners bind to' }),
        ),
        allow: Type.Array(Type.String({ minLength: 1 }), {
          default: ['127.0.0.0/8', '::1/128'],
          description: 'CIDRs allowed to connect; everything else is refused',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    libvirt: Type.Object(
      {
        bus: StringEnum(['system', 'session'] as const, { default: 'system' }),
        driver: Type.String({
          minLength: 1,
          pattern: '^[A-Za-z][A-Za-z0-9]*$',
          default: 'QEMU',
          description: 'a libvirt-dbus driver name such as QEMU or Test',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    hostPower: Type.Object(
      {
        busAddress: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'D-Bus address of systemd-logind and the systemd manager (default: DBUS_SYSTEM_BUS_ADDRESS, else the system bus; on a simulated host none unless set)',
          }),
        ),
        timeout: Type.Number({
          minimum: 0.1,
          maximum: 60,
          default: 3,
          description: 'seconds for each systemd-logind or systemd manager call, connection included',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { default: 'info' }),
      },
      { additionalProperties: false, default: {} },
    ),
    kernel: Type.Object(
      {
        startTimeout: Type.Number({
          minimum: 0.1,
          maximum: 600,
          default: 30,
          description: 'seconds a plugin may take to start',
        }),
        stopTimeout: Type.Number({
          minimum: 0.1,
          maximum: 600,
          default: 10,
          description: 'seconds a plugin may take to stop',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    plugins: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9-]*$' }), PluginSectionBase, { default: {} }),
  },
  { additionalProperties: false },
);

/** A validated configuration with defaults applied. */
export type CoreConfig = Static<typeof CoreConfigSchema>;
