/** The `plugins.redfish` config section and the objects the service shares between its parts. */
import { Port, Type, type PluginContext, type Static } from 'vpmd';
import type { AccountStore } from './auth/accounts.js';
import type { SessionStore } from './auth/sessions.js';
import { POLLER_CONFIG_FIELDS } from './poller/config.js';

/** Schema of `plugins.redfish`. */
export const RedfishConfigSchema = Type.Object({
  port: Port({ default: 443, description: 'HTTPS port on the management address' }),
  tlsCert: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'PEM certificate file; with tlsKey. Default: self-signed, generated once into the state directory',
    }),
  ),
  tlsKey: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file (keep it mode 0600)' })),
  sessionLimit: Type.Integer({ minimum: 1, maximum: 1024, default: 64, description: 'open sessions at most' }),
  bodyLimit: Type.Integer({
    minimum: 1024,
    maximum: 1048576,
    default: 65536,
    description: 'largest request body in bytes',
  }),
  eventCa: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'PEM CA bundle trusted for event destinations (default: the system CAs)',
    }),
  ),
  hostPower: Type.Object(
    {
      logind: Type.Boolean({
        default: true,
        description:
          "offer GracefulShutdown/GracefulRestart (systemd-logind PowerOff/Reboot through the core's host power, when logind says yes)",
      }),
      systemd: Type.Boolean({
        default: true,
        description:
          "offer ForceRestart/ForceOff (the systemd manager's Reboot()/PowerOff() through the core's host power, as systemctl reboot/poweroff --force: services are not stopped in order), when the manager has them",
      }),
    },
    { default: {}, additionalProperties: false },
  ),
  responseCacheMs: Type.Integer({
    minimum: 0,
    maximum: 10_000,
    default: 250,
    description:
      'how long a GET reply of the host, processor and chassis resources may be served again (ms); any write through Redfish or core event serves fresh data at once; 0: build every reply',
  }),
  systemId: Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}$',
    default: 'host',
    description: 'Id of the host under /redfish/v1/Systems and /Chassis',
  }),
  // The BMC poller's keys (serve, targets, poll): see poller/config.ts.
  ...POLLER_CONFIG_FIELDS,
});

/** The validated section. */
export type RedfishConfig = Static<typeof RedfishConfigSchema>;

/** The plugin's context with its config. */
export type RedfishContext = PluginContext<RedfishConfig>;

/** What the resource modules share. */
export interface ServiceDeps {
  readonly ctx: RedfishContext;
  readonly accounts: AccountStore;
  readonly sessions: SessionStore;
  /** The port actually listened on. */
  port(): number;
}
