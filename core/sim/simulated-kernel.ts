/**
 * The simulated kernel: a {@link SysfsBackend} over a generated tree that behaves like Linux
 * where plain files cannot (EINVAL, EBUSY, EACCES, clamping, counters that advance and wrap).
 *
 * Files:
 * - the tree is loaded into memory when the kernel opens (`openSimulatedHost`); every accepted
 *   write is applied in memory and written through to its file before the write returns, so
 *   `cat` on the tree shows current settings and a new kernel opened on the same directory (an
 *   agent restart) sees them; the marker (the simulator's state) follows within 50 ms
 *   (`flush()` writes it at once); changes made to the files behind an open kernel's
 *   back are not seen;
 * - dynamic files (scaling_cur_freq, energy_uj, temperatures, fans, platform power, cpuidle
 *   usage/time, RTC since_epoch) are computed on every read; `sync()` writes them to disk
 *   together with the marker's state;
 * - errors are the same coded errors as {@link RealSysfs}: ENOENT for missing files, EISDIR /
 *   ENOTDIR (E_HOST_IO) for the wrong kind, EACCES for read-only attributes, and EINVAL/EBUSY
 *   as described in `kernel-cpufreq-writes.ts` and `kernel-platform-writes.ts`. A rejected
 *   write changes nothing.
 *
 * Time: the dynamics integrate up to `now() + advanced`, where `now` is injectable (default
 * `Date.now`) and {@link SimulatedKernel.advance} moves simulated time forward. A clock that
 * goes backwards integrates nothing.
 */
import { join, resolve } from 'node:path';
import { VpmdError } from '../errors.js';
import { hostFileError } from '../host/host-errors.js';
import { normalizeBackendPath, sortNaturally, type SysfsBackend } from '../host/sysfs-backend.js';
import { CPUFREQ_WRITE_RULES } from './kernel-cpufreq-writes.js';
import { QOS_UNCORE_WRITE_RULES } from './sim-qos-uncore.js';
import { PLATFORM_WRITE_RULES, parseChoice, pendingAlarm } from './kernel-platform-writes.js';
import type { WriteContext, WriteRule } from './kernel-write-context.js';
import { loadTree } from './sim-disk.js';
import { SimDiskWriter } from './sim-disk-writer.js';
import { advanceDynamics, computePower, lagTemperature, type SimPower } from './sim-physics.js';
import { applyRaplLimits } from './sim-rapl-limit.js';
import { allCpus, type SimProfile } from './sim-profile.js';
import { dynamicPaths, dynamicValue, mayBeDynamic, type SensorContext } from './sim-sensors.js';
import { markerText, readMarker, type SimMarker, type SimSleepRecord, type SimState } from './sim-state.js';
import type { SimTree } from './sim-tree.js';
import { emptyVmState, SimVmLayer } from './sim-vms.js';
import { SimVms } from './sim-vm-control.js';

const RULES = [...CPUFREQ_WRITE_RULES, ...PLATFORM_WRITE_RULES, ...QOS_UNCORE_WRITE_RULES];
const RTC_ALARM = 'sys/class/rtc/rtc0/wakealarm';

/** Options of {@link openSimulatedHost}. */
export interface OpenSimulatedHostOptions {
  /** Clock in epoch ms (default `Date.now`). Tests pass a fixed clock and use `advance()`. */
  readonly now?: () => number;
}

/** A simulated Linux kernel over a generated tree. */
export class SimulatedKernel implements SysfsBackend {
  /** Directory holding the simulated tree. */
  readonly root: string;
  /** The profile the tree was generated from. */
  readonly profile: SimProfile;
  private readonly tree: SimTree;
  private readonly marker: SimMarker;
  private readonly state: SimState;
  private readonly disk: SimDiskWriter;
  private readonly clock: () => number;
  private advancedMs = 0;
  private powerCache: SimPower | undefined;
  /** Symlink resolution cache by the path callers use; cleared when the tree's structure changes. */
  private readonly resolved = new Map<string, { readonly resolved: string; readonly file: string }>();
  private readonly vmLayer: SimVmLayer;
  /** Simulated VMs burning CPU on this host (see `sim-vms.ts`). */
  readonly vms: SimVms;

  private constructor(root: string, tree: SimTree, marker: SimMarker, profile: SimProfile, clock: () => number) {
    this.root = root;
    this.tree = tree;
    this.marker = marker;
    this.state = marker.state;
    this.profile = profile;
    this.clock = clock;
    this.disk = new SimDiskWriter(root, () => markerText({ ...this.marker, state: this.state }));
    if (this.state.clockMs > this.nowMs()) this.state.clockMs = this.nowMs();
    this.vmLayer = new SimVmLayer(profile, (this.state.vms ??= emptyVmState(profile)));
    this.vms = new SimVms(this.vmLayer, {
      before: () => this.tick(),
      after: () => {
        this.vmLayer.applyLoads(this.nowMs(), this.state.loads);
        this.powerCache = undefined;
        this.disk.saveMarker();
      },
      now: () => this.nowMs(),
    });
  }

  /** Opens the simulated host in `dir` (see {@link openSimulatedHost}). */
  static async open(dir: string, options: OpenSimulatedHostOptions = {}): Promise<SimulatedKernel> {
    const root = resolve(dir);
    const { marker, profile } = await readMarker(root);
    const tree = await loadTree(root);
    return new SimulatedKernel(root, tree, marker, profile, options.now ?? Date.now);
  }

  /** Simulated time, epoch ms. */
  nowMs(): number {
    return this.clock() + this.advancedMs;
  }

  /** Moves simulated time forward by `ms`, integrating energy, temperature and idle statistics. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new VpmdError('E_HOST_INVALID', `advance() takes a non-negative number of milliseconds, got ${ms}`, { ms });
    }
    this.advancedMs += ms;
    this.tick();
  }

  /**
   * Sets the load (0..1) of some CPUs or of all of them; it drives frequency (for load-following
   * governors), power, temperature and idle time from now on. While simulated VMs run (or a host
   * load is set through `vms.setHostLoad`), those decide the loads and this has no effect.
   *
   * @throws VpmdError E_HOST_INVALID for a load outside 0..1 or an unknown CPU.
   */
  setLoad(cpus: readonly number[] | 'all', fraction: number): void {
    const list = cpus === 'all' ? allCpus(this.profile) : cpus;
    const bad = list.find((c) => !Number.isInteger(c) || c < 0 || c >= this.state.loads.length);
    if (!(fraction >= 0 && fraction <= 1) || bad !== undefined) {
      throw new VpmdError(
        'E_HOST_INVALID',
        `setLoad() takes a load in 0..1 and CPUs in 0-${this.state.loads.length - 1}, got ${fraction} on ${cpus === 'all' ? 'all' : cpus.join(',')}`,
        { load: fraction, cpus: cpus === 'all' ? 'all' : cpus.join(',') },
      );
    }
    this.tick();
    for (const cpu of list) this.state.loads[cpu] = fraction;
    // With simulated VMs running, their threads (and `vms.setHostLoad`) decide the loads.
    this.vmLayer.applyLoads(this.nowMs(), this.state.loads);
    this.powerCache = undefined;
  }

  /** Current load per CPU. */
  loads(): readonly number[] {
    return [...this.state.loads];
  }

  /** Current power of every domain (W) and frequency of every CPU (kHz). */
  power(): SimPower {
    this.powerCache ??= applyRaplLimits(this.tree, this.profile, computePower(this.tree, this.profile, this.state));
    return this.powerCache;
  }

  /** Recorded suspends (writes to `/sys/power/state`). */
  sleepLog(): readonly SimSleepRecord[] {
    return [...this.state.sleepLog];
  }

  private tick(): void {
    const now = this.nowMs();
    const dt = now - this.state.clockMs;
    if (dt > 0) {
      // VMs (when there are any) set the loads of the step from their threads' demand.
      if (this.vmLayer.applyLoads(this.state.clockMs, this.state.loads)) this.powerCache = undefined;
      const power = this.power();
      advanceDynamics(this.tree, this.profile, this.state, power, dt);
      this.vmLayer.advance(dt, power, this.state.loads);
    }
    this.state.clockMs = now;
  }

  /** The symlink-free root-relative path, and the absolute path named in errors (cached per path asked). */
  private locate(path: string): { resolved: string; file: string } {
    let found = this.resolved.get(path);
    if (found === undefined) {
      const rel = normalizeBackendPath(path);
      found = { resolved: this.tree.resolve(rel), file: rel === '' ? this.root : join(this.root, rel) };
      this.resolved.set(path, found);
    }
    return found;
  }

  private sensorContext(): SensorContext {
    return { tree: this.tree, profile: this.profile, state: this.state, power: this.power(), nowMs: this.nowMs() };
  }

  /** @inheritDoc */
  read(path: string): Promise<string> {
    return settle(() => {
      const { resolved, file } = this.locate(path);
      const vmFile = this.vmFile(resolved);
      if (vmFile !== undefined) return vmFile;
      const kind = this.tree.kind(resolved);
      if (kind === undefined) throw hostFileError({ op: 'read', file, errno: 'ENOENT' });
      if (kind === 'dir') throw hostFileError({ op: 'read', file, errno: 'EISDIR' });
      if (mayBeDynamic(resolved)) {
        this.tick();
        const value = dynamicValue(resolved, this.sensorContext());
        if (value !== undefined) return value;
      }
      return this.tree.files.get(resolved) ?? '';
    });
  }

  /** @inheritDoc */
  write(path: string, value: string): Promise<void> {
    return settle(() => {
      const { resolved, file } = this.locate(path);
      const kind = this.tree.kind(resolved);
      if (kind === undefined) throw hostFileError({ op: 'write', file, errno: 'ENOENT', value });
      if (kind === 'dir') throw hostFileError({ op: 'write', file, errno: 'EISDIR', value });
      this.tick();
      let rule: { of: WriteRule; match: RegExpExecArray } | undefined;
      for (const r of RULES) {
        const match = r.pattern.exec(resolved);
        if (match !== null) {
          rule = { of: r, match };
          break;
        }
      }
      if (rule === undefined)
        throw hostFileError({ op: 'write', file, errno: 'EACCES', value, hint: 'read-only attribute' });
      const changed = new Map<string, string>();
      const restructured: string[] = [];
      const ctx: WriteContext = {
        tree: this.tree,
        profile: this.profile,
        state: this.state,
        nowMs: () => this.nowMs(),
        reject: (errno, hint) => {
          throw hostFileError({ op: 'write', file, errno, value, hint });
        },
        set: (p, v) => void changed.set(p, v),
        restructure: (paths) => void restructured.push(...paths),
        sleep: (state) => this.suspend(state, ctx),
      };
      // Validate against a snapshot of the state: a rejected write must change nothing.
      const before = JSON.stringify(this.state);
      try {
        rule.of.apply(ctx, rule.match, value.endsWith('\n') ? value.slice(0, -1) : value);
      } catch (e) {
        Object.assign(this.state, JSON.parse(before) as SimState);
        throw e;
      }
      for (const [p, v] of changed) this.tree.file(p, v);
      this.powerCache = undefined;
      // Written through before the write returns, so that `cat` shows it (see sim-disk-writer.ts).
      for (const [p, v] of changed) this.disk.writeFile(p, v);
      if (restructured.length > 0) {
        this.resolved.clear();
        for (const p of restructured) this.disk.remove(p);
        this.disk.writeSubtrees(this.tree, restructured);
      }
      this.disk.saveMarker();
    });
  }

  /** @inheritDoc */
  list(dir: string): Promise<string[]> {
    return settle(() => {
      const { resolved, file } = this.locate(dir);
      const vmDir = this.vmLayer.list(resolved);
      if (vmDir !== undefined) return vmDir;
      const kind = this.tree.kind(resolved);
      if (kind === undefined) throw hostFileError({ op: 'list', file, errno: 'ENOENT' });
      if (kind === 'file') throw hostFileError({ op: 'list', file, errno: 'ENOTDIR' });
      return sortNaturally(this.tree.dirs.get(resolved) ?? []);
    });
  }

  /** @inheritDoc */
  exists(path: string): Promise<boolean> {
    return settle(() => {
      const { resolved } = this.locate(path);
      if (this.vmLayer.list(resolved) !== undefined) return true;
      if (resolved.startsWith('proc/') && this.vmFile(resolved) !== undefined) return true;
      return this.tree.kind(resolved) !== undefined;
    });
  }

  /** A simulated VM's file (`proc/stat`, `proc/<pid>/...`, the domains description), integrated up to now. */
  private vmFile(resolved: string): string | undefined {
    if (!resolved.startsWith('proc/') && !resolved.startsWith('run/vpmd-sim/')) return undefined;
    this.tick();
    return this.vmLayer.read(resolved, this.nowMs());
  }

  /** Writes the dynamic values (frequency, energy, temperatures, idle statistics) and the marker to disk. */
  async sync(): Promise<void> {
    this.tick();
    const ctx = this.sensorContext();
    const paths = dynamicPaths(this.tree, this.profile);
    for (const path of paths) {
      const value = dynamicValue(path, ctx);
      if (value !== undefined) this.tree.file(path, value);
    }
    // The tree's value when each slice is written: a kernel write in between may be newer.
    await this.disk.writeMany(paths, (path) => this.tree.files.get(path));
    this.disk.saveMarker();
    await this.disk.flush();
  }

  /** Resolves when every change made so far is on disk. @throws the failure of a deferred write */
  flush(): Promise<void> {
    return this.disk.flush();
  }

  /**
   * The host sleeps: it resumes at the pending RTC alarm (which is consumed), or at once. While
   * asleep the packages draw no power and cool toward ambient; counters stand still.
   */
  private suspend(state: string, ctx: WriteContext): void {
    const at = this.nowMs();
    const alarm = pendingAlarm({ tree: this.tree, nowMs: () => at });
    const modeFile = state === 'mem' ? 'sys/power/mem_sleep' : state === 'disk' ? 'sys/power/disk' : undefined;
    const mode = modeFile === undefined ? undefined : parseChoice(this.tree.files.get(modeFile)).selected;
    const wokeAt = alarm === undefined ? at : alarm * 1000;
    const dtS = (wokeAt - at) / 1000;
    this.state.packageTempC = this.state.packageTempC.map((t) => lagTemperature(this.profile, t, 0, dtS));
    this.advancedMs += wokeAt - at;
    this.state.clockMs = wokeAt;
    if (alarm !== undefined) ctx.set(RTC_ALARM, '');
    const record: SimSleepRecord = {
      state,
      ...(mode === undefined ? {} : { mode }),
      atMs: at,
      wokeAtMs: wokeAt,
      wakeSource: alarm === undefined ? 'none' : 'rtc',
    };
    this.state.sleepLog.push(record);
  }
}

/**
 * Opens a simulated host generated by `generateSimulatedHost`: reads the marker (profile and
 * state) and the tree. Settings written by an earlier kernel on the same directory persist.
 *
 * @throws VpmdError E_HOST_NOT_FOUND when `dir` is not a simulated host; E_HOST_PARSE for a bad marker.
 */
export function openSimulatedHost(dir: string, options: OpenSimulatedHostOptions = {}): Promise<SimulatedKernel> {
  return SimulatedKernel.open(dir, options);
}

/** Runs `fn` now and hands over its result, or what it threw, as a promise (the HostFs contract rejects, never throws). */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}
