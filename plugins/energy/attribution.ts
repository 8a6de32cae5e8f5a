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

/**
 * Each thread's owner as a dense index, and the share of its time on each of its pins (by the
 * pins' busy time: exact for a single-CPU pin). Computed once per interval; the zones then sum
 * over typed arrays instead of per-CPU maps keyed by owner (500 VMs × 4 vCPUs every second).
 */
interface Placement {
  readonly owners: string[];
  /** Owner index of thread i. */
  readonly ownerOf: Int32Array;
  /** CPUs of thread i (empty when its time goes nowhere: no usable pin or no time). */
  readonly cpusOf: ReadonlyArray<readonly number[]>;
  /** µs of thread i on each of `cpusOf[i]`, same order. */
  readonly usOf: ReadonlyArray<readonly number[]>;
  /** VM µs per CPU. */
  readonly vmUs: Float64Array;
}

function place(input: IntervalInput): Placement {
  const n = input.busyUs.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const index = new Map<string, number>();
  const owners: string[] = [];
  const threads = input.threads;
  const ownerOf = new Int32Array(threads.length);
  const cpusOf: Array<readonly number[]> = new Array<readonly number[]>(threads.length);
  const usOf: number[][] = new Array<number[]>(threads.length);
  const vmUs = new Float64Array(n);
  for (let i = 0; i < threads.length; i++) {
    const t = threads[i] as ThreadInput;
    let o = index.get(t.owner);
    if (o === undefined) {
      o = owners.length;
      owners.push(t.owner);
      index.set(t.owner, o);
    }
    ownerOf[i] = o;
    cpusOf[i] = [];
    usOf[i] = [];
    if (!(t.deltaUs > 0)) continue;
    const pins = t.pins.length === 0 ? all : t.pins.every((c) => c < n) ? t.pins : t.pins.filter((c) => c < n);
    if (pins.length === 0) continue;
    let busy = 0;
    for (const c of pins) busy += input.busyUs[c] ?? 0;
    const us: number[] = [];
    for (const c of pins) {
      const share = busy > 0 ? (input.busyUs[c] ?? 0) / busy : 1 / pins.length;
      us.push(t.deltaUs * share);
      vmUs[c] = (vmUs[c] as number) + t.deltaUs * share;
    }
    cpusOf[i] = pins;
    usOf[i] = us;
  }
  return { owners, ownerOf, cpusOf, usOf, vmUs };
}

/** Splits every zone's interval energy. */
export function splitInterval(input: IntervalInput): ZoneSplitDelta[] {
  const placed = place(input);
  const { owners, ownerOf, cpusOf, usOf, vmUs } = placed;
  const n = input.busyUs.length;
  // Kepler's ratios are node-wide: every CPU, every thread wherever it ran.
  let nodeBusyUs = 0;
  for (const b of input.busyUs) nodeBusyUs += b;
  const nodeUsage = Math.min(1, nodeBusyUs / Math.max(1, n * input.dtS * 1e6));
  const vmTotalUs = new Float64Array(owners.length);
  input.threads.forEach((t, i) => {
    const o = ownerOf[i] as number;
    if (t.deltaUs > 0) vmTotalUs[o] = (vmTotalUs[o] as number) + t.deltaUs;
  });
  const inZone = new Uint8Array(n);
  const vmW = new Float64Array(owners.length);

  return input.zones.map((z) => {
    const totalJ = z.deltaJ ?? 0;
    const vmJ = new Map<string, number>();
    const naiveVmJ = new Map<string, number>();
    if (z.deltaJ === undefined) return { key: z.key, totalJ: 0, idleJ: 0, hostJ: 0, unattributedJ: 0, vmJ, naiveVmJ };
    const active = totalJ * nodeUsage;
    if (nodeBusyUs > 0)
      for (let o = 0; o < owners.length; o++)
        if ((vmTotalUs[o] as number) > 0)
          naiveVmJ.set(owners[o] as string, (active * (vmTotalUs[o] as number)) / nodeBusyUs);
    if (z.spansGap) return { key: z.key, totalJ, idleJ: 0, hostJ: 0, unattributedJ: totalJ, vmJ, naiveVmJ };
    const idleJ = Math.min(totalJ, Math.max(0, z.floorW * input.dtS));
    const dynamicJ = totalJ - idleJ;
    const weight = (c: number): number => (z.weights === undefined ? 1 : (z.weights[c] ?? 1));
    let hostW = 0;
    let sumW = 0;
    inZone.fill(0);
    for (const c of z.cpus) {
      if (c < 0 || c >= n) continue;
      inZone[c] = 1;
      const w = weight(c);
      // VM threads can be sampled a moment apart from /proc/stat: never below zero for the host.
      const hostUs = Math.max(0, (input.busyUs[c] ?? 0) - (vmUs[c] as number));
      hostW += hostUs * w;
      sumW += (hostUs + (vmUs[c] as number)) * w;
    }
    if (!(sumW > 0) || dynamicJ <= 0)
      return { key: z.key, totalJ, idleJ, hostJ: 0, unattributedJ: dynamicJ, vmJ, naiveVmJ };
    vmW.fill(0);
    const seen = new Uint8Array(owners.length);
    for (let i = 0; i < cpusOf.length; i++) {
      const cpus = cpusOf[i] as readonly number[];
      const us = usOf[i] as readonly number[];
      const o = ownerOf[i] as number;
      for (let k = 0; k < cpus.length; k++) {
        const c = cpus[k] as number;
        if (inZone[c] === 1 && (us[k] as number) > 0) {
          vmW[o] = (vmW[o] as number) + (us[k] as number) * weight(c);
          seen[o] = 1;
        }
      }
    }
    for (let o = 0; o < owners.length; o++)
      if (seen[o] === 1) vmJ.set(owners[o] as string, (dynamicJ * (vmW[o] as number)) / sumW);
    return { key: z.key, totalJ, idleJ, hostJ: (dynamicJ * hostW) / sumW, unattributedJ: 0, vmJ, naiveVmJ };
  });
}
