/**
 * How the simulated kernel handles writes to idle-state, powercap, sleep and RTC files.
 * Reproduced behaviours:
 * - `cpuN/cpuidle/stateK/disable`: any unsigned number (non-zero disables), EINVAL otherwise;
 *   `cpuidle/current_governor`: one of `available_governors`;
 * - powercap `constraint_K_power_limit_uw` / `_time_window_us`: unsigned numbers; `enabled`:
 *   0 or 1; `energy_uj` and every other attribute: EACCES (read-only);
 * - `/sys/power/state`: a listed state suspends the host (recorded in the marker; it resumes at
 *   the pending RTC alarm, or at once without one); `mem_sleep` and `disk`: a listed option
 *   becomes the bracketed one; anything else EINVAL;
 * - RTC `wakealarm`: epoch seconds, `+N` (from now) or `+=N` (extend the pending alarm, EINVAL
 *   without one); a future time while an alarm is pending gives EBUSY (write 0 first); a time
 *   not in the future (such as 0) clears the alarm; an alarm in the past reads as empty.
 */
import { SIM_POWERCAP_DIR } from './build-platform-tree.js';
import { SIM_CPU_DIR } from './build-cpu-tree.js';
import { parseBool01, parseUnsigned, words, type WriteContext, type WriteRule } from './kernel-write-context.js';

/** Options of a bracketed choice file, and the selected one. */
export function parseChoice(text: string | undefined): { options: string[]; selected?: string } {
  let selected: string | undefined;
  const options = words(text).map((w) => {
    const m = /^\[(.*)\]$/.exec(w);
    if (m?.[1] === undefined) return w;
    selected = m[1];
    return m[1];
  });
  return selected === undefined ? { options } : { options, selected };
}

function writeChoice(ctx: WriteContext, path: string, value: string): void {
  const v = value.trim();
  const { options } = parseChoice(ctx.tree.files.get(path));
  if (!options.includes(v)) ctx.reject('EINVAL', `options: ${options.join(' ')}`);
  ctx.set(path, options.map((o) => (o === v ? `[${o}]` : o)).join(' '));
}

/** The pending alarm in epoch seconds, undefined when none is (or it already fired). */
export function pendingAlarm(
  ctx: Pick<WriteContext, 'tree' | 'nowMs'>,
  path = 'sys/class/rtc/rtc0/wakealarm',
): number | undefined {
  const text = ctx.tree.files.get(path) ?? '';
  const alarm = text === '' ? undefined : Number(text);
  return alarm !== undefined && alarm > Math.floor(ctx.nowMs() / 1000) ? alarm : undefined;
}

function writeWakeAlarm(ctx: WriteContext, path: string, value: string): void {
  const m = /^(\+=?)?(\d+)$/.exec(value.trim());
  if (m === null) ctx.reject('EINVAL', 'expected epoch seconds, +SECONDS or +=SECONDS');
  const nowS = Math.floor(ctx.nowMs() / 1000);
  const push = m[1] === '+=';
  let alarm = Number(m[2]) + (m[1] === '+' ? nowS : 0);
  if (alarm > nowS || push) {
    const pending = pendingAlarm(ctx, path);
    if (pending !== undefined) {
      if (!push) ctx.reject('EBUSY', `an alarm is already set for ${pending}: write 0 first`);
      alarm += pending;
    } else if (push) {
      ctx.reject('EINVAL', '+= extends a pending alarm and none is set');
    }
    ctx.set(path, String(alarm));
  } else {
    ctx.set(path, '');
  }
}

/** Write rules for idle states, powercap, sleep and the RTC. */
export const PLATFORM_WRITE_RULES: readonly WriteRule[] = [
  {
    pattern: new RegExp(`^${SIM_CPU_DIR}/cpu\\d+/cpuidle/state\\d+/disable$`),
    apply: (ctx, m, value) => ctx.set(m[0], parseUnsigned(ctx, value, '0 to enable or 1 to disable') === 0 ? '0' : '1'),
  },
  {
    pattern: new RegExp(`^${SIM_CPU_DIR}/cpuidle/current_governor$`),
    apply(ctx, m, value) {
      const v = value.trim();
      const available = words(ctx.tree.files.get(`${SIM_CPU_DIR}/cpuidle/available_governors`));
      if (!available.includes(v)) ctx.reject('EINVAL', `available: ${available.join(' ')}`);
      ctx.set(m[0], v);
      ctx.set(`${SIM_CPU_DIR}/cpuidle/current_governor_ro`, v);
    },
  },
  {
    pattern: new RegExp(
      `^${SIM_POWERCAP_DIR}/[\\w-]+(?::\\d+)*/(constraint_\\d+_(?:power_limit_uw|time_window_us)|enabled)$`,
    ),
    apply(ctx, m, value) {
      if (m[1] === 'enabled') ctx.set(m[0], parseBool01(ctx, value));
      else
        ctx.set(
          m[0],
          String(parseUnsigned(ctx, value, m[1]?.endsWith('_uw') === true ? 'a power in µW' : 'a time in µs')),
        );
    },
  },
  {
    pattern: /^sys\/power\/state$/,
    apply(ctx, m, value) {
      const v = value.trim();
      const states = words(ctx.tree.files.get(m[0]));
      if (!states.includes(v)) ctx.reject('EINVAL', `states: ${states.join(' ') || 'none'}`);
      ctx.sleep(v);
    },
  },
  {
    pattern: /^sys\/power\/(mem_sleep|disk)$/,
    apply: (ctx, m, value) => writeChoice(ctx, m[0], value),
  },
  {
    pattern: /^sys\/class\/rtc\/rtc\d+\/wakealarm$/,
    apply: (ctx, m, value) => writeWakeAlarm(ctx, m[0], value),
  },
  {
    pattern: new RegExp(`^${SIM_CPU_DIR}/cpu\\d+/online$`),
    apply: (ctx) => ctx.reject('EACCES', 'CPU hotplug is not simulated'),
  },
];
