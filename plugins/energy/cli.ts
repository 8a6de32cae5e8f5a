/** `vpmctl vm energy [VM] [--json]`: per-VM energy with a sparkline of the last hour, and the host's split. */
import {
  Type,
  VpmdError,
  defineCommand,
  formatTable,
  type EnergyAccounting,
  type EnergyPoint,
  type HostEnergy,
  type PluginContext,
  type VmEnergy,
} from 'vpmd';

const BARS = '▁▂▃▄▅▆▇█';
const HOUR_MS = 3_600_000;

/** A VM's figures with its recent history. */
export interface VmEnergyReport extends VmEnergy {
  readonly history: readonly EnergyPoint[];
}

/** What `vm energy` returns. */
export interface EnergyReport {
  readonly host: HostEnergy;
  readonly vms: readonly VmEnergyReport[];
}

/** A sparkline of `points` over the hour before `nowMs`, `width` columns (blank where nothing was sampled). */
export function sparkline(points: readonly EnergyPoint[], nowMs: number, width = 30): string {
  const sums = new Array<number>(width).fill(0);
  const counts = new Array<number>(width).fill(0);
  const start = nowMs - HOUR_MS;
  for (const p of points) {
    const i = Math.floor(((p.timestamp - start) / HOUR_MS) * width);
    if (i < 0 || i >= width) continue;
    sums[i] = (sums[i] ?? 0) + p.watts;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const means = sums.map((s, i) => ((counts[i] ?? 0) > 0 ? s / (counts[i] as number) : undefined));
  const max = Math.max(0, ...means.map((m) => m ?? 0));
  return means
    .map((m) => {
      if (m === undefined) return ' ';
      const level = max > 0 ? Math.round((m / max) * (BARS.length - 1)) : 0;
      return BARS[Math.min(BARS.length - 1, Math.max(0, level))];
    })
    .join('');
}

const watts = (w: number | null | undefined): string => (w === null || w === undefined ? '-' : w.toFixed(1));
const kj = (j: number | undefined): string => (j === undefined ? '-' : (j / 1000).toFixed(2));

function human(r: EnergyReport): string {
  const now = r.host.sampledAt;
  const table =
    r.vms.length === 0
      ? 'No VM accounted yet.'
      : formatTable(r.vms, [
          { header: 'UUID', value: (v) => v.uuid },
          { header: 'Name', value: (v) => v.name },
          { header: 'State', value: (v) => (v.running ? 'running' : 'stopped') },
          { header: 'Power W', value: (v) => watts(v.rapl.watts), align: 'right' },
          { header: 'Energy kJ', value: (v) => kj(v.rapl.joules), align: 'right' },
          { header: 'Wall W', value: (v) => watts(v.wall?.watts), align: 'right' },
          { header: 'Wall kJ', value: (v) => kj(v.wall?.joules), align: 'right' },
          { header: 'Last hour', value: (v) => sparkline(v.history, now) },
        ]);
  const zones = r.host.zones.map((z) => {
    const floor = r.host.idleFloor[z.zone];
    return (
      `  ${z.zone}: total ${kj(z.totalJoules)} kJ = idle ${kj(z.idleJoules)} + VMs ${kj(z.vmJoules)} + host ` +
      `${kj(z.hostJoules)} + unattributed ${kj(z.unattributedJoules)}; idle floor ${watts(floor?.watts)} W (${floor?.method ?? 'unknown'})`
    );
  });
  const wall = r.host.wall;
  const lines = [
    table,
    '',
    `Model: ${r.vms[0]?.rapl.model ?? 'rapl-cputime-freq-v1'} (RAPL, frequency-weighted CPU time; docs/energy.md)`,
    ...zones,
    wall === undefined
      ? '  wall power: none configured (plugins.energy.wallPower)'
      : `  wall power ${watts(wall.watts)} W from ${wall.origin}; wall − RAPL ${watts(wall.divergenceWatts)} W`,
  ];
  return lines.join('\n');
}

/** Registers `vm energy`. */
export function registerCommands(ctx: PluginContext, energy: EnergyAccounting, now: () => number): void {
  ctx.commands.register(
    defineCommand({
      name: 'vm energy',
      summary: 'per-VM energy (RAPL and wall-scaled) with a sparkline of the last hour, and the host split',
      privilege: 'Login',
      args: Type.Object({
        vm: Type.Optional(Type.String({ minLength: 1, description: 'UUID or name (default: all)' })),
      }),
      positional: ['vm'],
      handler: (a): EnergyReport => {
        const since = now() - HOUR_MS;
        let list = energy.vms();
        if (a.vm !== undefined) {
          const one = energy.vm(a.vm);
          if (one === undefined)
            throw new VpmdError('E_VM_ENERGY_NOT_FOUND', `no VM '${a.vm}' has an energy account (vpmctl vm energy)`, {
              vm: a.vm,
            });
          list = [one];
        }
        return { host: energy.host(), vms: list.map((v) => ({ ...v, history: energy.history(v.uuid, since) })) };
      },
      human,
    }),
  );
}
