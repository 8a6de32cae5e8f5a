/**
 * The RAPL side of the host cap: per package zone, the long-term (PL1) and short-term (PL2)
 * power limits and time windows under `/sys/class/powercap/<zone>/constraint_K_*`. Every write
 * is read back: the kernel rounds limits to the RAPL power unit (1/8 W on most parts) and time
 * windows to 2^Y·(1+Z/4) units, so a read-back within the rounding counts as applied; anything
 * further off "did not stick" (firmware clobbered or clamped it), and EACCES/EPERM means the
 * limit is locked (`MSR_PKG_POWER_LIMIT` lock bit; the kernel refuses the write).
 */
import { isVpmdError, type HostModel } from 'vpmd';

const POWERCAP = 'sys/class/powercap';

/** One package zone's limits, raw kernel units (µW, µs). */
export interface PackageLimits {
  readonly longUw: number;
  readonly longWindowUs: number;
  readonly shortUw?: number;
  readonly shortWindowUs?: number;
}

/** A package zone and its constraint numbers. */
export interface PackageZone {
  readonly zone: string;
  readonly key: string;
  readonly long: number;
  readonly short?: number;
  /** `constraint_K_max_power_uw` of the long-term constraint, when readable and non-zero. */
  readonly maxUw?: number;
}

/** How one apply went. */
export interface ApplyOutcome {
  /** Files written (empty when everything already matched: the apply was idempotent). */
  readonly wrote: readonly string[];
  readonly health: 'ok' | 'not-sticking' | 'locked';
  readonly detail?: string;
}

/** Whether two raw values agree within the kernel's rounding. */
export function sameLimit(a: number | undefined, b: number | undefined, kind: 'power' | 'window'): boolean {
  if (a === undefined || b === undefined) return a === b;
  const tolerance = kind === 'power' ? Math.max(125_000, 0.002 * b) : Math.max(1_000, 0.25 * b);
  return Math.abs(a - b) <= tolerance;
}

/** The RAPL limits of the host's packages. */
export class RaplCap {
  constructor(private readonly host: HostModel) {}

  /** The top-level package zones that have a long-term constraint (sub-zones are not capped). */
  async packages(): Promise<PackageZone[]> {
    const domains = await this.host.rapl.domains();
    return domains
      .filter((d) => d.parent === undefined && d.name.startsWith('package'))
      .flatMap((d) => {
        const long = d.constraints.find((c) => c.name === 'long_term');
        if (long === undefined) return [];
        const short = d.constraints.find((c) => c.name === 'short_term');
        return [
          {
            zone: d.id,
            key: d.key,
            long: long.index,
            ...(short === undefined ? {} : { short: short.index }),
            ...(long.maxPowerUw !== undefined && long.maxPowerUw > 0 ? { maxUw: long.maxPowerUw } : {}),
          },
        ];
      });
  }

  private file(zone: string, k: number, what: 'power_limit_uw' | 'time_window_us'): string {
    return `${POWERCAP}/${zone}/constraint_${k}_${what}`;
  }

  private async readInt(path: string): Promise<number | undefined> {
    try {
      const n = Number((await this.host.backend.read(path)).trim());
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** The zone's limits now. */
  async read(z: PackageZone): Promise<PackageLimits> {
    const [longUw, longWindowUs, shortUw, shortWindowUs] = await Promise.all([
      this.readInt(this.file(z.zone, z.long, 'power_limit_uw')),
      this.readInt(this.file(z.zone, z.long, 'time_window_us')),
      z.short === undefined ? undefined : this.readInt(this.file(z.zone, z.short, 'power_limit_uw')),
      z.short === undefined ? undefined : this.readInt(this.file(z.zone, z.short, 'time_window_us')),
    ]);
    return {
      longUw: longUw ?? 0,
      longWindowUs: longWindowUs ?? 0,
      ...(shortUw === undefined ? {} : { shortUw }),
      ...(shortWindowUs === undefined ? {} : { shortWindowUs }),
    };
  }

  /** Writes what differs from `want`, reads it back and says whether it held. */
  async apply(z: PackageZone, want: PackageLimits): Promise<ApplyOutcome> {
    const now = await this.read(z);
    const plan: [string, number][] = [];
    const add = (k: number | undefined, what: 'power_limit_uw' | 'time_window_us', v?: number, cur?: number): void => {
      if (k === undefined || v === undefined) return;
      if (!sameLimit(cur, v, what === 'power_limit_uw' ? 'power' : 'window'))
        plan.push([this.file(z.zone, k, what), v]);
    };
    // Windows first: a lower limit with the old, longer window would be averaged too slowly.
    add(z.long, 'time_window_us', want.longWindowUs, now.longWindowUs);
    add(z.short, 'time_window_us', want.shortWindowUs, now.shortWindowUs);
    add(z.long, 'power_limit_uw', want.longUw, now.longUw);
    add(z.short, 'power_limit_uw', want.shortUw, now.shortUw);
    const wrote: string[] = [];
    for (const [path, value] of plan) {
      try {
        await this.host.backend.write(path, String(Math.round(value)));
        wrote.push(path);
      } catch (e) {
        const text = e instanceof Error ? e.message : String(e);
        const locked = isVpmdError(e) && /EACCES|EPERM|permission|locked/i.test(`${text} ${JSON.stringify(e.details)}`);
        return {
          wrote,
          health: locked ? 'locked' : 'not-sticking',
          detail: `${locked ? 'locked by firmware' : 'write refused'}: ${path}: ${text}`,
        };
      }
    }
    if (wrote.length === 0) return { wrote, health: 'ok' };
    const back = await this.read(z);
    const off: string[] = [];
    if (!sameLimit(back.longUw, want.longUw, 'power')) off.push(`PL1 ${back.longUw} µW (wanted ${want.longUw})`);
    if (want.shortUw !== undefined && !sameLimit(back.shortUw, want.shortUw, 'power'))
      off.push(`PL2 ${back.shortUw ?? '?'} µW (wanted ${want.shortUw})`);
    return off.length === 0
      ? { wrote, health: 'ok' }
      : { wrote, health: 'not-sticking', detail: `${z.zone}: read back ${off.join(', ')}` };
  }
}
