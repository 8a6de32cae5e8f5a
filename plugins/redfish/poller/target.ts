/**
 * One Redfish BMC as the poller keeps it: its session, what discovery found (systems, chassis,
 * log services, query support, the SSE URI), the last readings, power state, Reset's allowed
 * values, and its health with backoff. A failure degrades this target only.
 */
import { VpmdError, toVpmdError, type BmcTarget } from 'vpmd';
import type { ResolvedRedfishTarget } from './config.js';
import {
  environmentReadings,
  legacyPowerReadings,
  legacyThermalReadings,
  linkOf,
  members,
  prop,
  powerSupplyReadings,
  sensorReading,
  str,
  thermalMetricsReadings,
  type RfReading,
} from './readings.js';
import type { EventRereads } from './event-routing.js';
import { discover, isFull, type Discovered, type Discovery } from './discovery.js';
import { BmcSession, type RfObject, type SessionTiming } from './session.js';

export type { Discovery } from './discovery.js';

/** Pages of one collection read at most (a 10,000-entry SEL at 100 entries per page). */
const MAX_PAGES = 100;

/** Systems and chassis, as discovery's early step knows them. */
type Found = Pick<Discovery, 'systems' | 'chassis' | 'expand' | 'select'>;

/** A chassis' reading. */
export interface ChassisReading {
  readonly chassis: string;
  readonly reading: RfReading;
}

/** A Control (PowerLimit, ...) as read. */
export interface ControlView {
  readonly chassis: string;
  readonly uri: string;
  readonly type: string | undefined;
  readonly setPoint: number | null;
  readonly units: string | undefined;
  readonly mode: string | undefined;
  readonly min: number | null;
  readonly max: number | null;
}

/** Backoff bounds, ms. */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

/** Properties a Sensor read needs (with $select, when supported). */
const SENSOR_SELECT = 'Id,Name,Reading,ReadingType,ReadingUnits,Status,Thresholds,PhysicalContext';
/** Failures in a row after which a target counts as failed rather than degraded. */
const FAILED_AFTER = 3;

function asNumber(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Per-target poll state. */
export class RedfishTarget {
  readonly session: BmcSession;
  discovery: Discovery | undefined;
  state: BmcTarget['state'] = 'unknown';
  detail: string | undefined;
  lastPoll: number | undefined;
  lastError: VpmdError | undefined;
  failures = 0;
  retryAt = 0;
  polls = 0;
  /** Systems/{id}: PowerState, Reset target and allowed ResetType values. */
  system: { uri: string; powerState?: string; resetTarget?: string; resetTypes: string[] } | undefined;
  readings: ChassisReading[] = [];
  controls: ControlView[] = [];
  /** Resources that failed in the last poll (a partial poll when not empty). */
  partial: string[] = [];
  /** True while the BMC's SSE stream is connected (log polling pauses). */
  streaming = false;
  /** Targeted re-reads made for events. */
  events = 0;
  /** The query options the BMC supports, known from discovery's early step on. */
  private query: Pick<Discovery, 'expand' | 'select'> | undefined;
  /** Bodies the discovery of the poll in progress read (served to that poll only). */
  private fresh = new Map<string, RfObject>();

  constructor(
    readonly target: ResolvedRedfishTarget,
    timing: SessionTiming,
    private readonly backoff: Backoff,
    localAddress?: string,
    private readonly random: () => number = Math.random,
  ) {
    this.session = new BmcSession(target, timing, localAddress);
  }

  /** True while the target waits out its backoff. */
  inBackoff(now = Date.now()): boolean {
    return now < this.retryAt;
  }

  /** The target as `bmcs@1` lists it. */
  describe(): BmcTarget {
    const ps = this.system?.powerState;
    return {
      name: this.target.name,
      protocol: 'redfish',
      host: this.target.host,
      port: this.target.port,
      state: this.state,
      ...(ps === 'On' || ps === 'PoweringOff' ? { power: 'on' as const } : {}),
      ...(ps === 'Off' || ps === 'PoweringOn' ? { power: 'off' as const } : {}),
      ...(this.lastPoll !== undefined ? { lastPoll: this.lastPoll } : {}),
      ...(this.detail !== undefined ? { detail: this.detail } : {}),
    };
  }

  /** GETs a resource, swallowing a failure into `partial` (one resource degrades one reading). */
  async tryGet(uri: string): Promise<RfObject | undefined> {
    try {
      return await this.session.get(uri);
    } catch (e) {
      const err = toVpmdError(e);
      if (err.code === 'E_REDFISH_BMC_AUTH') throw err;
      this.partial.push(`${uri}: ${err.message}`);
      return undefined;
    }
  }

  /** Reads the service root and the collections once (again after a failed poll). */
  async discover(): Promise<Discovery> {
    return (await this.startDiscovery().done).discovery;
  }

  private startDiscovery(): { early: Promise<Found>; done: Promise<Discovered> } {
    const run = discover(this, {
      ...(this.target.chassis !== undefined ? { chassisIds: this.target.chassis } : {}),
      events: this.target.events,
    });
    this.fresh = run.prefetched;
    const done = run.done.then((found) => {
      this.discovery = found.discovery;
      return found;
    });
    return { early: run.early, done };
  }

  /** A body discovery fetched in this same poll, else a GET. */
  private read(uri: string): Promise<RfObject> {
    const got = this.fresh.get(uri);
    return got !== undefined ? Promise.resolve(got) : this.session.get(uri);
  }

  /**
   * One poll: the first system and every chassis at once, and `alongside` (the log reads) as
   * soon as discovery is complete, while the readings go on. @throws when the BMC cannot be read at all
   */
  async poll(alongside?: () => Promise<void>): Promise<void> {
    this.partial = [];
    let early: Promise<Found>;
    let done: Promise<unknown>;
    if (this.discovery !== undefined) {
      this.fresh = new Map();
      early = done = Promise.resolve(this.discovery);
    } else ({ early, done } = this.startDiscovery());
    const readings = early.then((found) => {
      this.query = found;
      return this.readAll(found);
    });
    const side = alongside === undefined ? done : done.then(alongside);
    try {
      await Promise.all([readings, side]);
    } finally {
      // Bodies discovery fetched serve this poll only; later polls read them afresh.
      this.fresh = new Map();
    }
    this.polls++;
  }

  /**
   * Reads again what an event named (the system, some chassis) without a whole poll; the other
   * chassis keep their readings. @throws when the system cannot be read
   */
  async reread(what: EventRereads): Promise<void> {
    const d = this.discovery;
    if (d === undefined) return;
    this.events++;
    const first = d.systems[0];
    const chassis = d.chassis.filter((c) => what.chassis.has(c.id));
    const [, perChassis] = await Promise.all([
      what.system && first !== undefined ? this.readSystem(first) : Promise.resolve(),
      Promise.all(chassis.map((c) => this.readOneChassis(c))),
    ]);
    const redone = new Set(chassis.map((c) => c.id));
    this.readings = [...this.readings.filter((r) => !redone.has(r.chassis)), ...perChassis.flatMap((x) => x.readings)];
    this.controls = [...this.controls.filter((c) => !redone.has(c.chassis)), ...perChassis.flatMap((x) => x.controls)];
  }

  private async readOneChassis(c: {
    readonly id: string;
    readonly uri: string;
  }): Promise<{ readings: ChassisReading[]; controls: ControlView[] }> {
    const body = this.fresh.get(c.uri) ?? (await this.tryGet(c.uri));
    if (body === undefined) return { readings: [], controls: [] };
    const [rs, controls] = await Promise.all([this.readChassis(body), this.readControls(c.id, body)]);
    return { readings: rs.map((r) => ({ chassis: c.id, reading: r })), controls };
  }

  /** Reads the first system and every chassis (known from discovery's early step, logs may still be read). */
  private async readAll({ systems, chassis }: Found): Promise<void> {
    const first = systems[0];
    const [, perChassis] = await Promise.all([
      first !== undefined ? this.readSystem(first) : Promise.resolve(),
      Promise.all(chassis.map((c) => this.readOneChassis(c))),
    ]);
    this.readings = perChassis.flatMap((x) => x.readings);
    this.controls = perChassis.flatMap((x) => x.controls);
  }

  private async readSystem(uri: string): Promise<void> {
    const sys = await this.read(uri);
    const reset = prop(sys, 'Actions', '#ComputerSystem.Reset');
    let types = prop(reset, 'ResetType@Redfish.AllowableValues');
    const info = prop(reset, '@Redfish.ActionInfo');
    if (!Array.isArray(types) && typeof info === 'string') {
      const ai = await this.tryGet(info);
      const params = prop(ai, 'Parameters');
      const p: unknown = Array.isArray(params)
        ? (params as unknown[]).find((x) => prop(x, 'Name') === 'ResetType')
        : undefined;
      types = prop(p, 'AllowableValues');
    }
    const target = prop(reset, 'target');
    const powerState = prop(sys, 'PowerState');
    this.system = {
      uri,
      ...(typeof powerState === 'string' ? { powerState } : {}),
      ...(typeof target === 'string' ? { resetTarget: target } : {}),
      resetTypes: Array.isArray(types) ? types.filter((t): t is string => typeof t === 'string') : [],
    };
  }

  /** The members of a collection, expanded in one request when the BMC can, across its pages. */
  async expandedMembers(uri: string, select?: string): Promise<RfObject[]> {
    const kept = this.fresh.get(uri);
    if (kept !== undefined && members(kept).every(isFull)) {
      this.fresh.delete(uri);
      return this.allPages(kept);
    }
    const d = this.discovery ?? this.query;
    if (d?.expand !== undefined) {
      const c = await this.tryGet(`${uri}?$expand=${d.expand}($levels=1)`);
      const ms = c === undefined ? [] : await this.allPages(c);
      // A BMC that ignored $expand sends bare links: read those one by one.
      if (ms.every(isFull)) return ms;
    }
    const c = await this.tryGet(uri);
    if (c === undefined) return [];
    const all = await this.allPages(c);
    // Some collections (log entries, often) carry their members whole.
    if (all.every(isFull)) return all;
    const links = all.map((m) => linkOf(m)).filter((x): x is string => x !== undefined);
    const q = select !== undefined && d?.select ? `?$select=${select}` : '';
    const got = await Promise.all(links.map((l) => this.tryGet(`${l}${q}`)));
    return got.filter((x): x is RfObject => x !== undefined);
  }

  /**
   * A collection's members with the pages that follow it (`Members@odata.nextLink`, Redfish
   * specification 7.3.3): a large SEL is served a page at a time. At most {@link MAX_PAGES} pages
   * are read, and a link seen before ends the walk (a BMC that links a page to itself).
   */
  private async allPages(first: RfObject): Promise<RfObject[]> {
    const out = members(first);
    const seen = new Set<string>();
    let next = str(first['Members@odata.nextLink']);
    while (next !== undefined && !seen.has(next) && seen.size < MAX_PAGES - 1) {
      seen.add(next);
      const page = await this.tryGet(next);
      if (page === undefined) break;
      out.push(...members(page));
      next = str(page['Members@odata.nextLink']);
    }
    return out;
  }

  /** Modern resources first; the deprecated Power/Thermal only for what they did not give. */
  private async readChassis(ch: RfObject): Promise<RfReading[]> {
    const out: RfReading[] = [];
    const seen = new Map<string, number>();
    const add = (rs: readonly RfReading[]): void => {
      for (const r of rs) {
        const at = seen.get(r.sensor);
        if (at === undefined) {
          seen.set(r.sensor, out.length);
          out.push(r);
        } else if (r.chassisPower) {
          // EnvironmentMetrics.PowerWatts names the Sensor it comes from: that Sensor is the chassis power.
          out[at] = { ...(out[at] as RfReading), chassisPower: true };
        }
      }
    };
    const sensors = linkOf(ch, 'Sensors');
    const env = linkOf(ch, 'EnvironmentMetrics');
    // A vpmd polling a vpmd: the readings it relays from its own Redfish poller are not read back.
    const mine = (s: RfObject): boolean => prop(s, 'Oem', 'Vpmd', 'SourcePlugin') === 'redfish';
    // Read at once, added in order: a Sensor wins over the EnvironmentMetrics excerpt of it.
    const [sensorBodies, envBody] = await Promise.all([
      sensors === undefined ? Promise.resolve([]) : this.expandedMembers(sensors, SENSOR_SELECT),
      env === undefined ? Promise.resolve(undefined) : this.tryGet(env),
    ]);
    add(sensorBodies.filter((s) => !mine(s)).map(sensorReading));
    if (envBody !== undefined) add(environmentReadings(envBody));
    if (sensors === undefined) {
      const thermal = linkOf(ch, 'ThermalSubsystem');
      const tm = thermal === undefined ? undefined : linkOf(await this.tryGet(thermal), 'ThermalMetrics');
      const tmBody = tm === undefined ? undefined : await this.tryGet(tm);
      if (tmBody !== undefined) add(thermalMetricsReadings(tmBody));
      const power = linkOf(ch, 'PowerSubsystem');
      const supplies = power === undefined ? undefined : linkOf(await this.tryGet(power), 'PowerSupplies');
      for (const ps of supplies === undefined ? [] : await this.expandedMembers(supplies)) {
        const metrics = linkOf(ps, 'Metrics');
        const m = metrics === undefined ? undefined : await this.tryGet(metrics);
        if (m !== undefined) add(powerSupplyReadings(str(prop(ps, 'Name')) ?? str(prop(ps, 'Id')) ?? 'PSU', m));
      }
    }
    // Vendors that still fill only the deprecated resources (or fill them better).
    if (!out.some((r) => r.kind === 'power')) {
      const p = linkOf(ch, 'Power');
      const body = p === undefined ? undefined : await this.tryGet(p);
      if (body !== undefined) add(legacyPowerReadings(body));
    }
    if (!out.some((r) => r.kind === 'temperature')) {
      const t = linkOf(ch, 'Thermal');
      const body = t === undefined ? undefined : await this.tryGet(t);
      if (body !== undefined) add(legacyThermalReadings(body));
    }
    return out;
  }

  private async readControls(chassis: string, ch: RfObject): Promise<ControlView[]> {
    const uri = linkOf(ch, 'Controls');
    if (uri === undefined) return [];
    return (await this.expandedMembers(uri)).map((c) => {
      const type = prop(c, 'ControlType');
      const units = prop(c, 'SetPointUnits');
      const mode = prop(c, 'ControlMode');
      return {
        chassis,
        uri: str(prop(c, '@odata.id')) ?? uri,
        type: typeof type === 'string' ? type : undefined,
        setPoint: asNumber(prop(c, 'SetPoint')),
        units: typeof units === 'string' ? units : undefined,
        mode: typeof mode === 'string' ? mode : undefined,
        min: asNumber(prop(c, 'AllowableMin')),
        max: asNumber(prop(c, 'AllowableMax')),
      };
    });
  }

  /** Marks a good poll (degraded when some resources failed). */
  succeeded(now = Date.now()): void {
    this.failures = 0;
    this.retryAt = 0;
    this.lastPoll = now;
    this.lastError = undefined;
    this.state = this.partial.length === 0 ? 'ok' : 'degraded';
    this.detail =
      this.partial.length === 0
        ? undefined
        : `${this.partial.length} resource(s) unread: ${this.partial[0] ?? ''}${this.partial.length > 1 ? ' ...' : ''}`;
  }

  /** Marks a failed poll: backoff doubles (jittered) up to the maximum; discovery is redone next time. */
  failed(e: unknown, now = Date.now()): void {
    this.failures++;
    this.lastError = toVpmdError(e);
    this.discovery = undefined;
    const wait = Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** (this.failures - 1));
    this.retryAt = now + wait * (0.8 + 0.4 * this.random());
    this.state = this.failures >= FAILED_AFTER ? 'failed' : 'degraded';
    this.detail = `${this.lastError.message} (retry in ${Math.round(wait / 1000)} s)`;
  }

  /** Logs out and closes the connections. */
  async close(): Promise<void> {
    await this.session.close();
  }
}

/** The error for an unknown target name. */
export function unknownRedfishTarget(name: string, known: readonly string[]): VpmdError {
  return new VpmdError(
    'E_REDFISH_TARGET',
    known.length === 0
      ? `no Redfish target named '${name}': plugins.redfish.targets is empty`
      : `no Redfish target named '${name}'; configured: ${known.join(', ')}`,
    { target: name, known },
  );
}
