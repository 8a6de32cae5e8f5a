/**
 * vpmd's enterprise MIB (mibs/VPMD-MIB.txt, under enterprise 99999): sleep-state capabilities
 * and a suspend-with-wake-time SET (host-sleep capability), per-pCPU current and requested
 * frequency with the host's policy bounds (cpufreq + guest-channels capability), and per-VM
 * guest channel statistics. A subtree whose capability is absent serves nothing.
 */
import {
  VpmdError,
  type GuestChannels,
  type HostModel,
  type HostSleepControl,
  type Principal,
  type SleepTarget,
  type SuspendOutcome,
} from 'vpmd';
import { TAG } from '../../codec/ber.js';
import { ERR, V, type SnmpValue } from '../../codec/pdu.js';
import type { MibEntry, MibSource, Writable } from '../mib-index.js';

/** vpmdMIB: enterprises.99999. */
export const VPMD = [1, 3, 6, 1, 4, 1, 99999];
/** vpmdAgent, our sysObjectID. */
export const VPMD_AGENT_ID = [...VPMD, 6, 1];
/** vpmdSleep group. */
export const VPMD_SLEEP = [...VPMD, 1, 1];
/** vpmdSleepTargetEntry. */
export const VPMD_SLEEP_ENTRY = [...VPMD_SLEEP, 1, 1];
/** vpmdCpuFreqEntry. */
export const VPMD_CPU_ENTRY = [...VPMD, 1, 2, 1, 1];
/** vpmdGuestEntry. */
export const VPMD_GUEST_ENTRY = [...VPMD, 1, 3, 1, 1];
/** Objects carried in notifications. */
export const VPMD_NOTIF_OBJECTS = [...VPMD, 1, 4];
/** vpmdNotifications (trap OIDs are this plus n). */
export const VPMD_NOTIFICATIONS = [...VPMD, 0];

/** Sleep targets in MIB order (vpmdSleepTargetIndex / vpmdSuspendTarget values). */
export const SLEEP_TARGETS: readonly SleepTarget[] = ['mem', 'disk', 'hybrid', 'suspend-then-hibernate'];
/** vpmdHostPowerState values. */
export const POWER_STATE_VALUE = { on: 1, suspending: 2, suspended: 3, resuming: 4 } as const;

/** What the VPMD-MIB source reads and calls. */
export interface VpmdInputs {
  readonly host: HostModel;
  readonly sleep: () => HostSleepControl | undefined;
  readonly guests: () => GuestChannels | undefined;
  /** Wait this long for a suspend to be refused before answering the SET (it then runs on). */
  readonly suspendAckMs: number;
  readonly log: (msg: string, detail: Record<string, unknown>) => void;
}

function uintWritable(max: number, commit: (v: number, by: Principal) => Promise<void>): Writable {
  return {
    check: (v: SnmpValue) =>
      v.tag !== TAG.Gauge32 && v.tag !== TAG.Integer
        ? ERR.wrongType
        : v.value < 0 || v.value > max
          ? ERR.wrongValue
          : ERR.noError,
    commit: (v, by) => commit(Number(v.value), by),
  };
}

function enumWritable(allowed: readonly number[], commit: (v: number, by: Principal) => Promise<void>): Writable {
  return {
    check: (v: SnmpValue) =>
      v.tag !== TAG.Integer ? ERR.wrongType : allowed.includes(v.value) ? ERR.noError : ERR.wrongValue,
    commit: (v, by) => commit(Number(v.value), by),
  };
}

/** The VPMD-MIB source; keeps the pending suspend parameters set by rw users. */
export class VpmdMib {
  private target = 1;
  private wakeAfter = 0;
  private lastResult = 'none';

  constructor(private readonly inp: VpmdInputs) {}

  /** The MIB source. */
  source(): MibSource {
    return {
      name: 'VPMD-MIB',
      objects: [
        ...[2, 3, 4].map((n) => [...VPMD_SLEEP_ENTRY, n]),
        ...[2, 3, 4, 5, 6].map((n) => [...VPMD_SLEEP, n]),
        ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => [...VPMD_CPU_ENTRY, n]),
        ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => [...VPMD_GUEST_ENTRY, n]),
      ],
      entries: async () => [...(await this.sleepEntries()), ...(await this.cpuEntries()), ...this.guestEntries()],
    };
  }

  private async sleepEntries(): Promise<MibEntry[]> {
    const sleep = this.inp.sleep();
    if (!sleep) return [];
    const support = await sleep.support();
    const out: MibEntry[] = [];
    for (const [i, name] of SLEEP_TARGETS.entries()) {
      const t = support.targets.find((x) => x.target === name);
      if (!t) continue;
      out.push(
        { oid: [...VPMD_SLEEP_ENTRY, 2, i + 1], value: V.str(name) },
        { oid: [...VPMD_SLEEP_ENTRY, 3, i + 1], value: V.int(t.supported ? 1 : 2) },
        { oid: [...VPMD_SLEEP_ENTRY, 4, i + 1], value: V.str(`logind ${t.logind}; ${t.kernel}`) },
      );
    }
    out.push(
      { oid: [...VPMD_SLEEP, 2, 0], value: V.int(POWER_STATE_VALUE[sleep.state()]) },
      {
        oid: [...VPMD_SLEEP, 3, 0],
        value: V.int(this.target),
        write: enumWritable([1, 2, 3, 4], (v) => {
          this.target = v;
          return Promise.resolve();
        }),
      },
      {
        oid: [...VPMD_SLEEP, 4, 0],
        value: V.gauge(this.wakeAfter),
        write: uintWritable(31_536_000, (v) => {
          this.wakeAfter = v;
          return Promise.resolve();
        }),
      },
      {
        oid: [...VPMD_SLEEP, 5, 0],
        value: V.int(1),
        write: enumWritable([1, 2], (v, by) => (v === 2 ? this.suspend(sleep, by) : Promise.resolve())),
      },
      { oid: [...VPMD_SLEEP, 6, 0], value: V.str(this.lastResult) },
    );
    return out;
  }

  /** Starts a suspend; a refusal within `suspendAckMs` fails the SET, a later outcome is recorded. */
  private async suspend(sleep: HostSleepControl, by: Principal): Promise<void> {
    const target = SLEEP_TARGETS[this.target - 1] ?? 'mem';
    const req = this.wakeAfter > 0 ? { target, wakeAfterSeconds: this.wakeAfter } : { target };
    this.lastResult = `requested ${target} by ${by.name} at ${new Date().toISOString()}`;
    const run = sleep.suspend(req, by).then(
      (o: SuspendOutcome) => {
        this.lastResult = `${o.target} done${o.wakeAlarm !== undefined ? `, wake alarm ${o.wakeAlarm}` : ''}`;
      },
      (e: unknown) => {
        this.lastResult = `failed: ${e instanceof Error ? e.message : String(e)}`;
        throw e;
      },
    );
    const early = await Promise.race([
      run.then(() => undefined),
      new Promise<'pending'>((r) => setTimeout(() => r('pending'), this.inp.suspendAckMs)),
    ]).catch((e: unknown) => {
      throw e instanceof VpmdError ? e : new VpmdError('E_INTERNAL', String(e));
    });
    if (early === 'pending') {
      run.catch((e: unknown) =>
        this.inp.log('suspend requested over SNMP failed', { err: e instanceof Error ? e.message : String(e) }),
      );
    }
  }

  private async cpuEntries(): Promise<MibEntry[]> {
    const policies = await this.inp.host.cpufreq.policies().catch(() => []);
    const guests = this.inp.guests();
    const freqs = new Map((guests ? await guests.frequencies().catch(() => []) : []).map((f) => [f.pcpu, f]));
    const bounds = new Map((guests?.bounds() ?? []).map((b) => [b.pcpu, b]));
    const out: MibEntry[] = [];
    for (const p of policies) {
      for (const cpu of p.affectedCpus) {
        const f = freqs.get(cpu);
        const b = bounds.get(cpu);
        const c = (n: number): number[] => [...VPMD_CPU_ENTRY, n, cpu];
        out.push(
          { oid: c(2), value: V.gauge(p.scalingCurKHz ?? 0) },
          { oid: c(3), value: V.gauge(f?.requestedKHz ?? 0) },
          { oid: c(4), value: V.gauge(f?.appliedKHz ?? 0) },
          { oid: c(5), value: V.gauge(b?.minKHz ?? 0) },
          { oid: c(6), value: V.gauge(b?.maxKHz ?? 0) },
          { oid: c(7), value: V.str((f?.vms ?? []).join(',')) },
          { oid: c(8), value: V.gauge(p.cpuinfoMinKHz) },
          { oid: c(9), value: V.gauge(p.cpuinfoMaxKHz) },
        );
      }
    }
    return out;
  }

  private guestEntries(): MibEntry[] {
    const guests = this.inp.guests();
    if (!guests) return [];
    const stats = [...guests.stats()].sort((a, b) => a.vm.localeCompare(b.vm));
    return stats.flatMap((s, i) => {
      const c = (n: number): number[] => [...VPMD_GUEST_ENTRY, n, i + 1];
      return [
        { oid: c(2), value: V.str(s.vm) },
        { oid: c(3), value: V.gauge(s.channels) },
        { oid: c(4), value: V.gauge(s.connected) },
        { oid: c(5), value: V.counter32(s.accepted) },
        { oid: c(6), value: V.counter32(s.clamped) },
        { oid: c(7), value: V.counter32(s.limited) },
        { oid: c(8), value: V.counter32(s.refused) },
        // A provider that does not count denials leaves the column empty rather than a false 0.
        ...(s.denied !== undefined ? [{ oid: c(9), value: V.counter32(s.denied) }] : []),
      ];
    });
  }
}
