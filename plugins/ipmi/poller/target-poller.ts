/**
 * One BMC as the poller keeps it: an open session, the SDR cache, the last readings, chassis
 * power, and its health with backoff. A failure degrades this target only; the session is then
 * closed (never leaked) and reopened after an exponential, jittered backoff.
 */
import { VpmdError, toVpmdError, type BmcTarget } from 'vpmd';
import { chassisStatus, dcmiPower } from '../commands/chassis.js';
import { loadSensors, type LoadedSensors, type SdrCache, type SdrCounters } from '../commands/sdr-repository.js';
import { interpretAnswers, readSensors, type SensorReading } from '../commands/sensors.js';
import type { ResolvedTarget } from '../config.js';
import { IpmiSession, type SessionStats, type SessionTiming } from '../session/session.js';
import type { UdpEndpoint } from '../session/udp-endpoint.js';

/** Backoff bounds in ms. */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

/** How often a warm poll re-reads what rarely changes (ms; 0 = every poll). */
export interface PollSchedule {
  readonly sdrCheckMs: number;
  readonly chassisMs: number;
  /** False: polls never read chassis power (only the chassis commands do). Default true. */
  readonly chassis?: boolean;
}

/** What one poll found. */
export interface PollResult {
  readonly readings: readonly SensorReading[];
  /** Chassis power as last read; undefined when it was never read. */
  readonly power: 'on' | 'off' | undefined;
  /** Whole-system input power and where it came from. */
  readonly systemPower?: { readonly watts: number; readonly source: string };
  readonly sdrFromCache: boolean;
  /** The SDR cache the readings follow, sensor for sensor. */
  readonly cache: SdrCache;
  /** Readings lost after their retransmits (unavailable, with a reason): the poll is partial. */
  readonly unread: number;
}

/** Per-target poll state. */
export class TargetPoller {
  private session: IpmiSession | undefined;
  private opening: Promise<IpmiSession> | undefined;
  private readonly closing = new Set<Promise<void>>();
  sdr: SdrCache | undefined;
  state: BmcTarget['state'] = 'unknown';
  detail: string | undefined;
  lastPoll: number | undefined;
  lastError: VpmdError | undefined;
  power: 'on' | 'off' | undefined;
  failures = 0;
  retryAt = 0;
  polls = 0;
  /** Sensors lost in the last poll (a partial poll when above 0). */
  unread = 0;
  /** Failed requests per fault name ('did not answer', 'malformed reply', ...) since start. */
  readonly faults: Record<string, number> = {};
  private dcmi: 'unknown' | 'yes' | 'no' = 'unknown';
  private sdrCheckedAt = 0;
  private stopped = false;
  private chassisReadAt = 0;
  private sdrLoad: Promise<LoadedSensors> | undefined;
  /** The cipher suite this BMC accepted last (tried first at the next login). */
  suiteHint: number | undefined;
  /** Checks of the SDR repository timestamps, full reads of it, Get SDR requests. */
  readonly sdrCounters: SdrCounters = { checks: 0, fullReads: 0, getSdr: 0 };
  /** Called when what is worth keeping across a restart changed: the SDR cache or the suite. */
  onLearned: (() => void) | undefined;

  constructor(
    readonly target: ResolvedTarget,
    private readonly endpoint: UdpEndpoint,
    private readonly timing: SessionTiming,
    private readonly backoff: Backoff,
    private readonly schedule: PollSchedule = { sdrCheckMs: 0, chassisMs: 0 },
    private readonly random: () => number = Math.random,
  ) {}

  /** The open session, opening one if needed (one login at a time per target). */
  async ensureSession(): Promise<IpmiSession> {
    if (this.stopped)
      throw new VpmdError('E_IPMI_SESSION', `the poller of ${this.target.name} is stopped`, {
        target: this.target.name,
      });
    if (this.session?.isOpen) return this.session;
    // The previous session must be closed (Close Session sent, route released) before a new login.
    this.opening ??= Promise.all([...this.closing])
      .then(() => IpmiSession.open(this.endpoint, this.target, this.timing, this.suiteHint))
      .then((opened) => {
        const suite = opened.suite?.id;
        if (suite !== this.suiteHint) {
          this.suiteHint = suite;
          this.onLearned?.();
        }
        return opened;
      })
      .finally(() => {
        this.opening = undefined;
      });
    const s = await this.opening;
    this.session = s;
    return s;
  }

  /**
   * The sensor records, from the cache when the repository is unchanged. One load at a time per
   * target: two concurrent reads would cancel each other's SDR reservations. With `readings`, a
   * full read also reads each sensor as its record arrives (a caller joining a load already
   * under way may get none, and reads them itself).
   */
  loadSdr(s: IpmiSession, readings = false): Promise<LoadedSensors> {
    this.sdrLoad ??= loadSensors(s, this.sdr, this.sdrCounters, readings)
      .then((r) => {
        this.sdr = r.cache;
        if (!r.fromCache) this.onLearned?.();
        return r;
      })
      .finally(() => {
        this.sdrLoad = undefined;
      });
    return this.sdrLoad;
  }

  /** True while the target waits out its backoff. */
  inBackoff(now = Date.now()): boolean {
    return now < this.retryAt;
  }

  /**
   * Runs `fn` on the session. A transport, session or login error closes the session and marks
   * the target; a command the BMC refused (completion code) leaves both as they are.
   */
  async withSession<T>(fn: (s: IpmiSession) => Promise<T>): Promise<T> {
    let s: IpmiSession | undefined;
    try {
      s = await this.ensureSession();
      return await fn(s);
    } catch (e) {
      // A request failed only because another one already failed this session and closed it:
      // that failure is recorded, with its cause; "session closed" would hide it.
      const superseded = s !== undefined && s !== this.session && e instanceof VpmdError && e.code === 'E_IPMI_SESSION';
      if (!superseded && !(e instanceof VpmdError && e.code === 'E_IPMI_COMMAND')) this.fail(e);
      throw toVpmdError(e);
    }
  }

  /** One poll: SDR (cached), every sensor, chassis power, DCMI or power-sensor fallback. */
  async poll(): Promise<PollResult> {
    this.polls++;
    const result = await this.withSession(async (s) => {
      try {
        return await this.pollOn(s);
      } catch (e) {
        if (e instanceof VpmdError && e.code === 'E_IPMI_COMMAND') this.fail(e); // a poll that cannot read is a failed poll
        throw e;
      }
    });
    this.succeed(result.power);
    this.unread = result.unread;
    if (result.unread > 0) {
      // Readings were kept, but not all: degraded, saying what went wrong with the rest.
      const lost = result.readings.filter((r) => r.reason !== undefined);
      for (const r of lost) this.countFault(r.fault);
      const fault = dominant(lost.map((r) => r.fault ?? 'did not answer'));
      this.state = 'degraded';
      this.detail = `partial poll: ${result.unread} of ${result.readings.length} sensor(s) not read (${fault}); e.g. ${lost[0]?.reason ?? ''}`;
    }
    return result;
  }

  private async pollOn(s: IpmiSession): Promise<PollResult> {
    const now = Date.now();
    // A warm poll sends only the readings: the repository timestamps are re-checked every
    // sdrCheckMs (and right after a reading went unavailable), chassis power every chassisMs.
    const checkSdr = this.sdr === undefined || now - this.sdrCheckedAt >= this.schedule.sdrCheckMs;
    const readChassis =
      this.schedule.chassis !== false &&
      (this.power === undefined || now - this.chassisReadAt >= this.schedule.chassisMs);
    // Chassis and DCMI power go out first, with the SDR check or the readings, not a round trip
    // after them.
    const chassisReading = readChassis ? chassisStatus(s) : Promise.resolve(undefined);
    chassisReading.catch(() => undefined); // awaited below, unless the SDR load fails first
    const dcmiReading = this.dcmi !== 'no' ? dcmiPower(s) : undefined;
    dcmiReading?.catch(() => undefined); // awaited below, unless the readings fail first
    const loaded: LoadedSensors = checkSdr
      ? await this.loadSdr(s, true)
      : { cache: this.sdr as SdrCache, fromCache: true };
    const { cache, fromCache } = loaded;
    if (checkSdr) this.sdrCheckedAt = now;
    // A full read of the repository read each sensor as its record came in.
    const reading =
      loaded.answers !== undefined && loaded.answers.length === cache.sensors.length
        ? Promise.resolve().then(() => interpretAnswers(cache.sensors, loaded.answers ?? []))
        : readSensors(s, cache.sensors);
    const [readings, chassis] = await Promise.all([reading, chassisReading]);
    // The session's privilege was raised while the poll read (a refusal fails the poll, as a login would).
    await s.privileged;
    if (chassis !== undefined) this.chassisReadAt = now;
    // A sensor the BMC calls unavailable may be gone from the SDR; a lost request says nothing.
    if (readings.some((r) => r.status === 'unavailable' && r.reason === undefined)) this.sdrCheckedAt = 0;
    let systemPower: PollResult['systemPower'];
    if (dcmiReading !== undefined) {
      const p = await dcmiReading;
      this.dcmi = p === undefined ? 'no' : 'yes';
      if (p !== undefined) systemPower = { watts: p.current, source: 'dcmi' };
    }
    let unread = 0;
    for (const r of readings) if (r.reason !== undefined) unread++;
    return {
      readings,
      unread,
      power: chassis?.power ?? this.power,
      sdrFromCache: fromCache,
      cache,
      ...(systemPower !== undefined ? { systemPower } : {}),
    };
  }

  /** Records a success. */
  succeed(power?: 'on' | 'off'): void {
    this.state = 'ok';
    this.detail = undefined;
    this.lastError = undefined;
    this.failures = 0;
    this.retryAt = 0;
    this.lastPoll = Date.now();
    if (power !== undefined) this.power = power;
  }

  /** Records a failure: closes the session, sets state and the next retry time. */
  fail(e: unknown): void {
    const err = toVpmdError(e);
    this.lastError = err;
    if (err.code === 'E_IPMI_TIMEOUT' || err.code === 'E_IPMI_PROTOCOL') this.countFault(err.details['fault']);
    this.failures++;
    this.lastPoll = Date.now();
    // Wrong credentials or a refused cipher need an operator: 'failed'; the rest is transient.
    this.state =
      err.code === 'E_IPMI_AUTH' || err.code === 'E_IPMI_CIPHER' || err.code === 'E_IPMI_CONFIG'
        ? 'failed'
        : 'degraded';
    this.detail = err.message;
    // Repeated wrong logins lock accounts on many BMCs and leave half-open sessions: wait longest.
    const base =
      this.state === 'failed'
        ? this.backoff.maxMs
        : Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** Math.min(this.failures - 1, 20));
    this.retryAt = Date.now() + base * (0.75 + this.random() * 0.5);
    if (err.code !== 'E_IPMI_COMMAND') this.dropSession();
  }

  private countFault(fault: unknown): void {
    const name = typeof fault === 'string' ? fault : 'did not answer';
    this.faults[name] = (this.faults[name] ?? 0) + 1;
  }

  /** The fault counted most often, or undefined when none was. */
  get dominantFault(): string | undefined {
    let best: string | undefined;
    for (const [name, n] of Object.entries(this.faults))
      if (best === undefined || n > (this.faults[best] ?? 0)) best = name;
    return best;
  }

  /** Closes the session in the background; {@link close} waits for it. */
  dropSession(): void {
    const s = this.session;
    this.session = undefined;
    // The SDR cache is kept: its key is checked again on the next poll.
    if (s === undefined) return;
    const p = s.close().finally(() => this.closing.delete(p));
    this.closing.add(p);
  }

  /** Session counters (sent, retransmits, dropped, longest chain of round trips) of the open session. */
  sessionStats(): (SessionStats & { rounds: number }) | undefined {
    return this.session === undefined ? undefined : { ...this.session.stats, rounds: this.session.rounds };
  }

  /** True when a session is open. */
  get hasSession(): boolean {
    return this.session?.isOpen === true;
  }

  /** Idle time of the open session in ms, or undefined. */
  idleMs(now = Date.now()): number | undefined {
    return this.session?.isOpen ? now - this.session.lastActivity : undefined;
  }

  /**
   * Keeps an idle session alive with Get Device ID (BMCs drop sessions idle for 30-60 s).
   * Returns true when one was sent and answered. A failure closes the session like any other.
   */
  async keepalive(limitMs: number, now = Date.now()): Promise<boolean> {
    const idle = this.idleMs(now);
    if (idle === undefined || idle < limitMs) return false;
    try {
      await this.withSession((s) => s.call(0x06, 0x01));
      return true;
    } catch {
      return false; // withSession marked the target and closed the session; the next poll reopens it
    }
  }

  /** Closes the session (Close Session sent) and waits for any closing in flight. */
  async close(): Promise<void> {
    this.stopped = true;
    const opening = this.opening;
    if (opening !== undefined) {
      try {
        this.session = await opening;
      } catch {
        // the login failed: nothing to close
      }
    }
    this.dropSession();
    await Promise.all([...this.closing]);
  }

  /** The target as the BMC capability lists it. */
  describe(): BmcTarget {
    return {
      name: this.target.name,
      protocol: 'ipmi',
      host: this.target.host,
      port: this.target.port,
      state: this.state,
      ...(this.power !== undefined ? { power: this.power } : {}),
      ...(this.lastPoll !== undefined ? { lastPoll: this.lastPoll } : {}),
      ...(this.detail !== undefined ? { detail: this.detail } : {}),
      ...(this.target.hostBmc === true ? { hostBmc: true } : {}),
    };
  }
}

/** The most frequent of `faults`. */
function dominant(faults: readonly string[]): string {
  const counts = new Map<string, number>();
  let best = faults[0] ?? 'did not answer';
  for (const f of faults) {
    const n = (counts.get(f) ?? 0) + 1;
    counts.set(f, n);
    if (n > (counts.get(best) ?? 0)) best = f;
  }
  return best;
}

/** Error for an unknown target name. */
export function unknownTarget(name: string, known: readonly string[]): VpmdError {
  return new VpmdError(
    'E_IPMI_TARGET',
    `no IPMI target named '${name}' (configured: ${known.length ? known.join(', ') : 'none'})`,
    { target: name },
  );
}
