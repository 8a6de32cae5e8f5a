/**
 * vpmctl commands of the plugin: `capabilities`, `sleep states`, `sleep status`, `suspend`,
 * `wake`. Human output follows virsh (`capabilities` prints the XML as `virsh capabilities`).
 */
import {
  BMCS,
  StringEnum,
  Type,
  defineCommand,
  formatKeyValues,
  formatTable,
  type PluginContext,
  type SleepSupport,
} from 'vpmd';
import type { LibvirtCapsSettings } from './config.js';
import type { Documents } from './documents.js';
import type { SleepService } from './sleep-service.js';
import { parseWakeAt } from './wake-time.js';
import { formatMac, parseMac, sendMagicPacket, wakeThroughBmc, type WakeResult } from './wake.js';

function supportTable(s: SleepSupport): string {
  const table = formatTable(s.targets, [
    { header: 'Target', value: (t) => t.target },
    { header: 'Supported', value: (t) => (t.supported ? 'yes' : 'no') },
    { header: 'logind', value: (t) => t.logind },
    { header: 'Kernel', value: (t) => t.kernel },
  ]);
  const note = s.logindProblem === undefined ? '' : `\nlogind unavailable: ${s.logindProblem}`;
  return `${table}${note}\nDiscovered at ${new Date(s.discoveredAt).toISOString()}`;
}

/** Registers the commands. */
export function registerCommands(
  ctx: PluginContext<LibvirtCapsSettings>,
  service: SleepService,
  docs: Documents,
): void {
  ctx.commands.register(
    defineCommand({
      name: 'capabilities',
      summary: "Host capabilities as libvirt's XML (virsh capabilities), or vpmd's power document with --power",
      privilege: 'Login',
      args: Type.Object({
        power: Type.Optional(Type.Boolean({ description: "vpmd's power document (JSON) instead of libvirt's XML" })),
      }),
      handler: async (args) =>
        args.power === true ? { power: await docs.powerDocument() } : { xml: await docs.libvirtXml() },
      human: (r) => (r.xml !== undefined ? r.xml : `${JSON.stringify(r.power, null, 2)}\n`),
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'sleep states',
      summary: 'Host sleep states: what logind offers (as libvirt decides) and what the kernel offers',
      privilege: 'Login',
      args: Type.Object({
        refresh: Type.Optional(Type.Boolean({ description: 'ask logind and the kernel again now' })),
      }),
      handler: (args) => (args.refresh === true ? service.discover('request') : service.support()),
      human: supportTable,
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'sleep status',
      summary: 'Host power state, the suspend in flight and the last one recorded',
      privilege: 'Login',
      args: Type.Object({}),
      handler: async () => ({
        state: service.state(),
        delayInhibitor: service.holdsLock(),
        inFlight: service.inFlight() ?? null,
        last: (await service.lastRecord()) ?? null,
      }),
      human: (r) => {
        const t = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());
        const last = r.last;
        return formatKeyValues([
          ['State', r.state],
          ['Delay inhibitor', r.delayInhibitor ? 'held' : 'not held'],
          [
            'In flight',
            r.inFlight === null ? 'none' : `${r.inFlight.target} by ${r.inFlight.requestedBy} (${r.inFlight.state})`,
          ],
          [
            'Last operation',
            last === null
              ? 'none'
              : `${last.target} by ${last.requestedBy}: ${last.state}${last.detail === undefined ? '' : ` (${last.detail})`}`,
          ],
          ...(last === null
            ? []
            : ([
                ['Requested', t(last.requestedAt)],
                ['Went down', t(last.wentDownAt)],
                ['Resumed', t(last.resumedAt)],
                ['Wake alarm', last.wakeAlarm === undefined ? '-' : new Date(last.wakeAlarm * 1000).toISOString()],
              ] as [string, string][])),
        ]);
      },
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'suspend',
      summary: 'Suspend the host through logind, optionally waking it with the RTC alarm',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        target: StringEnum(['mem', 'disk', 'hybrid', 'suspend-then-hibernate'] as const, {
          description: 'sleep state',
        }),
        'wake-after': Type.Optional(
          Type.Integer({ description: `seconds until the RTC wakes the host (at least ${ctx.config.minWakeSeconds})` }),
        ),
        'wake-at': Type.Optional(
          Type.String({ description: 'time the RTC wakes the host: epoch seconds or ISO 8601 with a zone' }),
        ),
        'dry-run': Type.Optional(Type.Boolean({ description: 'show what would happen, change nothing' })),
      }),
      positional: ['target'],
      handler: async (args, inv) => {
        const wakeAt = args['wake-at'] === undefined ? undefined : parseWakeAt(args['wake-at']);
        return service.suspend(
          {
            target: args.target,
            ...(args['wake-after'] === undefined ? {} : { wakeAfterSeconds: args['wake-after'] }),
            ...(wakeAt === undefined ? {} : { wakeAt }),
            dryRun: args['dry-run'] === true,
          },
          inv.principal,
          `vpmctl suspend ${args.target}`,
        );
      },
      human: (r) =>
        [
          r.dryRun ? `Would suspend the host (${r.target}):` : `Host suspend (${r.target}) requested:`,
          ...r.steps.map((s) => `  - ${s}`),
          ...(r.wakeAlarm === undefined ? [] : [`Wake alarm: ${new Date(r.wakeAlarm * 1000).toISOString()}`]),
        ].join('\n'),
    }),
  );
  ctx.commands.register(
    defineCommand({
      name: 'wake',
      summary: 'Wake a managed host: Wake-on-LAN to a MAC, or IPMI chassis power-on for a BMC target',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        target: Type.String({ description: 'MAC address (aa:bb:cc:dd:ee:ff) or BMC target name' }),
        broadcast: Type.Optional(
          Type.String({ description: `magic packet destination (default ${ctx.config.wakeOnLan.broadcast})` }),
        ),
        port: Type.Optional(
          Type.Integer({ minimum: 1, maximum: 65535, description: `UDP port (default ${ctx.config.wakeOnLan.port})` }),
        ),
      }),
      positional: ['target'],
      handler: async (args, inv): Promise<WakeResult> => {
        const mac = parseMac(args.target);
        if (mac === undefined) return wakeThroughBmc(ctx.capabilities.find(BMCS), args.target, inv.principal);
        const dest = {
          address: args.broadcast ?? ctx.config.wakeOnLan.broadcast,
          port: args.port ?? ctx.config.wakeOnLan.port,
          bindAddress: ctx.access.bindAddress(),
        };
        const bytes = await sendMagicPacket(mac, dest);
        return {
          method: 'wake-on-lan',
          target: formatMac(mac),
          detail: `${bytes}-byte magic packet sent to ${dest.address}:${dest.port} from ${dest.bindAddress}`,
        };
      },
      human: (r) => `${r.method === 'ipmi' ? 'IPMI' : 'Wake-on-LAN'} ${r.target}: ${r.detail}`,
    }),
  );
}
