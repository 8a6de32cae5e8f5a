/**
 * The SNMPv3 poller: each target in `plugins.snmp.targets` on its own schedule, readings into
 * the telemetry store as `snmp/<target>/<metric>`, exponential backoff while a target fails
 * (one failing PDU degrades that target only). Its `vpmctl snmp targets|walk|outlet` are in ../cli.ts.
 */
import { VpmdError, type PluginContext } from 'vpmd';
import { SnmpClient, type DeviceVarbind } from './snmp-client.js';
import {
  EO_AC_ENTRY,
  EO_POWER_ENTRY,
  ENT_SENSOR_ENTRY,
  customReadings,
  genericReadings,
  rpdu2Oids,
  rpdu2Readings,
  type PolledReading,
} from './poller-profiles.js';
import type { SnmpConfig, TargetConfig } from '../config.js';

/** A target's state as `snmp targets` shows it. */
export interface TargetState {
  readonly name: string;
  readonly address: string;
  readonly profile: string;
  status: 'ok' | 'degraded' | 'failed' | 'unknown';
  lastPoll?: string;
  lastError?: string;
  failures: number;
  readings: number;
  nextPollSeconds: number;
}

/** Polls `plugins.snmp.targets`. */
export class Poller {
  private readonly clients = new Map<string, SnmpClient>();
  private readonly states = new Map<string, TargetState>();
  private readonly defined = new Set<string>();
  private stopped = false;

  constructor(private readonly ctx: PluginContext<SnmpConfig>) {}

  /** Starts one polling loop per target (the first poll runs at once). */
  start(): void {
    this.stopped = false;
    for (const t of this.ctx.config.targets) {
      this.clients.set(t.name, new SnmpClient(t));
      this.states.set(t.name, {
        name: t.name,
        address: `${t.address}:${t.port}`,
        profile: t.profile,
        status: 'unknown',
        failures: 0,
        readings: 0,
        nextPollSeconds: 0,
      });
      this.ctx.scheduler.after(`poll-${t.name}`, 0, () => this.loop(t));
    }
  }

  /** Stops polling and closes the sessions. */
  stop(): void {
    this.stopped = true;
    for (const c of this.clients.values()) c.close();
  }

  /** Per-target health. */
  health(): Record<string, { status: 'ok' | 'degraded' | 'failed'; detail?: string }> {
    const out: Record<string, { status: 'ok' | 'degraded' | 'failed'; detail?: string }> = {};
    for (const s of this.states.values()) {
      if (s.status === 'unknown') continue;
      out[`snmp:${s.name}`] = { status: s.status, ...(s.lastError ? { detail: s.lastError } : {}) };
    }
    return out;
  }

  /** Every target's state. */
  list(): TargetState[] {
    return [...this.states.values()];
  }

  /** The client of a target. @throws VpmdError E_SNMP_TARGET_UNKNOWN. */
  client(name: string): { target: TargetConfig; client: SnmpClient } {
    const target = this.ctx.config.targets.find((t) => t.name === name);
    const client = this.clients.get(name);
    if (!target || !client) {
      const known = this.ctx.config.targets.map((t) => t.name).join(', ') || 'none configured';
      throw new VpmdError('E_SNMP_TARGET_UNKNOWN', `no SNMP target '${name}' (targets: ${known})`, { target: name });
    }
    return { target, client };
  }

  private async loop(t: TargetConfig): Promise<void> {
    if (this.stopped) return;
    const s = this.states.get(t.name) as TargetState;
    try {
      const n = await this.pollOnce(t);
      s.status = 'ok';
      s.failures = 0;
      s.readings = n;
      delete s.lastError;
    } catch (e) {
      s.failures++;
      s.status = s.failures >= 3 ? 'failed' : 'degraded';
      s.lastError = e instanceof Error ? e.message : String(e);
      this.ctx.log.warn({ target: t.name, failures: s.failures, err: s.lastError }, 'snmp poll failed');
      for (const id of this.defined)
        if (id.startsWith(`snmp/${t.name}/`)) this.ctx.telemetry.record(id, null, { status: 'unavailable' });
    }
    s.lastPoll = new Date().toISOString();
    // Back off exponentially while the target fails, up to maxBackoff.
    const delay = s.failures === 0 ? t.interval : Math.min(t.interval * 2 ** s.failures, t.maxBackoff);
    s.nextPollSeconds = delay;
    if (!this.stopped) this.ctx.scheduler.after(`poll-${t.name}`, delay * 1000, () => this.loop(t));
  }

  /** Polls a target once; returns how many readings were recorded. */
  async pollOnce(t: TargetConfig): Promise<number> {
    const client = this.client(t.name).client;
    let readings: PolledReading[] = [];
    if (t.profile === 'generic') {
      const vbs: DeviceVarbind[] = [];
      for (const root of [EO_POWER_ENTRY, EO_AC_ENTRY, ENT_SENSOR_ENTRY]) vbs.push(...(await client.walk(root)));
      readings = genericReadings(vbs);
    } else if (t.profile === 'apc-rpdu2') {
      readings = rpdu2Readings(await client.get(rpdu2Oids(t.outlets)), t.outlets);
    }
    if (t.oids.length > 0)
      readings.push(...customReadings(t, await client.get(t.oids.map((o) => o.oid.replace(/^\./, '')))));
    for (const r of readings) {
      const id = `snmp/${t.name}/${r.metric}`;
      if (!this.defined.has(id)) {
        this.ctx.telemetry.define({
          id,
          name: `${t.name} ${r.name}`,
          kind: r.kind,
          unit: r.unit,
          source: { plugin: 'snmp', target: t.name, sensor: r.oid },
        });
        this.defined.add(id);
      }
      this.ctx.telemetry.record(id, r.value, r.value === null ? { status: 'unavailable' } : {});
    }
    return readings.length;
  }
}
