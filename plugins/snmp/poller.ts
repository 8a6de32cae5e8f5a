/**
 * The SNMPv3 poller: each target in `plugins.snmp.targets` on its own schedule, readings into
 * the telemetry store as `snmp/<target>/<metric>`, exponential backoff while a target fails
 * (one failing PDU degrades that target only), and the `vpmctl snmp targets|walk|outlet` commands.
 */
import { Type, VpmdError, defineCommand, formatTable, StringEnum, type PluginContext } from 'vpmd';
import { SnmpClient, type DeviceVarbind } from './snmp-client.js';
import { valueText, parseOid } from './pdu.js';
import {
  EO_AC_ENTRY,
  EO_POWER_ENTRY,
  ENT_SENSOR_ENTRY,
  OUTLET_COMMAND,
  RPDU2_OUTLET_COMMAND,
  customReadings,
  genericReadings,
  rpdu2Oids,
  rpdu2Readings,
  type PolledReading,
} from './poller-profiles.js';
import type { SnmpConfig, TargetConfig } from './config.js';

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

/** Registers `snmp targets`, `snmp walk` and `snmp outlet`. */
export function registerPollerCommands(ctx: PluginContext<SnmpConfig>, poller: Poller): void {
  ctx.commands.register(
    defineCommand({
      name: 'snmp targets',
      summary: 'SNMP devices polled, with their state',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => poller.list(),
      human: (rows) =>
        rows.length === 0
          ? 'no SNMP targets configured (plugins.snmp.targets)'
          : formatTable(rows, [
              { header: 'Target', value: (r) => r.name },
              { header: 'Address', value: (r) => r.address },
              { header: 'Profile', value: (r) => r.profile },
              { header: 'State', value: (r) => r.status },
              { header: 'Readings', value: (r) => String(r.readings) },
              { header: 'Last poll', value: (r) => r.lastPoll ?? '-' },
              { header: 'Error', value: (r) => r.lastError ?? '' },
            ]),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'snmp walk',
      summary: 'Walk a subtree of an SNMP target (like snmpbulkwalk)',
      privilege: 'Login',
      args: Type.Object({
        target: Type.String({ description: 'target name' }),
        oid: Type.String({ description: 'numeric OID, e.g. 1.3.6.1.2.1.1' }),
      }),
      positional: ['target', 'oid'],
      handler: async (a) => {
        let oid: string;
        try {
          oid = parseOid(a.oid).join('.');
        } catch (e) {
          throw new VpmdError('E_COMMAND_USAGE', `snmp walk: ${e instanceof Error ? e.message : String(e)}`, {
            oid: a.oid,
          });
        }
        const { client } = poller.client(a.target);
        return (await client.walk(oid, 10_000)).map((vb) => ({ oid: vb.oid, value: valueText(vb.value) }));
      },
      human: (rows) => rows.map((r) => `.${r.oid} = ${r.value}`).join('\n'),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'snmp outlet',
      summary: 'Switch a PDU outlet on, off or reboot it (APC rPDU2 targets)',
      privilege: 'ConfigureComponents',
      args: Type.Object({
        target: Type.String({ description: 'target name' }),
        outlet: Type.Integer({ minimum: 1, maximum: 96, description: 'outlet number' }),
        action: StringEnum(['on', 'off', 'reboot'] as const),
      }),
      positional: ['target', 'outlet', 'action'],
      handler: async (a, inv) => {
        const { target, client } = poller.client(a.target);
        if (target.profile !== 'apc-rpdu2') {
          throw new VpmdError(
            'E_SNMP_OUTLET',
            `target '${a.target}' has profile ${target.profile}; outlet control needs profile apc-rpdu2`,
            { target: a.target },
          );
        }
        if (target.outlets > 0 && a.outlet > target.outlets) {
          throw new VpmdError(
            'E_SNMP_OUTLET',
            `target '${a.target}' has outlets 1-${target.outlets}; got ${a.outlet}`,
            { target: a.target, outlet: a.outlet },
          );
        }
        await client.setInt(`${RPDU2_OUTLET_COMMAND}.${a.outlet}`, OUTLET_COMMAND[a.action]);
        ctx.access.audit(inv.principal, `snmp outlet ${a.target} ${a.outlet} ${a.action}`, 'ok');
        return { target: a.target, outlet: a.outlet, action: a.action };
      },
      human: (r) => `Outlet ${r.outlet} of ${r.target}: ${r.action} requested`,
    }),
  );
}
