/**
 * The Redfish plugin: a DMTF Redfish service over HTTPS for the host vpmd manages (systems,
 * processors, chassis telemetry, the manager and its audit log, accounts, sessions, events).
 * It uses host sleep, the capabilities documents, guest channels and BMCs when a running
 * plugin provides them, looked up at request time, and says so in the payloads when not.
 */
import { join } from 'node:path';
import {
  definePlugin,
  AUDIT_LOG,
  HOST_POWER,
  CAPABILITIES_DOCUMENTS,
  GUEST_CHANNELS,
  HOST_SLEEP,
  BMCS,
  ENERGY,
  POWER_CONTROL,
  POWER_PROFILES,
  REDFISH_BMC_DRIVER,
  type PluginHealth,
} from 'vpmd';
import { REDFISH_ERRORS } from './errors.js';
import { RedfishConfigSchema, type ServiceDeps } from './config.js';
import { AccountStore } from './auth/accounts.js';
import { SessionStore } from './auth/sessions.js';
import { LoginGuard } from './auth/login-guard.js';
import { registerAccountCommands } from './cli.js';
import { Dispatcher } from './http/dispatch.js';
import { ResponseCache } from './http/response-cache.js';
import { Router } from './http/router.js';
import { listenHttps, type HttpsListener } from './http/server.js';
import { loadTls } from './http/tls.js';
import { accountRoutes } from './resources/accounts.js';
import { chassisRoutes } from './resources/chassis.js';
import { powerControlRoutes } from './resources/power-controls.js';
import { managerRoutes } from './resources/managers.js';
import { HardwareLog, hardwareLogRoutes } from './resources/hardware-log.js';
import { serviceRootRoutes } from './resources/service-root.js';
import { registryRoutes } from './resources/registries.js';
import { TOPOLOGY_TTL_MS, systemRoutes } from './resources/systems.js';
import { ProcessorSpeeds } from './resources/processor-speeds.js';
import { selLogRoutes } from './resources/sel-log.js';
import { capabilitiesDocumentsRoutes } from './resources/capabilities-documents.js';
import { powerProfilesRoutes } from './resources/power-profiles.js';
import { vmEnergyRoutes } from './resources/vm-energy.js';
import { certificateRoutes } from './resources/certificates.js';
import { CertificateStore } from './certs/certificate-store.js';
import { EventHub } from './events/event-hub.js';
import { eventRoutes } from './events/event-routes.js';
import { BmcPollerPart, demoBmc } from './poller/plugin-part.js';
import { redfishPollerProblems } from './poller/validate.js';

export default definePlugin({
  name: 'redfish',
  version: '1.0.0',
  description: 'DMTF Redfish service over HTTPS: host, processors, chassis telemetry, accounts, sessions and events',
  coreApi: '^1.2.0',
  errors: REDFISH_ERRORS,
  config: RedfishConfigSchema,
  // The core's own: power-off and reboot (ComputerSystem.Reset), the audit trail (AuditLog).
  requires: [HOST_POWER.id, AUDIT_LOG.id],
  optional: [
    HOST_SLEEP.id,
    CAPABILITIES_DOCUMENTS.id,
    GUEST_CHANNELS.id,
    BMCS.id,
    ENERGY.id,
    POWER_CONTROL.id,
    POWER_PROFILES.id,
  ],
  provides: [REDFISH_BMC_DRIVER.id],
  validate: (config) => redfishPollerProblems(config),

  register(ctx) {
    const accounts = new AccountStore(ctx.state);
    const sessions = new SessionStore(() => accounts.settings.sessionTimeout, ctx.config.sessionLimit);
    let listener: HttpsListener | undefined;
    const notListening: PluginHealth = { status: 'degraded', detail: 'not listening' };
    const logins = new LoginGuard(accounts, ctx.config.loginLimits, (user, address) => {
      // The documented lockout policy: the last Administrator is never locked from the network.
      ctx.log.warn(
        { user, address },
        'redfish: last Administrator at the lockout threshold: its address is blocked instead',
      );
      ctx.access.audit(
        { name: user, role: 'Administrator', origin: 'redfish', address },
        'redfish lockout',
        'denied',
        'last Administrator not locked; source address blocked',
      );
    });
    const deps: ServiceDeps = { ctx, accounts, sessions, logins, port: () => listener?.port ?? ctx.config.port };
    const tlsDir = join(ctx.core.stateDir, 'plugins', 'redfish', 'tls');
    const certificates = new CertificateStore(
      tlsDir,
      ctx.config.tlsCert !== undefined || ctx.config.tlsKey !== undefined,
      (m) => listener?.setCertificate(m),
    );
    const hardwareLog = new HardwareLog();
    const events = new EventHub(ctx);
    ctx.events.on('hw.log.v1', (e) => hardwareLog.add(e));
    sessions.onEnd((s) => events.closeStreamsOf(s.id));
    registerAccountCommands(ctx, accounts, sessions);
    // The BMC poller (plugins.redfish.targets): its own part, started after the service.
    const bmcPoller = new BmcPollerPart(ctx);

    // Which cpufreq policies govern which package: re-read every few seconds, not per GET.
    const processorSpeeds = new ProcessorSpeeds(ctx.host, TOPOLOGY_TTL_MS);
    const router = new Router();
    router.add(
      ...serviceRootRoutes(),
      ...accountRoutes(deps),
      ...systemRoutes(deps, processorSpeeds),
      ...selLogRoutes(deps),
      ...capabilitiesDocumentsRoutes(deps),
      ...powerProfilesRoutes(deps),
      ...vmEnergyRoutes(deps),
      ...chassisRoutes(deps),
      ...powerControlRoutes(deps),
      ...managerRoutes(deps),
      ...hardwareLogRoutes(hardwareLog),
      ...eventRoutes(deps, events),
      ...registryRoutes(),
      ...certificateRoutes(deps, certificates),
    );
    const cache = new ResponseCache(ctx.config.responseCacheMs);
    // Every change the core or a plugin announces may show in a shared resource (power state,
    // providers coming and going, telemetry status, new log entries): cached replies are retired
    // at once. All declared event types, the plugins' own included (complete before register).
    for (const name of ctx.events.names()) ctx.events.on(name, () => cache.invalidate());
    const dispatcher = new Dispatcher(deps, router, cache);

    return {
      async start() {
        if (!ctx.config.serve) {
          await bmcPoller.start();
          return;
        }
        await accounts.load();
        await events.start();
        // A certificate installed over Redfish (CertificateService) wins over the generated one.
        const tls = await certificates.load(
          () =>
            loadTls({
              ...(ctx.config.tlsCert !== undefined ? { certFile: ctx.config.tlsCert } : {}),
              ...(ctx.config.tlsKey !== undefined ? { keyFile: ctx.config.tlsKey } : {}),
              dir: tlsDir,
              address: ctx.access.bindAddress(),
            }),
          (message) => ctx.log.error(`redfish: installed certificate: ${message}`),
        );
        listener = await listenHttps({ ctx, tls, dispatcher, bodyLimit: ctx.config.bodyLimit });
        ctx.scheduler.every('expire-sessions', 30_000, () => sessions.expire());
        ctx.log.info(
          { address: listener.address, port: listener.port, certificate: tls.source },
          'redfish service listening',
        );
        await bmcPoller.start();
      },
      async stop() {
        await bmcPoller.stop();
        await events.stop();
        await listener?.close();
        listener = undefined;
        processorSpeeds.close();
      },
      // Computed when asked, so the account count is current (accounts change at run time).
      health: () => {
        if (!ctx.config.serve) return bmcPoller.health();
        if (!listener) return notListening;
        const n = accounts.list().length;
        return bmcPoller.withService({
          status: 'ok',
          detail: `https://${listener.address}:${listener.port}/redfish/v1/ (${n} account(s)${n === 0 ? ': create one with vpmctl account add' : ''})`,
        });
      },
    };
  },

  async demo(env) {
    const port = await env.freePort('tcp');
    const password = env.password();
    const url = `https://${env.address}:${port}/redfish/v1/`;
    const bmc = await demoBmc(env, port, password);
    return {
      config: { port, targets: [bmc.target], poll: { interval: 10 } },
      commands: [{ argv: ['account', 'add', 'admin', '--role', 'Administrator'], stdin: [password] }],
      notes: [
        `Redfish: ${url} (self-signed certificate)`,
        `  account admin / ${password} (Administrator)`,
        `  curl -k -u admin:'${password}' ${url}Systems/host`,
        ...bmc.notes,
      ],
    };
  },
});
