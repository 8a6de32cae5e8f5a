/**
 * One interval's split of each RAPL zone's energy (pure: no I/O, no clock). See docs/energy.md.
 *
 * For a zone covering CPUs C with measured energy E over dt and idle floor F (W):
 * - idle = min(E, F·dt);
 * - the rest, E − F·dt, goes to whatever ran on C, weighted by CPU time × w(f): a VM thread's
 *   time on CPU c (its time spread over its pins by each pin's busy time: exact for a
 *   single-CPU pin), and the host's own processes (the CPU's busy time not used by VM threads);
 *   w(f) is the relative power of a busy CPU at frequency f (`frequency-weight.ts`), 1 for
 *   DRAM;
 * - unattributed: the rest when nothing ran, or when the interval's CPU activity is unknown
 *   (the zone's previous reading was missed, so its energy spans more than this interval).
 * By construction idle + VMs + host + unattributed = E.
 *
 * The same pass computes Kepler's split for comparison: active = E × node CPU usage, and each
 * VM's share of it by its QEMU process's CPU time over the node's busy time.
 */

/** A zone as the split sees it. */
export interface ZoneInput {
  readonly key: string;
  /** CPUs whose activity the zone measures. */
  readonly cpus: readonly number[];
  /** w(f) of each CPU for the interval (index = CPU); undefined: plain CPU time (DRAM). */
  readonly weights: readonly number[] | undefined;
  /** Energy measured over the interval, J (wraps undone); undefined when it could not be read. */
  readonly deltaJ: number | undefined;
  /** True when the previous reading was missed: `deltaJ` spans more than this interval. */
  readonly spansGap: boolean;
  readonly floorW: number;
}

/** A VM's CPU time in the interval. */
export interface ThreadInput {
  readonly owner: string;
  /** CPU time used in the interval, µs. */
  readonly deltaUs: number;
  /** CPUs it may run on (empty = any). */
  readonly pins: readonly number[];
}

/** What one interval measured. */
export interface IntervalInput {
  readonly dtS: number;
  /** Busy time of each CPU in the interval, µs (index = CPU). */
  readonly busyUs: readonly number[];
  readonly zones: readonly ZoneInput[];
  readonly threads: readonly ThreadInput[];
}

/** How one zone's interval energy was split, J. */
export interface ZoneSplitDelta {
  readonly key: string;
  readonly totalJ: number;
  readonly idleJ: number;
  readonly hostJ: number;
  readonly unattributedJ: number;
  /** Per VM owner. */
  readonly vmJ: ReadonlyMap<string, number>;
  /** Kepler's per-VM split of the same energy, for comparison. */
  readonly naiveVmJ: ReadonlyMap<string, number>;
}

function add(map: Map<string, number>, key: string, v: number): void {
  map.set(key, (map.get(key) ?? 0) + v);
}

/** Spreads each thread's time over its pins by the pins' busy time; per CPU, per owner. */
export function placeThreads(input: IntervalInput): Array<Map<string, number>> {
  const n = input.busyUs.length;
  const perCpu: Array<Map<string, number>> = Array.from({ length: n }, () => new Map<string, number>());
  const all = Array.from({ length: n }, (_, i) => i);
  for (const t of input.threads) {
    if (!(t.deltaUs > 0)) continue;
    const pins = t.pins.length === 0 ? all : t.pins.filter((c) => c < n);
    if (pins.length === 0) continue;
    let busy = 0;
    for (const c of pins) busy += input.busyUs[c] ?? 0;
    for (const c of pins) {
      const share = busy > 0 ? (input.busyUs[c] ?? 0) / busy : 1 / pins.length;
      if (share > 0) add(perCpu[c] as Map<string, number>, t.owner, t.deltaUs * share);
    }
  }
  return perCpu;
}

/** Splits every zone's interval energy. */
export function splitInterval(input: IntervalInput): ZoneSplitDelta[] {
  const placed = placeThreads(input);
  // Kepler's ratios are node-wide: every CPU, every thread wherever it ran.
  let nodeBusyUs = 0;
  for (const b of input.busyUs) nodeBusyUs += b;
  const nodeUsage = Math.min(1, nodeBusyUs / Math.max(1, input.busyUs.length * input.dtS * 1e6));
  const vmTotalUs = new Map<string, number>();
  for (const t of input.threads) if (t.deltaUs > 0) add(vmTotalUs, t.owner, t.deltaUs);

  return input.zones.map((z) => {
    const totalJ = z.deltaJ ?? 0;
    const vmJ = new Map<string, number>();
    const naiveVmJ = new Map<string, number>();
    if (z.deltaJ === undefined) return { key: z.key, totalJ: 0, idleJ: 0, hostJ: 0, unattributedJ: 0, vmJ, naiveVmJ };
    const active = totalJ * nodeUsage;
    if (nodeBusyUs > 0) for (const [owner, us] of vmTotalUs) naiveVmJ.set(owner, (active * us) / nodeBusyUs);
    if (z.spansGap) return { key: z.key, totalJ, idleJ: 0, hostJ: 0, unattributedJ: totalJ, vmJ, naiveVmJ };
    const idleJ = Math.min(totalJ, Math.max(0, z.floorW * input.dtS));
    const dynamicJ = totalJ - idleJ;
    let hostW = 0;
    let sumW = 0;
    const vmW = new Map<string, number>();
    for (const c of z.cpus) {
      const w = z.weights === undefined ? 1 : (z.weights[c] ?? 1);
      const busy = input.busyUs[c] ?? 0;
      let vmUs = 0;
      const owners = placed[c];
      if (owners !== undefined)
        for (const [owner, us] of owners) {
          vmUs += us;
          add(vmW, owner, us * w);
        }
      // VM threads can be sampled a moment apart from /proc/stat: never below zero for the host.
      const hostUs = Math.max(0, busy - vmUs);
      hostW += hostUs * w;
      sumW += (hostUs + vmUs) * w;
    }
    if (!(sumW > 0) || dynamicJ <= 0)
      return { key: z.key, totalJ, idleJ, hostJ: 0, unattributedJ: dynamicJ, vmJ, naiveVmJ };
    for (const [owner, w] of vmW) vmJ.set(owner, (dynamicJ * w) / sumW);
    return { key: z.key, totalJ, idleJ, hostJ: (dynamicJ * hostW) / sumW, unattributedJ: 0, vmJ, naiveVmJ };
  });
}
