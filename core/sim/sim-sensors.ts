/**
 * Values of the simulated host's dynamic files: current frequency, RAPL counters, temperatures,
 * fans, platform power, idle statistics and the RTC clock. The simulated kernel computes them on
 * every read and writes them into the files on `sync()`.
 */
import { SIM_POWERCAP_DIR, hwmonChips, thermalZones } from './build-platform-tree.js';
import { SIM_CPUFREQ_DIR } from './build-cpufreq-tree.js';
import { SIM_CPU_DIR } from './build-cpu-tree.js';
import { policyFrequencyKHz, type SimPower } from './sim-physics.js';
import { allCpus, cpusWhere, type SimProfile } from './sim-profile.js';
import type { SimState } from './sim-state.js';
import type { SimTree } from './sim-tree.js';

/** What a dynamic value is computed from. */
export interface SensorContext {
  readonly tree: SimTree;
  readonly profile: SimProfile;
  readonly state: SimState;
  readonly power: SimPower;
  readonly nowMs: number;
}

const CUR_FREQ = new RegExp(`^${SIM_CPUFREQ_DIR}/policy(\\d+)/scaling_cur_freq$`);
const IDLE_STAT = new RegExp(`^${SIM_CPU_DIR}/cpu(\\d+)/cpuidle/state(\\d+)/(usage|time)$`);
const ENERGY = new RegExp(`^${SIM_POWERCAP_DIR}/([\\w-]+:[\\d:]+)/energy_uj$`);
const ZONE_TEMP = /^sys\/class\/thermal\/thermal_zone(\d+)\/temp$/;
const HWMON_INPUT = /^sys\/class\/hwmon\/hwmon(\d+)\/(temp|fan|power|in)(\d+)_input$/;

/** Rounds °C to a sensor's resolution and returns m°C. */
function milli(tempC: number, stepC: number): number {
  return Math.round(Math.round(tempC / stepC) * stepC * 1000);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

function maxTemp(ctx: SensorContext): number {
  return Math.max(...ctx.state.packageTempC);
}

function loadOf(ctx: SensorContext, cpus: readonly number[]): number {
  return Math.max(0, ...cpus.map((c) => ctx.state.loads[c] ?? 0));
}

function zoneTemp(ctx: SensorContext, index: number): number | undefined {
  const zone = thermalZones(ctx.profile)[index];
  if (zone === undefined) return undefined;
  const p = ctx.profile;
  if (zone.package === undefined) {
    // The ACPI zone sits on the board: it sees a fraction of the packages' rise.
    return milli(p.power.ambientC + 0.3 * (mean(ctx.state.packageTempC) - p.power.ambientC), 0.1);
  }
  const t = ctx.state.packageTempC[zone.package] ?? p.power.ambientC;
  return milli(t, zone.type === 'x86_pkg_temp' ? 1 : 0.001);
}

function hwmonValue(ctx: SensorContext, chipIndex: number, kind: string, channel: number): number | undefined {
  const chip = hwmonChips(ctx.profile)[chipIndex];
  if (chip === undefined) return undefined;
  const p = ctx.profile;
  const pkg = chip.package ?? 0;
  const t = ctx.state.packageTempC[pkg] ?? p.power.ambientC;
  if (chip.name === 'coretemp' && kind === 'temp') {
    if (channel === 1) return milli(t, 1);
    const core = channel - 2;
    return milli(
      t -
        1 +
        4 *
          loadOf(
            ctx,
            cpusWhere(p, (o) => o.package === pkg && o.core === core),
          ),
      1,
    );
  }
  if (chip.name === 'k10temp' && kind === 'temp') {
    if (channel === 1) return milli(t, 0.125);
    const ccd = channel - 3;
    const cores = cpusWhere(p, (o) => o.package === pkg && Math.floor(o.core / 4) === ccd);
    return milli(t - 4 + 3 * mean(cores.map((c) => ctx.state.loads[c] ?? 0)), 0.125);
  }
  if (chip.name === 'nct6775') {
    const hottest = maxTemp(ctx);
    const cpuFan = Math.min(3200, Math.max(600, 600 + 45 * (hottest - 35)));
    if (kind === 'temp') return milli(p.power.ambientC + 0.15 * (hottest - p.power.ambientC), 0.5);
    if (kind === 'fan') return Math.round(channel === 1 ? cpuFan : cpuFan * 0.7);
    if (kind === 'in') return Math.round(650 + (550 * Math.max(...ctx.power.cpuKHz)) / p.cpufreq.maxKHz);
  }
  if (chip.name === 'power_meter' && kind === 'power') {
    const total =
      (p.power.platformW ?? 0) +
      ctx.power.packageW.reduce((a, b) => a + b, 0) +
      ctx.power.dramW.reduce((a, b) => a + b, 0);
    return Math.round(total * 1e6);
  }
  return undefined;
}

const DYNAMIC_SUFFIX = /(?:scaling_cur_freq|usage|time|energy_uj|temp|_input|since_epoch|wakealarm)$/;

/** Cheap test: can `path` be a dynamic file? (Static reads then skip the dynamics.) */
export function mayBeDynamic(path: string): boolean {
  return DYNAMIC_SUFFIX.test(path);
}

/** The value of a dynamic file, or undefined when `path` is not dynamic. */
export function dynamicValue(path: string, ctx: SensorContext): string | undefined {
  if (!mayBeDynamic(path)) return undefined;
  let m = CUR_FREQ.exec(path);
  if (m !== null) {
    const f = policyFrequencyKHz(ctx.tree, ctx.profile, ctx.state, Number(m[1]));
    // The power model's figure: the same, unless a RAPL limit pulled the package down (sim-rapl-limit.ts).
    return f === undefined ? undefined : String(ctx.power.cpuKHz[Number(m[1])] ?? f);
  }
  m = IDLE_STAT.exec(path);
  if (m !== null) {
    const table = m[3] === 'usage' ? ctx.state.idleUsage : ctx.state.idleTimeUs;
    const v = table[Number(m[1])]?.[Number(m[2])];
    return v === undefined ? undefined : String(Math.floor(v));
  }
  m = ENERGY.exec(path);
  if (m !== null) {
    const v = ctx.state.energyUj[m[1] ?? ''];
    return v === undefined ? undefined : String(Math.floor(v));
  }
  m = ZONE_TEMP.exec(path);
  if (m !== null) {
    const v = zoneTemp(ctx, Number(m[1]));
    return v === undefined ? undefined : String(v);
  }
  m = HWMON_INPUT.exec(path);
  if (m !== null) {
    const v = hwmonValue(ctx, Number(m[1]), m[2] ?? '', Number(m[3]));
    return v === undefined ? undefined : String(v);
  }
  if (path === 'sys/class/rtc/rtc0/since_epoch') return String(Math.floor(ctx.nowMs / 1000));
  if (path === 'sys/class/rtc/rtc0/wakealarm') {
    // An alarm in the past has fired: the kernel no longer reports it.
    const alarm = ctx.tree.files.get(path) ?? '';
    return alarm !== '' && Number(alarm) > Math.floor(ctx.nowMs / 1000) ? alarm : '';
  }
  return undefined;
}

/** Every dynamic file present in the tree (what `sync()` writes). */
export function dynamicPaths(tree: SimTree, p: SimProfile): string[] {
  const paths: string[] = [];
  for (const cpu of allCpus(p)) {
    paths.push(`${SIM_CPUFREQ_DIR}/policy${cpu}/scaling_cur_freq`);
    p.cpuidle.states.forEach((_, k) =>
      paths.push(`${SIM_CPU_DIR}/cpu${cpu}/cpuidle/state${k}/usage`, `${SIM_CPU_DIR}/cpu${cpu}/cpuidle/state${k}/time`),
    );
  }
  for (const dir of tree.dirs.get(SIM_POWERCAP_DIR) ?? []) paths.push(`${SIM_POWERCAP_DIR}/${dir}/energy_uj`);
  for (const zone of thermalZones(p)) paths.push(`sys/class/thermal/thermal_zone${zone.index}/temp`);
  for (const chip of hwmonChips(p)) {
    const dir = `sys/class/hwmon/hwmon${chip.index}`;
    for (const name of tree.dirs.get(dir) ?? []) if (HWMON_INPUT.test(`${dir}/${name}`)) paths.push(`${dir}/${name}`);
  }
  paths.push('sys/class/rtc/rtc0/since_epoch', 'sys/class/rtc/rtc0/wakealarm');
  return paths.filter((path) => tree.files.has(path));
}
