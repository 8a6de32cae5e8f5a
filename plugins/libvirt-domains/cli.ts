/** `vpmctl domains list|show`: what the domains@1 consumers see. */
import { Type, VpmdError, defineCommand, formatTable, type DomainInfo, type Domains, type PluginContext } from 'vpmd';

const seconds = (us: number): string => (us / 1e6).toFixed(2);
const cpuUs = (d: DomainInfo): number => d.vcpus.reduce((a, v) => a + v.cpuTimeUs, 0) + d.emulator.cpuTimeUs;

/** Registers the plugin's commands. */
export function registerCommands(ctx: PluginContext, domains: Domains): void {
  ctx.commands.register(
    defineCommand({
      name: 'domains list',
      summary: 'running VMs with their vCPUs, pins and CPU time (domains@1)',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => domains.list(),
      human: (list) =>
        list.length === 0
          ? 'No running domains.'
          : formatTable(list, [
              { header: 'UUID', value: (d) => d.uuid },
              { header: 'Name', value: (d) => d.name },
              { header: 'State', value: (d) => d.state },
              { header: 'vCPU pins', value: (d) => d.vcpus.map((v) => v.pins.join('+') || '-').join(' ') },
              { header: 'CPU s', value: (d) => seconds(cpuUs(d)), align: 'right' },
              { header: 'Latency class', value: (d) => d.metadata.latencyClass ?? '-' },
            ]),
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'domains show',
      summary: 'one running VM by UUID or name, with its vCPU threads and CPU times',
      privilege: 'Login',
      args: Type.Object({ domain: Type.String({ minLength: 1, description: 'UUID or name' }) }),
      positional: ['domain'],
      handler: async (a) => {
        const d = await domains.get(a.domain);
        if (!d)
          throw new VpmdError('E_LIBVIRT_DOMAINS_NOT_FOUND', `no running domain '${a.domain}' (vpmctl domains list)`);
        return d;
      },
    }),
  );
}
