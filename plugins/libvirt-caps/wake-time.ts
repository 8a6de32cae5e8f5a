/**
 * Validation of the RTC wake time of a suspend request, and parsing of `--wake-at`.
 *
 * The bound: a wake time must be at least `minWakeSeconds` (default 60, like libvirt's
 * nodesuspend) ahead. Between the request and the moment the RTC is armed in the sleeping
 * host, logind waits for delay inhibitors (up to InhibitDelayMaxSec, 5 s by default), services
 * stop, and for hibernation the image is written (tens of seconds on a large host). An alarm
 * that fires before the host is down is lost, and the host then sleeps until someone wakes it.
 */
import { VpmdError, type SuspendRequest } from 'vpmd';

/** Parses `--wake-at`: epoch seconds, or an ISO 8601 time with a zone; returns ms since epoch. */
export function parseWakeAt(text: string): number {
  const t = text.trim();
  if (/^\d{9,11}$/.test(t)) return Number(t) * 1000;
  // A time without a zone would depend on the agent's TZ: require one.
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new VpmdError(
    'E_LIBVIRT_CAPS_WAKE_TIME',
    `--wake-at ${JSON.stringify(text)}: expected epoch seconds or an ISO 8601 time with a zone, e.g. 2026-11-21T23:00:00Z`,
    {
      value: text,
    },
  );
}

/**
 * The RTC alarm (epoch seconds) a request asks for, or undefined without one.
 * @throws VpmdError E_COMMAND_USAGE for both options at once; E_LIBVIRT_CAPS_WAKE_TIME for a past,
 *   too near or malformed time.
 */
export function resolveWakeTime(req: SuspendRequest, minWakeSeconds: number, nowMs: number): number | undefined {
  if (req.wakeAfterSeconds !== undefined && req.wakeAt !== undefined) {
    throw new VpmdError('E_COMMAND_USAGE', 'give either --wake-after or --wake-at, not both', {});
  }
  if (req.wakeAfterSeconds !== undefined) {
    const s = req.wakeAfterSeconds;
    if (!Number.isInteger(s) || s <= 0) {
      throw new VpmdError(
        'E_LIBVIRT_CAPS_WAKE_TIME',
        `--wake-after ${s}: must be a whole number of seconds greater than 0`,
        { wakeAfterSeconds: s },
      );
    }
    if (s < minWakeSeconds) {
      throw new VpmdError(
        'E_LIBVIRT_CAPS_WAKE_TIME',
        `Suspend duration is too short, must be at least ${minWakeSeconds} seconds (--wake-after ${s})`,
        {
          wakeAfterSeconds: s,
          minimum: minWakeSeconds,
        },
      );
    }
    return Math.ceil(nowMs / 1000) + s;
  }
  if (req.wakeAt !== undefined) {
    const at = req.wakeAt;
    if (!Number.isFinite(at))
      throw new VpmdError('E_LIBVIRT_CAPS_WAKE_TIME', `wake time ${at} is not a time`, { wakeAt: String(at) });
    const iso = new Date(at).toISOString();
    if (at <= nowMs) {
      throw new VpmdError(
        'E_LIBVIRT_CAPS_WAKE_TIME',
        `wake time ${iso} is in the past (now ${new Date(nowMs).toISOString()})`,
        { wakeAt: iso },
      );
    }
    if (at - nowMs < minWakeSeconds * 1000) {
      throw new VpmdError(
        'E_LIBVIRT_CAPS_WAKE_TIME',
        `wake time ${iso} is only ${Math.floor((at - nowMs) / 1000)} s ahead; it must be at least ${minWakeSeconds} seconds from now`,
        {
          wakeAt: iso,
          minimum: minWakeSeconds,
        },
      );
    }
    return Math.ceil(at / 1000);
  }
  return undefined;
}
