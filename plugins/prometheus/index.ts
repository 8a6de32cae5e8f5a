/**
 * The prometheus plugin: `/metrics` in OpenMetrics text (and the Prometheus text format 0.0.4
 * by content negotiation) over HTTPS on the management address, behind the allow-list and
 * optional basic or bearer auth. It exports every telemetry reading in base units, per-VM
 * energy and power from `energy@1`, guest channel counters from `guest-channels@1`, plugin
 * health from the core's `plugin-status@1`, and the scrape's own duration. Capabilities are
 * looked up at scrape time, so a provider that starts or fails later shows up or drops out.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  definePlugin,
  loadTlsMaterial,
  ENERGY,
  GUEST_CHANNELS,
  PLUGIN_STATUS,
  VPMD_VERSION,
  VpmdError,
  type PluginHealth,
} from 'vpmd';
import { PROMETHEUS_ERRORS } from './errors.js';
import { PrometheusConfigSchema, type PrometheusContext } from './config.js';
import { loadScrapeAuth } from './http/auth.js';
import { listenMetrics, type MetricsListener } from './http/server.js';
import { scrapeChunks, type ScrapeSources } from './collectors/scrape.js';
import { prometheusConfigProblems } from './validate.js';

const VERSION = '1.0.0';

/** The listen address: the management address, or loopback when configured. */
function listenAddress(ctx: PrometheusContext): string {
  const management = ctx.access.bindAddress();
  const wanted = ctx.config.address;
  if (wanted === undefined || wanted === management) return management;
  if (isIP(wanted) !== 0 && (wanted === '::1' || wanted.startsWith('127.'))) return wanted;
  throw new VpmdError(
    'E_PROMETHEUS_CONFIG',
    `plugins.prometheus.address: ${wanted} is neither the management address (${management}) nor a loopback address`,
    { field: 'address' },
  );
}

/** The scrape's sources, looked up when each scrape runs. */
function sources(ctx: PrometheusContext): ScrapeSources {
  const lastLogged = new Map<string, number>();
  return {
    metrics: () => ctx.telemetry.list(),
    energy: () => ctx.capabilities.find(ENERGY),
    guests: () => ctx.capabilities.find(GUEST_CHANNELS),
    plugins: () => ctx.capabilities.find(PLUGIN_STATUS)?.list(),
    versions: { agent: VPMD_VERSION, exporter: VERSION },
    onCollectorError: (collector, e) => {
      const now = Date.now();
      if ((lastLogged.get(collector) ?? 0) > now - 60_000) return;
      lastLogged.set(collector, now);
      ctx.log.warn({ collector, err: e }, `prometheus: the ${collector} collector failed; its metrics are left out`);
    },
  };
}

export default definePlugin({
  name: 'prometheus',
  version: VERSION,
  description: 'Prometheus /metrics (OpenMetrics) over HTTPS: telemetry, per-VM energy, guest channels, plugin health',
  coreApi: '^1.2.0',
  errors: PROMETHEUS_ERRORS,
  config: PrometheusConfigSchema,
  validate: (config) => prometheusConfigProblems(config),
  requires: [PLUGIN_STATUS.id],
  optional: [ENERGY.id, GUEST_CHANNELS.id],

  register(ctx) {
    let listener: MetricsListener | undefined;
    const src = sources(ctx);
    return {
      async start() {
        const address = listenAddress(ctx);
        const auth = await loadScrapeAuth(ctx.config.auth);
        const { tls: t } = ctx.config;
        if (!t.enabled && (t.cert !== undefined || t.key !== undefined))
          throw new VpmdError(
            'E_PROMETHEUS_CONFIG',
            'plugins.prometheus.tls: cert and key are set but enabled is false',
            {
              field: 'tls',
            },
          );
        const tls = t.enabled
          ? await loadTlsMaterial({
              ...(t.cert !== undefined ? { certFile: t.cert } : {}),
              ...(t.key !== undefined ? { keyFile: t.key } : {}),
              dir: join(ctx.core.stateDir, 'plugins', 'prometheus', 'tls'),
              address,
              errorCode: 'E_PROMETHEUS_TLS',
              configPath: 'plugins.prometheus.tls',
              certKey: 'cert',
              keyKey: 'key',
              commonName: 'vpmd metrics',
            })
          : undefined;
        listener = await listenMetrics({ ctx, address, tls, auth, scrape: (format) => scrapeChunks(src, format) });
        ctx.log.info(
          {
            url: listener.url,
            auth: ctx.config.auth.type,
            certificate: tls?.source ?? 'none',
            certFile: tls?.certFile,
          },
          'prometheus exporter listening',
        );
        if (!tls) ctx.log.warn('prometheus: plugins.prometheus.tls.enabled is false: /metrics is served in plain HTTP');
      },
      async stop() {
        await listener?.close();
        listener = undefined;
      },
      health: (): PluginHealth =>
        listener
          ? { status: 'ok', detail: `${listener.url} (auth ${ctx.config.auth.type})` }
          : { status: 'degraded', detail: 'not listening' },
    };
  },

  async demo(env) {
    const port = await env.freePort('tcp');
    const url = `https://${env.address}:${port}/metrics`;
    // The demo keeps its state under <dir>/state (app/demo.ts): the generated certificate is there.
    const cert = join(env.dir, 'state', 'plugins', 'prometheus', 'tls', 'cert.pem');
    return {
      config: { port },
      notes: [
        `Prometheus metrics: ${url} (OpenMetrics; self-signed certificate)`,
        `  curl -s --cacert ${cert} ${url} | grep vpmd_vm_`,
      ],
    };
  },
});
