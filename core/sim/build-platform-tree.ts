/**
 * Builds the platform part of a simulated host: RAPL zones, thermal zones, hwmon chips, sleep
 * states, the RTC and `/dev`. The layout functions tell the simulated kernel which sensor each
 * file stands for; dynamic files get placeholders here and real values when the kernel syncs.
 */
import { createHash } from 'node:crypto';
import type { SimProfile } from './sim-profile.js';
import type { SimTree } from './sim-tree.js';

/** Root-relative powercap directory. */
export const SIM_POWERCAP_DIR = 'sys/class/powercap';

/** RAPL wrap point, as on most Intel and AMD parts (about 22 minutes at 200 W). */
export const SIM_MAX_ENERGY_RANGE_UJ = 262_143_328_850;

/** One RAPL zone of the simulated host. */
export interface SimRaplZone {
  /** `intel-rapl:0`, `intel-rapl:0:0`... */
  readonly id: string;
  readonly name: string;
  readonly package: number;
  readonly kind: 'package' | 'dram' | 'core';
}

/** One thermal zone. */
export interface SimThermalZone {
  readonly index: number;
  readonly type: string;
  /** Package whose temperature it reports; undefined for board zones (`acpitz`). */
  readonly package?: number;
}

/** One hwmon chip. */
export interface SimHwmonChip {
  readonly index: number;
  readonly name: 'coretemp' | 'k10temp' | 'nct6775' | 'power_meter';
  readonly package?: number;
}

/** RAPL zones of a profile (empty without RAPL). */
export function raplZones(p: SimProfile): SimRaplZone[] {
  const rapl = p.platform.rapl;
  if (rapl === undefined) return [];
  return Array.from({ length: p.packages }, (_, pkg) => [
    { id: `${rapl.prefix}:${pkg}`, name: `package-${pkg}`, package: pkg, kind: 'package' as const },
    ...(rapl.subdomain === undefined
      ? []
      : [{ id: `${rapl.prefix}:${pkg}:0`, name: rapl.subdomain, package: pkg, kind: rapl.subdomain }]),
  ]).flat();
}

/** Thermal zones of a profile: package zones repeat per package. */
export function thermalZones(p: SimProfile): SimThermalZone[] {
  const zones: SimThermalZone[] = [];
  for (const type of p.platform.zones) {
    if (type === 'acpitz') zones.push({ index: zones.length, type });
    else for (let pkg = 0; pkg < p.packages; pkg++) zones.push({ index: zones.length, type, package: pkg });
  }
  return zones;
}

/** hwmon chips of a profile: CPU chips per package first, then board chips. */
export function hwmonChips(p: SimProfile): SimHwmonChip[] {
  const chips: SimHwmonChip[] = [];
  const cpuChip = p.platform.cpuHwmon;
  if (cpuChip !== undefined)
    for (let pkg = 0; pkg < p.packages; pkg++) chips.push({ index: chips.length, name: cpuChip, package: pkg });
  for (const name of p.platform.boardHwmon) chips.push({ index: chips.length, name });
  return chips;
}

/** Number of CCD temperature channels of a k10temp chip (one per 4 cores). */
export function ccdCount(p: SimProfile): number {
  return Math.max(1, Math.floor(p.coresPerPackage / 4));
}

function buildRapl(t: SimTree, p: SimProfile): void {
  const rapl = p.platform.rapl;
  if (rapl === undefined) return;
  t.file(`${SIM_POWERCAP_DIR}/${rapl.prefix}/enabled`, 1);
  const tdpUw = p.power.tdpW * 1e6;
  for (const zone of raplZones(p)) {
    const dir = `${SIM_POWERCAP_DIR}/${zone.id}`;
    t.filesIn(dir, { name: zone.name, energy_uj: 0, max_energy_range_uj: SIM_MAX_ENERGY_RANGE_UJ, enabled: 1 });
    if (zone.kind === 'package') {
      t.filesIn(dir, {
        constraint_0_name: 'long_term',
        constraint_0_power_limit_uw: tdpUw,
        constraint_0_time_window_us: 27_983_872,
        constraint_0_max_power_uw: tdpUw,
        constraint_1_name: 'short_term',
        constraint_1_power_limit_uw: Math.round(tdpUw * 1.2),
        constraint_1_time_window_us: 2440,
        constraint_1_max_power_uw: 0,
      });
    } else {
      t.filesIn(dir, {
        constraint_0_name: 'long_term',
        constraint_0_power_limit_uw: 0,
        constraint_0_time_window_us: 976,
        constraint_0_max_power_uw: Math.round((p.power.dramMaxW ?? p.power.tdpW) * 1e6),
      });
    }
  }
}

function buildThermal(t: SimTree, p: SimProfile): void {
  for (const zone of thermalZones(p)) {
    t.filesIn(`sys/class/thermal/thermal_zone${zone.index}`, {
      type: zone.type,
      temp: 0,
      mode: 'enabled',
      policy: 'step_wise',
    });
  }
}

function buildHwmon(t: SimTree, p: SimProfile): void {
  for (const chip of hwmonChips(p)) {
    const dir = `sys/class/hwmon/hwmon${chip.index}`;
    t.file(`${dir}/name`, chip.name);
    if (chip.name === 'coretemp') {
      const channel = (k: number, label: string): void => {
        t.filesIn(dir, {
          [`temp${k}_label`]: label,
          [`temp${k}_input`]: 0,
          [`temp${k}_max`]: 84_000,
          [`temp${k}_crit`]: 100_000,
          [`temp${k}_crit_alarm`]: 0,
        });
      };
      channel(1, `Package id ${chip.package ?? 0}`);
      for (let core = 0; core < p.coresPerPackage; core++) channel(core + 2, `Core ${core}`);
    } else if (chip.name === 'k10temp') {
      t.filesIn(dir, { temp1_label: 'Tctl', temp1_input: 0 });
      for (let ccd = 0; ccd < ccdCount(p); ccd++)
        t.filesIn(dir, { [`temp${ccd + 3}_label`]: `Tccd${ccd + 1}`, [`temp${ccd + 3}_input`]: 0 });
    } else if (chip.name === 'nct6775') {
      t.filesIn(dir, {
        temp1_label: 'SYSTIN',
        temp1_input: 0,
        fan1_input: 0,
        fan2_input: 0,
        in0_input: 0,
        fan1_min: 300,
      });
    } else {
      t.filesIn(dir, { power1_input: 0, power1_average_interval: 1000 });
    }
  }
}

function buildSleepAndRtc(t: SimTree, p: SimProfile): void {
  const sleep = p.platform.sleep;
  t.filesIn('sys/power', { state: sleep.state, wakeup_count: 0, pm_async: 1 });
  if (sleep.memSleep !== undefined) t.file('sys/power/mem_sleep', sleep.memSleep);
  if (sleep.disk !== undefined) t.file('sys/power/disk', sleep.disk);
  t.filesIn('sys/class/rtc/rtc0', {
    name: p.platform.rtcName,
    wakealarm: '',
    since_epoch: 0,
    hctosys: 1,
    max_user_freq: 64,
  });
}

/**
 * SMBIOS identity under `sys/class/dmi/id` (x86 profiles; the Arm profile has none, as many Arm
 * boards). Serial and UUID derive from the profile name, so they are stable across runs; the
 * asset tag is the firmware placeholder most boards ship with.
 */
function buildDmi(t: SimTree, p: SimProfile): void {
  if (p.arch !== 'x86_64') return;
  const digest = createHash('sha256').update(p.name).digest('hex');
  const uuid = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-8${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
  const serial = `SIM${digest.slice(0, 10).toUpperCase()}`;
  t.filesIn(SIM_DMI_DIR, {
    sys_vendor: 'vpmd Simulated Systems',
    product_name: `Simulated ${p.name}`,
    product_serial: serial,
    product_uuid: uuid,
    product_sku: `SIM-${p.packages}S-${p.coresPerPackage}C`,
    product_version: '1.0',
    product_family: 'vpmd simulated hosts',
    bios_vendor: 'vpmd',
    bios_version: 'SIM.1.4.2',
    bios_date: '01/15/2026',
    board_vendor: 'vpmd Simulated Systems',
    board_name: `SIMBOARD-${p.packages}S`,
    board_serial: `${serial}B`,
    chassis_serial: `${serial}C`,
    chassis_asset_tag: 'To Be Filled By O.E.M.',
    chassis_type: 23,
  });
}

/** Root-relative DMI directory of the simulated host. */
export const SIM_DMI_DIR = 'sys/class/dmi/id';

/** Adds RAPL, thermal, hwmon, sleep, RTC, DMI and `/dev` to a tree. */
export function buildPlatformTree(t: SimTree, p: SimProfile): void {
  buildDmi(t, p);
  buildRapl(t, p);
  buildThermal(t, p);
  buildHwmon(t, p);
  buildSleepAndRtc(t, p);
  t.dir('dev');
  // Empty class directories exist on every kernel even without devices.
  t.dir('sys/class/thermal').dir('sys/class/hwmon').dir(SIM_POWERCAP_DIR);
}
