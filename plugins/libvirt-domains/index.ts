/**
 * libvirt-domains: the one plugin that provides `domains@1`, every running VM as libvirt knows it
 * (UUID, name, Nova and vpmd metadata, vCPUs with their host threads, pins and CPU time, the
 * emulator threads), read from libvirt-dbus on the core's `libvirt.bus`/`libvirt.driver`, and
 * `domain.lifecycle.v1` events from libvirt's own signals. Consumers (energy accounting, power
 * profiles, guest channels) get VMs through the capability and never talk to libvirt themselves.
 * `vpmctl domains list|show` shows what they see. See docs/libvirt-domains.md.
 */
import { DOMAINS, StringEnum, Type, VpmdError, definePlugin, type PluginHealth } from 'vpmd';
import { LIBVIRT_DOMAINS_ERRORS } from './errors.js';
import { LibvirtBus } from './libvirt-bus.js';
import { DEFAULT_REFRESH_MS, LibvirtDomains, type CpuSourceCounts } from './libvirt-domains.js';
import { registerCommands } from './cli.js';
import { SimulatedDomains } from './simulated-domains.js';

/** Where CPU times come from, for health: /proc, or libvirt's GetStats where /proc cannot be read. */
function cpuSourceText(c: CpuSourceCounts): string {
  if (c.libvirt === 0) return c.proc === 0 ? 'no CPU times read' : `CPU times from /proc schedstat for all`;
  return (
    `CPU times from /proc schedstat for ${c.proc}, from libvirt GetStats (three D-Bus calls per domain per read, with the pins) ` +
    `for ${c.libvirt}: ${c.why ?? '/proc not readable'}`
  );
}

export default definePlugin({
  name: 'libvirt-domains',
  version: '1.0.0',
  description: 'Running VMs (domains@1) from libvirt-dbus: identity, metadata, vCPU threads, pins, CPU time, lifecycle',
  coreApi: '^1.2.0',
  errors: LIBVIRT_DOMAINS_ERRORS,
  config: Type.Object(
    {
      refreshInterval: Type.Optional(
        Type.Integer({
          minimum: 1,
          description:
            'seconds between two reads of every domain’s structure (pins, metadata, threads) besides those libvirt’s signals trigger (default 60)',
        }),
      ),
      source: Type.Optional(
        StringEnum(['libvirt', 'simulated'], {
          description: "libvirt (default): libvirt-dbus; simulated: the simulated host's VMs (host.simulated only)",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  provides: ['domains@1'],
  demo: () => ({ config: { source: 'simulated' } }),

  register(ctx) {
    if (ctx.config.source === 'simulated') {
      if (!ctx.core.simulated)
        throw new VpmdError(
          'E_CONFIG_INVALID',
          'plugins.libvirt-domains.source: simulated needs a simulated host (host.simulated: true); use libvirt',
        );
      const sim = new SimulatedDomains(ctx.host, ctx.events);
      ctx.capabilities.provide(DOMAINS, sim);
      registerCommands(ctx, sim);
      return {
        start() {
          // The simulator has no signal: look for started and stopped VMs every second.
          ctx.scheduler.every('lifecycle-poll', 1000, () => sim.poll());
        },
        stop() {
          sim.close();
          return Promise.resolve();
        },
        async health(): Promise<PluginHealth> {
          const list = await sim.list();
          return { status: 'ok', detail: `${list.length} running simulated domain(s)` };
        },
      };
    }
    let lastError: string | undefined;
    const lv: LibvirtBus = new LibvirtBus(ctx.core.libvirt, (s) => domains.onSignal(s));
    const refreshMs = (ctx.config.refreshInterval ?? DEFAULT_REFRESH_MS / 1000) * 1000;
    const domains = new LibvirtDomains(lv, ctx.events, ctx.log, refreshMs);
    ctx.capabilities.provide(DOMAINS, domains);
    registerCommands(ctx, domains);
    return {
      async start() {
        // libvirt may come up after vpmd: a failed subscription degrades health, never the start.
        await lv.subscribe().catch((e: unknown) => {
          lastError = e instanceof Error ? e.message : String(e);
          ctx.log.warn({ err: lastError }, 'libvirt-dbus not reachable yet; domain events will be missed');
        });
      },
      stop() {
        lv.close();
        domains.close();
        return Promise.resolve();
      },
      async health(): Promise<PluginHealth> {
        try {
          const list = await domains.list();
          lastError = undefined;
          return {
            status: 'ok',
            detail:
              `${list.length} running domain(s) on ${lv.connectPath}; ${cpuSourceText(domains.cpuSources)}` +
              (domains.subscribed
                ? ''
                : `; libvirt signals not subscribed: ListDomains on each read, pins and metadata re-read every ${refreshMs / 1000} s`),
          };
        } catch (e) {
          lastError = e instanceof Error ? e.message : String(e);
          return { status: 'degraded', detail: lastError };
        }
      },
    };
  },
});
