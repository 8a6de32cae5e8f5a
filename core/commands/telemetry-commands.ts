/** Core commands over the telemetry store: list readings, show one metric with its history. */
import { Type } from '@sinclair/typebox';
import { defineCommand, type CommandRegistry } from '../services/commands.js';
import { formatKeyValues, formatTable } from '../services/format.js';
import { StringEnum } from '../config/schema-helpers.js';
import type { TelemetryStore } from '../telemetry/index.js';
import { METRIC_KINDS, type MetricSnapshot } from '../contracts/telemetry.js';

/** A value with its unit as an operator reads it (Hz shown as MHz). */
export function formatReading(value: number | null, unit: string): string {
  if (value === null) return 'na';
  if (unit === 'Hz') return `${(value / 1e6).toFixed(0)} MHz`;
  if (unit === 'Cel') return `${value.toFixed(1)} degrees C`;
  if (unit === 'J') return `${value.toFixed(1)} J`;
  return `${Number.isInteger(value) ? value : value.toFixed(2)} ${unit}`;
}

const age = (timestamp: number | null): string =>
  timestamp === null ? '-' : `${((Date.now() - timestamp) / 1000).toFixed(1)}s`;

/** Registers `telemetry list` and `telemetry show`. */
export function registerTelemetryCommands(reg: CommandRegistry, store: TelemetryStore): void {
  reg.register(
    'core',
    defineCommand({
      name: 'telemetry list',
      summary: 'Latest reading of every metric (ipmitool sdr style)',
      privilege: 'Login',
      args: Type.Object({
        kind: Type.Optional(StringEnum(METRIC_KINDS, { description: 'only metrics of this kind' })),
        target: Type.Optional(Type.String({ description: 'only metrics of this target (host, a BMC, a PDU)' })),
      }),
      handler: (a) =>
        store
          .list({ ...(a.kind ? { kind: a.kind } : {}), ...(a.target ? { target: a.target } : {}) })
          .map((m: MetricSnapshot) => ({
            id: m.id,
            name: m.name,
            kind: m.kind,
            unit: m.unit,
            value: m.latest?.value ?? null,
            status: m.latest?.status ?? 'unavailable',
            timestamp: m.latest?.timestamp ?? null,
            source: m.source,
          })),
      human: (rows) =>
        rows.length === 0
          ? 'No metrics.'
          : formatTable(rows, [
              { header: 'Metric', value: (r) => r.id },
              { header: 'Reading', value: (r) => formatReading(r.value, r.unit), align: 'right' },
              { header: 'Status', value: (r) => r.status },
              { header: 'Age', value: (r) => age(r.timestamp), align: 'right' },
            ]),
    }),
  );
  reg.register(
    'core',
    defineCommand({
      name: 'telemetry show',
      summary: 'One metric: definition, thresholds and recent history',
      privilege: 'Login',
      args: Type.Object({
        id: Type.String({ minLength: 1, description: 'metric id (see telemetry list)' }),
        history: Type.Integer({ minimum: 0, maximum: 10000, default: 10, description: 'how many past readings' }),
      }),
      positional: ['id'],
      handler: (a) => ({ ...store.get(a.id), history: a.history > 0 ? store.history(a.id, { limit: a.history }) : [] }),
      human: (m) =>
        [
          formatKeyValues([
            ['Metric', m.id],
            ['Name', m.name],
            ['Kind', `${m.kind} (${m.unit})`],
            ['Source', `${m.source.plugin}: ${m.source.target} / ${m.source.sensor}`],
            ['Reading', m.latest ? `${formatReading(m.latest.value, m.unit)} (${m.latest.status})` : 'none yet'],
            [
              'Thresholds',
              m.thresholds
                ? Object.entries(m.thresholds)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(', ')
                : 'none',
            ],
          ]),
          ...(m.history.length
            ? [
                '',
                formatTable(m.history, [
                  { header: 'Time', value: (r) => new Date(r.timestamp).toISOString() },
                  { header: 'Reading', value: (r) => formatReading(r.value, m.unit), align: 'right' },
                  { header: 'Status', value: (r) => r.status },
                ]),
              ]
            : []),
        ].join('\n'),
    }),
  );
}
