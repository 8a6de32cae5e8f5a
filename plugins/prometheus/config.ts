/** The `plugins.prometheus` config section. */
import { Port, StringEnum, Type, type PluginContext, type Static } from 'vpmd';

/** Schema of `plugins.prometheus`. */
export const PrometheusConfigSchema = Type.Object({
  port: Port({ default: 9469, description: 'TCP port of the /metrics listener' }),
  address: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'listen address: the management address (default) or a loopback address (127.0.0.1, ::1) for a Prometheus on this host; nothing else',
    }),
  ),
  tls: Type.Object(
    {
      enabled: Type.Boolean({
        default: true,
        description: 'serve HTTPS (default); false serves plain HTTP, for a loopback address or a trusted network only',
      }),
      cert: Type.Optional(
        Type.String({
          minLength: 1,
          description: 'PEM certificate file; with key. Default: self-signed, generated once into the state directory',
        }),
      ),
      key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file (keep it mode 0600)' })),
    },
    { default: {}, additionalProperties: false },
  ),
  auth: Type.Object(
    {
      type: StringEnum(['none', 'basic', 'bearer'] as const, {
        default: 'none',
        description: "'basic' (username + passwordFile) or 'bearer' (tokenFile); 'none': the allow-list only",
      }),
      username: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'basic auth user name' })),
      passwordFile: Type.Optional(
        Type.String({
          minLength: 1,
          description: 'file holding the basic auth password (first line); not world-readable',
        }),
      ),
      tokenFile: Type.Optional(
        Type.String({ minLength: 1, description: 'file holding the bearer token (first line); not world-readable' }),
      ),
    },
    { default: {}, additionalProperties: false },
  ),
});

/** The validated section. */
export type PrometheusConfig = Static<typeof PrometheusConfigSchema>;

/** The plugin's context with its config. */
export type PrometheusContext = PluginContext<PrometheusConfig>;
