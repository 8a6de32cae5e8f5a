/**
 * libvirt-caps: host sleep-state discovery (systemd-logind + /sys/power), the libvirt
 * capabilities XML and vpmd's power document, suspend with timed resume through logind, and
 * waking other managed hosts (Wake-on-LAN, IPMI through the BMCs capability).
 *
 * Provides `host-sleep@1` (HostSleepControl) and `capabilities-documents@1`; uses `bmcs@1`
 * when a plugin provides it. See docs/libvirt-caps.md.
 */
import { CAPABILITIES_DOCUMENTS, HOST_SLEEP, definePlugin, type HostSleepControl, type PluginHealth } from 'vpmd';
import { LIBVIRT_CAPS_ERRORS } from './errors.js';
import { registerCommands } from './cli.js';
import { LibvirtCapsConfig } from './config.js';
import { Documents } from './documents.js';
import { SleepService } from './sleep-service.js';

export default definePlugin({
  name: 'libvirt-caps',
  version: '1.0.0',
  description:
    'Host sleep states via logind, libvirt capabilities XML, suspend with RTC wake-up, Wake-on-LAN and IPMI wake',
  coreApi: '^1.2.0',
  errors: LIBVIRT_CAPS_ERRORS,
  config: LibvirtCapsConfig,
  provides: ['host-sleep@1', 'capabilities-documents@1'],
  // host-power@1 is the core's own: logind sessions, sleep calls, the RTC alarm around them.
  requires: ['host-power@1'],
  optional: ['bmcs@1'],

  register(ctx) {
    const c = ctx.config;
    const service = new SleepService(ctx, {
      minWakeSeconds: c.minWakeSeconds,
      prepareTimeoutMs: Math.round(c.prepareTimeout * 1000),
      sleepFlags: c.respectInhibitors ? 1n : 0n,
      rtcDevice: c.rtcDevice,
    });
    const docs = new Documents(
      ctx,
      () => service.support(),
      { port: c.wakeOnLan.port, broadcast: c.wakeOnLan.broadcast },
      {
        ...(c.documents.libvirtFile === undefined ? {} : { libvirt: c.documents.libvirtFile }),
        ...(c.documents.powerFile === undefined ? {} : { power: c.documents.powerFile }),
      },
      c.hostUuid,
    );

    const control: HostSleepControl = {
      support: () => service.support(),
      rediscover: () => service.discover('request'),
      state: () => service.state(),
      suspend: async (req, by) => {
        ctx.access.require(by, 'ConfigureComponents', 'host suspend');
        try {
          const out = await service.suspend(req, by, `host-sleep@1 suspend ${req.target}`);
          if (!out.dryRun) ctx.access.audit(by, 'host suspend', 'ok', `${req.target} requested`);
          return out;
        } catch (e) {
          ctx.access.audit(by, 'host suspend', 'failed', e instanceof Error ? e.message : String(e));
          throw e;
        }
      },
    };
    ctx.capabilities.provide(HOST_SLEEP, control);
    ctx.capabilities.provide(CAPABILITIES_DOCUMENTS, docs);
    registerCommands(ctx, service, docs);

    // One write at a time; stop waits for the last one so nothing writes after the plugin stopped.
    let writing: Promise<void> = Promise.resolve();
    const writeDocs = (): Promise<void> => {
      writing = writing
        .then(() => docs.writeFiles().then(() => undefined))
        .catch((err: unknown) => ctx.log.error({ err }, 'could not write the capabilities documents'));
      return writing;
    };

    return {
      async start() {
        await service.start();
        service.onChange(() => void writeDocs());
        if (c.documents.libvirtFile !== undefined || c.documents.powerFile !== undefined) {
          await writeDocs();
          ctx.scheduler.every('documents', c.documents.interval * 1000, writeDocs);
        }
      },
      async stop() {
        await service.stop();
        await writing;
      },
      async health(): Promise<PluginHealth> {
        const s = await service.support();
        if (s.logindProblem !== undefined)
          return { status: 'degraded', detail: `logind unavailable, no sleep state offered: ${s.logindProblem}` };
        const offered = s.targets.filter((t) => t.supported).map((t) => t.target);
        return { status: 'ok', detail: `host ${service.state()}; sleep states: ${offered.join(', ') || 'none'}` };
      },
    };
  },

  // The demo runs on a simulated host, where the core's host power never uses the machine's own
  // logind: discovery reports the simulated kernel's view with logind marked unavailable (health
  // degraded), and the documents still build from the simulated host and are kept in files in
  // the demo directory.
  demo: (env) => ({
    config: {
      documents: { libvirtFile: `${env.dir}/capabilities.xml`, powerFile: `${env.dir}/power-capabilities.json` },
    },
    notes: [
      'libvirt-caps: vpmctl capabilities | capabilities --power | sleep states | suspend mem --dry-run | wake MAC',
      `  no systemd-logind in the demo: sleep states show the kernel view, logind unavailable; documents in ${env.dir}/capabilities.xml and power-capabilities.json`,
    ],
  }),
});
