/**
 * The poller's share of the redfish plugin: config checks and commands at register, the
 * `bmc-driver.redfish@1` capability, start/stop with the plugin, per-target health, and the
 * demo's BMC (the demo's own Redfish service, or `vpmd --demo --redfish-bmc URL`).
 */
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { REDFISH_BMC_DRIVER, VpmdError, type DemoEnvironment, type PluginHealth } from 'vpmd';
import type { RedfishContext } from '../config.js';
import { registerPollerCommands } from './cli.js';
import { checkRedfishTargets, resolveRedfishTarget, type RedfishTargetConfig } from './config.js';
import { redfishDriver } from './driver.js';
import { RedfishPoller } from './poller.js';

type TargetHealth = NonNullable<PluginHealth['targets']>[string];

/** The BMC poller inside the plugin. */
export class BmcPollerPart {
  private poller: RedfishPoller | undefined;

  constructor(private readonly ctx: RedfishContext) {
    checkRedfishTargets(ctx.config);
    const running = (): RedfishPoller => {
      if (this.poller === undefined)
        throw new VpmdError('E_PLUGIN_STOPPED', 'the Redfish BMC poller is not running', {});
      return this.poller;
    };
    registerPollerCommands(ctx, running);
    ctx.capabilities.provide(
      REDFISH_BMC_DRIVER,
      redfishDriver(ctx.access, running, () => this.poller),
    );
  }

  /** Resolves the targets (password and CA files) and schedules their polls. */
  async start(): Promise<void> {
    const { ctx } = this;
    if (ctx.config.targets.length === 0) return;
    const targets = await Promise.all(ctx.config.targets.map((t) => resolveRedfishTarget(ctx.config.poll, t)));
    const poller = new RedfishPoller(
      ctx.config.poll,
      {
        log: ctx.log,
        telemetry: ctx.telemetry,
        events: ctx.events,
        state: ctx.state,
      },
      targets,
    );
    await poller.open();
    this.poller = poller;
    // First polls spread over at most 10 s (not a whole interval): a newly started agent reports soon.
    for (const t of targets)
      ctx.scheduler.every(`poll ${t.name}`, t.intervalMs, () => poller.poll(t.name), {
        jitter: Math.min(1, 10_000 / t.intervalMs),
        runNow: true,
      });
    ctx.log.info({ targets: targets.length }, 'Redfish BMC poller started');
  }

  /** Logs out of every BMC. */
  async stop(): Promise<void> {
    const p = this.poller;
    this.poller = undefined;
    await p?.close();
  }

  /** Health of the poller alone (a host that only polls). */
  health(): PluginHealth {
    const all = this.poller === undefined ? [] : [...this.poller.targets.values()];
    if (all.length === 0) return { status: 'ok', detail: 'not serving (serve: false); no targets configured' };
    const targets: Record<string, TargetHealth> = {};
    for (const t of all)
      targets[t.target.name] =
        t.state === 'unknown'
          ? { status: 'degraded', detail: 'pending: not polled yet' }
          : {
              status: t.state === 'ok' ? 'ok' : t.state === 'failed' ? 'failed' : 'degraded',
              ...(t.detail ? { detail: t.detail } : {}),
            };
    const bad = all.filter((t) => t.state !== 'ok');
    return {
      status: bad.length ? 'degraded' : 'ok',
      detail: `${all.length - bad.length} of ${all.length} Redfish BMC(s) ok${bad.length ? `; not ok: ${bad.map((t) => t.target.name).join(', ')}` : ''}`,
      targets,
    };
  }

  /** The service's health with the poller's appended (a bad BMC degrades the plugin's health, not the service). */
  withService(service: PluginHealth): PluginHealth {
    if (this.poller === undefined) return service;
    const p = this.health();
    return {
      status: service.status === 'ok' ? p.status : service.status,
      detail: `${service.detail ?? ''}; ${p.detail ?? ''}`,
      ...(p.targets ? { targets: p.targets } : {}),
    };
  }
}

/** SHA-256 fingerprint of the certificate a TLS server presents (trust on first use, for the demo only). */
function fingerprintOf(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port, rejectUnauthorized: false, timeout: 5000 }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.once('error', reject);
    s.once('timeout', () => s.destroy(new Error('timeout')));
  });
}

/**
 * The demo's polled BMC: its own Redfish service (the generated certificate as CA, the host
 * chassis only), or the BMC of `--redfish-bmc URL` (credentials from VPMD_DEMO_BMC_USER and
 * VPMD_DEMO_BMC_PASSWORD, its certificate pinned as first seen).
 */
export async function demoBmc(
  env: DemoEnvironment,
  port: number,
  password: string,
): Promise<{ target: RedfishTargetConfig; notes: string[] }> {
  const url = env.options?.['redfish-bmc'];
  if (url === undefined) {
    return {
      target: {
        name: 'self',
        url: `https://${env.address}:${port}`,
        username: 'admin',
        password,
        // The demo's state directory (app/demo.ts) holds the certificate the service generates.
        ca: join(env.dir, 'state', 'plugins', 'redfish', 'tls', 'cert.pem'),
        chassis: ['host'],
      },
      notes: ['  polls its own Redfish service as BMC "self": vpmctl redfish sensors self (or --redfish-bmc URL)'],
    };
  }
  const u = new URL(url);
  const user = process.env.VPMD_DEMO_BMC_USER ?? 'admin';
  const pass = process.env.VPMD_DEMO_BMC_PASSWORD ?? password;
  const base = { name: 'bmc', url: u.origin, username: user, password: pass };
  if (u.protocol === 'http:')
    return {
      target: { ...base, plainHttp: true },
      notes: [`  polls the Redfish BMC ${u.origin} as "bmc" (plain HTTP): vpmctl redfish sensors bmc`],
    };
  const fp = await fingerprintOf(u.hostname, Number(u.port || 443));
  return {
    target: { ...base, fingerprint: fp },
    notes: [`  polls the Redfish BMC ${u.origin} as "bmc", certificate pinned as first seen (${fp})`],
  };
}
