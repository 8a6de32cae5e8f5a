import { describe, expect, it, vi } from 'vitest';
import type { MetricDefinition } from '../../../core/contracts/telemetry.js';
import { isVpmdError, type ErrorCode } from '../../../core/errors.js';
import {
  TelemetryStore,
  type TelemetryStatusChange,
  type TelemetryStoreOptions,
} from '../../../core/telemetry/index.js';

const cpuTemp: MetricDefinition = {
  id: 'host/thermal/cpu/temperature',
  name: 'CPU temperature',
  kind: 'temperature',
  unit: 'Cel',
  source: { plugin: 'core', target: 'host', sensor: 'thermal_zone0' },
  thresholds: { upperWarning: 80, upperCritical: 95 },
};

const bmcFan: MetricDefinition = {
  id: 'bmc1/fan/1',
  name: 'Fan 1',
  kind: 'fan',
  unit: 'RPM',
  source: { plugin: 'ipmi', target: 'bmc1', sensor: 'FAN1' },
  thresholds: { lowerCritical: 500, lowerWarning: 1000 },
};

const pduPower: MetricDefinition = {
  id: 'pdu-a/outlet-3/power',
  name: 'Outlet 3 power',
  kind: 'power',
  unit: 'W',
  source: { plugin: 'snmp', target: 'pdu-a', sensor: '1.3.6.1.4.1.318.1.1.26.9.4.3.1.7.3' },
};

const T_BASE = 1_700_000_000_000;

/** A store with a manual clock and a record of its status-change events. */
function setup(opts: TelemetryStoreOptions = {}): {
  store: TelemetryStore;
  events: TelemetryStatusChange[];
  clock: { t: number };
} {
  const clock = { t: 1_000 };
  const events: TelemetryStatusChange[] = [];
  const store = new TelemetryStore({ now: () => clock.t, onStatusChange: (e) => events.push(e), ...opts });
  return { store, events, clock };
}

function expectCode(fn: () => unknown, code: ErrorCode, text?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(isVpmdError(thrown, code), `expected ${code}, got ${String(thrown)}`).toBe(true);
  if (text !== undefined) expect(String((thrown as Error).message)).toContain(text);
}

describe('TelemetryStore recording', () => {
  it('stores readings with the clock time and derives status from thresholds', () => {
    const { store, clock } = setup();
    store.define(cpuTemp, 'core');
    expect(store.latest(cpuTemp.id)).toBeUndefined();

    expect(store.record(cpuTemp.id, 45)).toEqual({ value: 45, status: 'ok', timestamp: 1_000 });
    clock.t = 2_000;
    store.record(cpuTemp.id, 85);
    expect(store.latest(cpuTemp.id)).toEqual({ value: 85, status: 'warning', timestamp: 2_000 });
    expect(store.record(cpuTemp.id, 99).status).toBe('critical');
    expect(store.record(cpuTemp.id, null).status).toBe('unavailable');
  });

  it('uses a status and timestamp given by the source', () => {
    const { store } = setup();
    store.define(cpuTemp, 'core');
    expect(store.record(cpuTemp.id, 20, { status: 'critical', timestamp: 42 })).toEqual({
      value: 20,
      status: 'critical',
      timestamp: 42,
    });
  });

  it('returns frozen readings that callers cannot alter', () => {
    const { store } = setup();
    store.define(cpuTemp, 'core');
    const reading = store.record(cpuTemp.id, 45);
    expect(Object.isFrozen(reading)).toBe(true);
    expect(Object.isFrozen(store.get(cpuTemp.id).source)).toBe(true);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('rejects the value %s', (value) => {
    const { store, events } = setup();
    store.define(cpuTemp, 'core');
    expectCode(() => store.record(cpuTemp.id, value), 'E_TELEMETRY_INVALID', 'finite number or null');
    expect(store.latest(cpuTemp.id)).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('rejects a null value with a status other than unavailable, an unknown status and a bad timestamp', () => {
    const { store } = setup();
    store.define(cpuTemp, 'core');
    expectCode(() => store.record(cpuTemp.id, null, { status: 'ok' }), 'E_TELEMETRY_INVALID', 'null value');
    expectCode(() => store.record(cpuTemp.id, 1, { status: 'fine' as 'ok' }), 'E_TELEMETRY_INVALID', 'unknown status');
    expectCode(() => store.record(cpuTemp.id, 1, { timestamp: Number.NaN }), 'E_TELEMETRY_INVALID', 'timestamp');
    expect(store.history(cpuTemp.id)).toEqual([]);
  });
});

describe('TelemetryStore status changes', () => {
  it('reports the first reading as a change from none, then only actual changes', () => {
    const { store, events, clock } = setup();
    store.define(cpuTemp, 'core');
    for (const [t, value] of [
      [1, 40],
      [2, 50],
      [3, 81],
      [4, 85],
      [5, 96],
      [6, 97],
      [7, 60],
      [8, null],
      [9, null],
    ] as const) {
      clock.t = t;
      store.record(cpuTemp.id, value);
    }
    expect(events).toEqual([
      { metric: cpuTemp.id, from: 'none', to: 'ok', value: 40, timestamp: 1 },
      { metric: cpuTemp.id, from: 'ok', to: 'warning', value: 81, timestamp: 3 },
      { metric: cpuTemp.id, from: 'warning', to: 'critical', value: 96, timestamp: 5 },
      { metric: cpuTemp.id, from: 'critical', to: 'ok', value: 60, timestamp: 7 },
      { metric: cpuTemp.id, from: 'ok', to: 'unavailable', value: null, timestamp: 8 },
    ]);
  });

  it('tracks status per metric', () => {
    const { store, events } = setup();
    store.define(cpuTemp, 'core');
    store.define(bmcFan, 'ipmi');
    store.record(cpuTemp.id, 40);
    store.record(bmcFan.id, 400);
    store.record(cpuTemp.id, 41);
    store.record(bmcFan.id, 450);
    expect(events.map((e) => `${e.metric}:${e.from}->${e.to}`)).toEqual([
      `${cpuTemp.id}:none->ok`,
      `${bmcFan.id}:none->critical`,
    ]);
  });

  it('keeps readings and status across a redefinition by the same owner, using the new thresholds', () => {
    const { store, events } = setup();
    store.define(cpuTemp, 'core');
    store.record(cpuTemp.id, 85); // warning under the old thresholds
    store.define({ ...cpuTemp, name: 'CPU die temperature', thresholds: { upperWarning: 90 } }, 'core');
    expect(store.get(cpuTemp.id)).toMatchObject({ name: 'CPU die temperature', latest: { value: 85 } });
    store.record(cpuTemp.id, 85);
    expect(events.map((e) => e.to)).toEqual(['warning', 'ok']);
  });
});

describe('TelemetryStore history', () => {
  it('keeps at most historySize readings per metric over 100k records', () => {
    const { store } = setup({ historySize: 360 });
    store.define(pduPower, 'snmp');
    store.define(cpuTemp, 'core');
    store.record(cpuTemp.id, 30, { timestamp: 1 });
    for (let i = 0; i < 100_000; i++) store.record(pduPower.id, i % 1000, { timestamp: i });

    const history = store.history(pduPower.id);
    expect(history).toHaveLength(360);
    expect(history[0]).toMatchObject({ timestamp: 100_000 - 360 });
    expect(history.at(-1)).toMatchObject({ timestamp: 99_999 });
    expect(store.history(cpuTemp.id)).toHaveLength(1); // other metrics unaffected
  });

  it('filters by since (inclusive) and keeps the newest readings under a limit, oldest first', () => {
    const { store } = setup({ historySize: 10 });
    store.define(pduPower, 'snmp');
    for (let t = 1; t <= 15; t++) store.record(pduPower.id, t * 10, { timestamp: t * 100 });

    const times = (opts: { since?: number; limit?: number }): number[] =>
      store.history(pduPower.id, opts).map((r) => r.timestamp);
    expect(times({})).toEqual([600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500]);
    expect(times({ since: 1300 })).toEqual([1300, 1400, 1500]);
    expect(times({ since: 1250 })).toEqual([1300, 1400, 1500]);
    expect(times({ limit: 2 })).toEqual([1400, 1500]);
    expect(times({ since: 1000, limit: 3 })).toEqual([1300, 1400, 1500]);
    expect(times({ since: 2000 })).toEqual([]);
    expect(times({ limit: 0 })).toEqual([]);
    expectCode(() => store.history(pduPower.id, { limit: -1 }), 'E_TELEMETRY_INVALID', 'limit');
  });

  it('answers since and limit after wrap-arounds, with unavailable readings and statuses kept', () => {
    const { store } = setup({ historySize: 12 });
    store.define(cpuTemp, 'core');
    const expected: Array<{ value: number | null; status: string; timestamp: number }> = [];
    for (let t = 1; t <= 60; t++) {
      const value = t % 5 === 0 ? null : 70 + (t % 30) + 0.25; // crosses 80 (warning) and 95 (critical)
      expected.push(store.record(cpuTemp.id, value, { timestamp: t * 1_000 }));
    }
    const kept = expected.slice(-12);
    expect(store.history(cpuTemp.id)).toEqual(kept);
    expect(new Set(kept.map((r) => r.status))).toEqual(new Set(['warning', 'critical', 'unavailable']));
    expect(store.history(cpuTemp.id, { since: 55_000 })).toEqual(kept.slice(-6));
    expect(store.history(cpuTemp.id, { since: 50_000, limit: 4 })).toEqual(kept.slice(-4));
    expect(store.history(cpuTemp.id, { limit: 100 })).toEqual(kept);
    expect(store.latest(cpuTemp.id)).toBe(expected.at(-1));
    expect(store.history(cpuTemp.id, { limit: 1 })[0]).toBe(expected.at(-1));
  });

  it('holds a history of warning and critical readings through the ring growth', () => {
    const { store } = setup({ historySize: 100 });
    store.define(cpuTemp, 'core');
    const values = Array.from({ length: 100 }, (_, i) => 60 + i * 0.4); // ok up to 80, warning to 95, critical past it
    for (const [i, v] of values.entries()) store.record(cpuTemp.id, v, { timestamp: T_BASE + i });
    const history = store.history(cpuTemp.id);
    expect(history.map((r) => r.value)).toEqual(values);
    expect(history.map((r) => r.timestamp)).toEqual(values.map((_, i) => T_BASE + i));
    expect(history.filter((r) => r.status === 'warning')).toHaveLength(values.filter((v) => v > 80 && v <= 95).length);
    expect(history.filter((r) => r.status === 'critical')).toHaveLength(values.filter((v) => v > 95).length);
  });

  it('returns a copy that does not change with later readings', () => {
    const { store } = setup();
    store.define(pduPower, 'snmp');
    store.record(pduPower.id, 1);
    const before = store.history(pduPower.id);
    store.record(pduPower.id, 2);
    expect(before).toHaveLength(1);
  });

  it('rejects an invalid history size', () => {
    expectCode(() => new TelemetryStore({ historySize: 0 }), 'E_TELEMETRY_INVALID', 'historySize');
  });
});

describe('TelemetryStore definitions and listing', () => {
  it('refuses a metric id already owned by another plugin', () => {
    const { store } = setup();
    store.define(bmcFan, 'ipmi');
    expectCode(() => store.define(bmcFan, 'snmp'), 'E_TELEMETRY_DUPLICATE', 'already defined by ipmi');
    expect(store.get(bmcFan.id).source.plugin).toBe('ipmi');
  });

  it('lists snapshots sorted by id, filtered by kind, plugin, target and prefix', () => {
    const { store } = setup();
    store.define(pduPower, 'snmp');
    store.define(cpuTemp, 'core');
    store.define(bmcFan, 'ipmi');
    store.define({ ...bmcFan, id: 'bmc1/fan/2', name: 'Fan 2' }, 'ipmi');
    store.record(bmcFan.id, 3000);

    const ids = (filter: Parameters<TelemetryStore['list']>[0]): string[] => store.list(filter).map((m) => m.id);
    expect(ids({})).toEqual(['bmc1/fan/1', 'bmc1/fan/2', 'host/thermal/cpu/temperature', 'pdu-a/outlet-3/power']);
    expect(ids({ kind: 'fan' })).toEqual(['bmc1/fan/1', 'bmc1/fan/2']);
    expect(ids({ plugin: 'snmp' })).toEqual(['pdu-a/outlet-3/power']);
    expect(ids({ target: 'host' })).toEqual(['host/thermal/cpu/temperature']);
    expect(ids({ prefix: 'bmc1/fan/2' })).toEqual(['bmc1/fan/2']);
    expect(ids({ kind: 'fan', target: 'pdu-a' })).toEqual([]);
    expect(store.list({ kind: 'fan' })[0]).toEqual({
      ...bmcFan,
      latest: { value: 3000, status: 'ok', timestamp: 1_000 },
    });
  });

  it('removes every metric of an owner and nothing else', () => {
    const { store } = setup();
    store.define(bmcFan, 'ipmi');
    store.define({ ...bmcFan, id: 'bmc1/fan/2' }, 'ipmi');
    store.define(cpuTemp, 'core');
    store.record(bmcFan.id, 3000);

    expect(store.removeOwner('ipmi')).toBe(2);
    expect(store.list().map((m) => m.id)).toEqual([cpuTemp.id]);
    expectCode(() => store.latest(bmcFan.id), 'E_TELEMETRY_UNKNOWN');
    expect(store.removeOwner('ipmi')).toBe(0);
    store.define(bmcFan, 'snmp'); // the id is free again
    expect(store.latest(bmcFan.id)).toBeUndefined();
  });

  it('reports unknown metrics with E_TELEMETRY_UNKNOWN naming the id', () => {
    const { store } = setup();
    expectCode(() => store.get('no/such'), 'E_TELEMETRY_UNKNOWN', 'no/such');
    expectCode(() => store.record('no/such', 1), 'E_TELEMETRY_UNKNOWN', 'no/such');
    expectCode(() => store.latest('no/such'), 'E_TELEMETRY_UNKNOWN', 'no/such');
    expectCode(() => store.history('no/such'), 'E_TELEMETRY_UNKNOWN', 'no/such');
  });
});

describe('TelemetryStore subscribers', () => {
  it('calls subscribers with every reading until they unsubscribe', () => {
    const { store } = setup();
    store.define(cpuTemp, 'core');
    const seen: Array<[string, number | null]> = [];
    const unsubscribe = store.subscribe((id, reading) => seen.push([id, reading.value]));
    store.record(cpuTemp.id, 40);
    store.record(cpuTemp.id, 40);
    unsubscribe();
    unsubscribe(); // idempotent
    store.record(cpuTemp.id, 41);
    expect(seen).toEqual([
      [cpuTemp.id, 40],
      [cpuTemp.id, 40],
    ]);
  });

  it('still stores the reading and notifies the others when a listener throws, then reports it', () => {
    const { store } = setup({
      onStatusChange: () => {
        throw new Error('bus down');
      },
    });
    store.define(cpuTemp, 'core');
    const other = vi.fn();
    store.subscribe(() => {
      throw new Error('subscriber bug');
    });
    store.subscribe(other);

    expectCode(() => store.record(cpuTemp.id, 40), 'E_INTERNAL', 'bus down');
    expect(store.latest(cpuTemp.id)?.value).toBe(40);
    expect(other).toHaveBeenCalledTimes(1);
  });

  it('hands listener errors to onListenerError instead of throwing when given', () => {
    const errors: Array<[string, string]> = [];
    const { store } = setup({ onListenerError: (e, id) => errors.push([id, (e as Error).message]) });
    store.define(cpuTemp, 'core');
    store.subscribe(() => {
      throw new Error('subscriber bug');
    });
    expect(store.record(cpuTemp.id, 40).value).toBe(40);
    expect(errors).toEqual([[cpuTemp.id, 'subscriber bug']]);
  });
});
