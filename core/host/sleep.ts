/**
 * The kernel's view of system sleep (`/sys/power/{state,mem_sleep,disk}`). This is what the
 * kernel can do; whether a user may suspend is logind's answer (see the sleep plugin).
 */
import { VpmdError } from '../errors.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { FaultLog, faultsField, type HostFault } from './host-faults.js';
import { attrRaw } from './sysfs-attr.js';
import { fullPath, readOptional, splitWords } from './sysfs-read.js';

const POWER_DIR = 'sys/power';

/** A kernel choice list where the current entry is bracketed (`s2idle [deep]`). */
export interface SleepChoice {
  readonly options: readonly string[];
  /** The bracketed entry, when one is. */
  readonly selected?: string;
}

/** Sleep states the kernel offers. */
export interface SleepStates {
  /** `/sys/power/state`: `freeze`, `standby`, `mem`, `disk`. */
  readonly states: readonly string[];
  /** `/sys/power/mem_sleep`: what `mem` means (`s2idle`, `shallow` = S1, `deep` = S3). */
  readonly memSleep?: SleepChoice;
  /** `/sys/power/disk`: how hibernation ends (`platform`, `shutdown`, `reboot`, `suspend`...). */
  readonly disk?: SleepChoice;
  /** Suspend-to-RAM in the ACPI S3 sense: `mem` offered with `deep` available. */
  readonly s3: boolean;
  /** Hibernation (S4): `disk` offered. */
  readonly s4: boolean;
  /** Suspend-to-idle: `freeze` offered, or `s2idle` in mem_sleep. */
  readonly s2idle: boolean;
  /** Files that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
}

/** Parses a bracketed choice list such as `[platform] shutdown reboot`. */
export function parseSleepChoice(text: string): SleepChoice {
  let selected: string | undefined;
  const options = splitWords(text).map((word) => {
    const m = /^\[(.*)\]$/.exec(word);
    if (m?.[1] === undefined) return word;
    selected = m[1];
    return m[1];
  });
  return selected === undefined ? { options } : { options, selected };
}

/** Reads the sleep states. A VM typically has an empty `state`: nothing is supported. */
export async function readSleepStates(backend: SysfsBackend): Promise<SleepStates> {
  const log = new FaultLog();
  const [state, memSleep, disk] = await Promise.all([
    attrRaw(backend, `${POWER_DIR}/state`, log),
    attrRaw(backend, `${POWER_DIR}/mem_sleep`, log),
    attrRaw(backend, `${POWER_DIR}/disk`, log),
  ]);
  const states = splitWords(state ?? '');
  const mem = memSleep === undefined ? undefined : parseSleepChoice(memSleep);
  const diskChoice = disk === undefined ? undefined : parseSleepChoice(disk);
  // Kernels before 4.10 have no mem_sleep: `mem` then always meant S3.
  const s3 = states.includes('mem') && (mem === undefined || mem.options.includes('deep'));
  return {
    states,
    ...(mem === undefined ? {} : { memSleep: mem }),
    ...(diskChoice === undefined ? {} : { disk: diskChoice }),
    s3,
    s4: states.includes('disk'),
    s2idle: states.includes('freeze') || (mem?.options.includes('s2idle') ?? false),
    ...faultsField(log),
  };
}

async function selectChoice(backend: SysfsBackend, file: string, value: string): Promise<SleepChoice> {
  const text = await readOptional(backend, file);
  if (text === undefined) {
    throw new VpmdError('E_HOST_UNSUPPORTED', `${fullPath(backend, file)} does not exist on this host`, {
      file: fullPath(backend, file),
    });
  }
  const choice = parseSleepChoice(text);
  if (!choice.options.includes(value)) {
    throw new VpmdError(
      'E_HOST_INVALID',
      `${JSON.stringify(value)} is not offered by ${fullPath(backend, file)}; options: ${choice.options.join(' ')}`,
      { file: fullPath(backend, file), value, options: choice.options },
    );
  }
  await backend.write(file, value);
  const after = parseSleepChoice(await backend.read(file));
  if (after.selected !== value) {
    throw new VpmdError(
      'E_HOST_VERIFY',
      `Wrote ${value} to ${fullPath(backend, file)} but ${after.selected ?? 'nothing'} is selected`,
      {
        file: fullPath(backend, file),
        value,
      },
    );
  }
  return after;
}

/**
 * Selects what `mem` means (`s2idle`, `shallow`, `deep`).
 *
 * @throws VpmdError E_HOST_UNSUPPORTED without mem_sleep; E_HOST_INVALID for a mode not offered.
 */
export function setMemSleep(backend: SysfsBackend, mode: string): Promise<SleepChoice> {
  return selectChoice(backend, `${POWER_DIR}/mem_sleep`, mode);
}

/**
 * Selects how hibernation ends (`platform`, `shutdown`, `reboot`, `suspend`, `test_resume`).
 *
 * @throws VpmdError E_HOST_UNSUPPORTED without /sys/power/disk; E_HOST_INVALID for a mode not offered.
 */
export function setDiskMode(backend: SysfsBackend, mode: string): Promise<SleepChoice> {
  return selectChoice(backend, `${POWER_DIR}/disk`, mode);
}
