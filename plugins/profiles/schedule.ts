/**
 * Time-of-day schedules: which profile a pool should run at an instant, in the schedule's time
 * zone (daylight saving included, through Intl), and the dwell time that keeps a pool on a
 * profile for at least so long after a switch.
 */
import type { Schedule } from './config.js';

/** Minutes since local midnight in `timeZone` at `epochMs`. */
export function localMinutes(epochMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(epochMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

/** True when `timeZone` is a zone Intl knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function minutesOf(at: string): number {
  const [h, m] = at.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

function localDate(epochMs: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(epochMs),
  );
}

/** The switch in force at `epochMs`, and a key naming that occurrence (local date and time). */
export function scheduledSlot(s: Schedule, epochMs: number): { profile: string; key: string } {
  const zone = s.timeZone ?? 'UTC';
  const now = localMinutes(epochMs, zone);
  const sorted = [...s.switches].sort((a, b) => minutesOf(a.at) - minutesOf(b.at));
  let pick: { at: string; profile: string } | undefined;
  for (const sw of sorted) if (minutesOf(sw.at) <= now) pick = sw;
  // Before the first switch of the day, yesterday's last one is in force.
  const yesterday = pick === undefined;
  pick ??= sorted[sorted.length - 1] as { at: string; profile: string };
  const day = localDate(yesterday ? epochMs - 86_400_000 : epochMs, zone);
  return { profile: pick.profile, key: `${day} ${pick.at}` };
}

/** The profile the schedule names at `epochMs`: the last switch at or before the local time (wrapping to yesterday's last). */
export function scheduledProfile(s: Schedule, epochMs: number): string {
  return scheduledSlot(s, epochMs).profile;
}

/** Follows one schedule: tells when the pool should switch, honouring the dwell time. */
export class ScheduleFollower {
  private lastSwitchAt: number | undefined;
  /** The boundary last acted on: an operator's choice after it holds until the next one. */
  private handledKey: string | undefined;

  constructor(readonly schedule: Schedule) {}

  /**
   * The profile to switch to at `now`, or undefined to stay: due once per boundary, when the
   * pool does not already run it and the dwell time since the last switch has passed (a switch
   * held back by the dwell happens as soon as the dwell ends).
   */
  due(now: number, current: string | undefined): string | undefined {
    const slot = scheduledSlot(this.schedule, now);
    if (slot.key === this.handledKey) return undefined;
    if (slot.profile === current) {
      this.handledKey = slot.key;
      return undefined;
    }
    const dwellMs = (this.schedule.dwellSeconds ?? 0) * 1000;
    if (this.lastSwitchAt !== undefined && now - this.lastSwitchAt < dwellMs) return undefined;
    return slot.profile;
  }

  /**
   * Records a switch at `now`: by the schedule (the boundary is handled), by an operator (it
   * holds until the next boundary), or at start (which starts no dwell).
   */
  switched(now: number, how: 'schedule' | 'operator' | 'start'): void {
    if (how !== 'start') this.lastSwitchAt = now;
    if (how !== 'operator') this.handledKey = scheduledSlot(this.schedule, now).key;
  }
}
