/**
 * The simulator's marker file (`.vpmd-sim.json` at the tree's root): which profile the tree
 * was generated from and the simulator's mutable state that files cannot hold exactly (energy
 * counters with sub-µJ precision, temperatures, per-CPU load, the kernel's frequency requests
 * behind the clamped values shown in `scaling_min/max_freq`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VpmdError } from '../errors.js';
import { SIM_MAX_ENERGY_RANGE_UJ, raplZones } from './build-platform-tree.js';
import { allCpus, type SimProfile, type SimProfileName } from './sim-profile.js';
import { getSimProfile } from './sim-profiles.js';
import type { SimVmState } from './sim-vm-types.js';

/** Marker file name, at the root of a simulated tree. */
export const SIM_MARKER = '.vpmd-sim.json';

/** Marker format identifier. */
export const SIM_MARKER_FORMAT = 'vpmd-sim/1';

/** A kernel frequency request (QoS) behind the effective, clamped limits. */
export interface SimFreqRequest {
  readonly minKHz: number;
  readonly maxKHz: number;
}

/** A write to `/sys/power/state` that the simulator recorded. */
export interface SimSleepRecord {
  /** `freeze`, `mem`, `disk`. */
  readonly state: string;
  /** The `mem_sleep` (for mem) or `disk` (for disk) mode in force. */
  readonly mode?: string;
  readonly atMs: number;
  /** When the host resumed: the RTC alarm, or immediately without one. */
  readonly wokeAtMs: number;
  readonly wakeSource: 'rtc' | 'none';
}

/** Mutable simulator state. */
export interface SimState {
  /** Simulated time (epoch ms) up to which the dynamics have been integrated. */
  clockMs: number;
  /** Load per CPU, 0..1. */
  loads: number[];
  /** Raw RAPL counters per zone id, µJ (fractional, wrapped at max_energy_range_uj). */
  energyUj: Record<string, number>;
  /** Die temperature per package, °C. */
  packageTempC: number[];
  /** cpuidle usage per CPU per state (fractional; files show the integer part). */
  idleUsage: number[][];
  /** cpuidle residency per CPU per state, µs. */
  idleTimeUs: number[][];
  /** Frequency requests per policy id; absent = the hardware range. */
  freqRequests: Record<string, SimFreqRequest>;
  /** EPP a policy had before its governor became performance (restored afterwards). */
  eppSaved: Record<string, string>;
  sleepLog: SimSleepRecord[];
  /** Simulated VMs and their ground truth (see `sim-vms.ts`); absent until the kernel first opens. */
  vms?: SimVmState;
}

/** The marker's content. */
export interface SimMarker {
  readonly format: typeof SIM_MARKER_FORMAT;
  readonly profile: SimProfileName;
  readonly description: string;
  readonly seed: number;
  readonly generatedAtMs: number;
  readonly state: SimState;
}

/** A small deterministic PRNG (mulberry32): same seed, same tree. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The state of a freshly booted host: idle, at its idle temperature, counters at random points. */
export function initialState(p: SimProfile, seed: number, nowMs: number): SimState {
  const rand = seededRandom(seed);
  const energyUj: Record<string, number> = {};
  for (const zone of raplZones(p)) energyUj[zone.id] = Math.floor(rand() * SIM_MAX_ENERGY_RANGE_UJ);
  const idleTempC = p.power.ambientC + p.power.thermalResistance * p.power.packageIdleW;
  const states = p.cpuidle.states.length;
  const idleUsage = allCpus(p).map(() => Array.from({ length: states }, () => Math.floor(rand() * 1e6)));
  return {
    clockMs: nowMs,
    loads: allCpus(p).map(() => 0),
    energyUj,
    packageTempC: Array.from({ length: p.packages }, () => idleTempC),
    idleUsage,
    idleTimeUs: idleUsage.map((row) => row.map((usage) => usage * 1500)),
    freqRequests: {},
    eppSaved: {},
    sleepLog: [],
  };
}

function markerError(file: string, why: string): VpmdError {
  return new VpmdError('E_HOST_PARSE', `Simulated host marker ${file} is invalid: ${why}`, { file });
}

function finiteEntries(v: unknown): Record<string, number> {
  if (typeof v !== 'object' || v === null) return {};
  return Object.fromEntries(
    Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])),
  );
}

function numberArray(v: unknown, length: number): v is number[] {
  return Array.isArray(v) && v.length === length && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/**
 * Reads and checks a marker. Missing state parts (an older or hand-edited marker) are filled
 * from a fresh initial state.
 *
 * @throws VpmdError E_HOST_NOT_FOUND when `dir` holds no marker; E_HOST_PARSE when it is not a
 *   valid marker of a known profile.
 */
export async function readMarker(dir: string): Promise<{ marker: SimMarker; profile: SimProfile }> {
  const file = join(dir, SIM_MARKER);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new VpmdError(
      'E_HOST_NOT_FOUND',
      `${dir} is not a simulated host: ${file} cannot be read`,
      { file },
      { cause: e },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw markerError(file, `not JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw markerError(file, 'not an object');
  const m = raw as Record<string, unknown>;
  if (m.format !== SIM_MARKER_FORMAT)
    throw markerError(file, `format must be ${SIM_MARKER_FORMAT}, got ${JSON.stringify(m.format)}`);
  if (typeof m.profile !== 'string') throw markerError(file, 'profile missing');
  const profile = getSimProfile(m.profile);
  const seed = typeof m.seed === 'number' ? m.seed : 1;
  const generatedAtMs = typeof m.generatedAtMs === 'number' ? m.generatedAtMs : Date.now();
  const fresh = initialState(profile, seed, generatedAtMs);
  const s = (typeof m.state === 'object' && m.state !== null ? m.state : {}) as Partial<
    Record<keyof SimState, unknown>
  >;
  const cpus = fresh.loads.length;
  const rowsOk = (v: unknown): v is number[][] =>
    Array.isArray(v) && v.length === cpus && v.every((r) => numberArray(r, profile.cpuidle.states.length));
  const state: SimState = {
    clockMs: typeof s.clockMs === 'number' ? s.clockMs : fresh.clockMs,
    loads: numberArray(s.loads, cpus) ? s.loads : fresh.loads,
    energyUj: { ...fresh.energyUj, ...finiteEntries(s.energyUj) },
    packageTempC: numberArray(s.packageTempC, profile.packages) ? s.packageTempC : fresh.packageTempC,
    idleUsage: rowsOk(s.idleUsage) ? s.idleUsage : fresh.idleUsage,
    idleTimeUs: rowsOk(s.idleTimeUs) ? s.idleTimeUs : fresh.idleTimeUs,
    freqRequests:
      typeof s.freqRequests === 'object' && s.freqRequests !== null
        ? (s.freqRequests as Record<string, SimFreqRequest>)
        : {},
    eppSaved: typeof s.eppSaved === 'object' && s.eppSaved !== null ? (s.eppSaved as Record<string, string>) : {},
    sleepLog: Array.isArray(s.sleepLog) ? (s.sleepLog as SimSleepRecord[]) : [],
    ...(isVmState(s.vms, cpus) ? { vms: s.vms } : {}),
  };
  return {
    marker: {
      format: SIM_MARKER_FORMAT,
      profile: profile.name,
      description: profile.description,
      seed,
      generatedAtMs,
      state,
    },
    profile,
  };
}

/** A persisted VM layer whose per-CPU arrays fit the profile (anything else starts empty). */
function isVmState(v: unknown, cpus: number): v is SimVmState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Partial<Record<keyof SimVmState, unknown>>;
  return (
    Array.isArray(s.vms) &&
    numberArray(s.hostLoads, cpus) &&
    numberArray(s.cpuBusyUs, cpus) &&
    numberArray(s.cpuIdleUs, cpus) &&
    typeof s.nextPid === 'number' &&
    typeof s.trueJ === 'object' &&
    typeof s.hostTrueJ === 'object'
  );
}

/** A marker as JSON (without the final newline): indented for operators, number arrays on one line. */
export function markerText(marker: SimMarker): string {
  const text = JSON.stringify(marker, null, 2).replace(
    /\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g,
    (_, body: string) => `[${body.split(/,\s*/).join(', ')}]`,
  );
  return text;
}

/** Writes a marker (see {@link markerText}). */
export async function writeMarker(dir: string, marker: SimMarker): Promise<void> {
  await writeFile(join(dir, SIM_MARKER), `${markerText(marker)}\n`);
}
