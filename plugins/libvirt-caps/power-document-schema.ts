/**
 * JSON schema of vpmd's power capabilities document (`vpmctl capabilities --power`): the power
 * facts libvirt's capabilities schema has no room for. Written with TypeBox, which produces
 * plain JSON Schema; `power-capabilities.schema.json` next to this file is the same schema for
 * consumers outside vpmd (a test keeps the two identical).
 */
import type { TProperties } from '@sinclair/typebox';
import { Type, type Static } from 'vpmd';

const Obj = <P extends TProperties>(props: P, description?: string) =>
  Type.Object(props, { additionalProperties: false, ...(description === undefined ? {} : { description }) });
const Int = (description?: string) =>
  Type.Integer({ minimum: 0, ...(description === undefined ? {} : { description }) });
const Target = Type.Union([
  Type.Literal('mem'),
  Type.Literal('disk'),
  Type.Literal('hybrid'),
  Type.Literal('suspend-then-hibernate'),
]);
const Choice = Obj({ options: Type.Array(Type.String()), selected: Type.Optional(Type.String()) });

/** The schema. */
export const POWER_DOCUMENT_SCHEMA = Type.Object(
  {
    format: Type.Literal('vpmd-power-capabilities'),
    version: Type.Literal(1),
    host: Obj({
      uuid: Type.String({ format: 'uuid' }),
      arch: Type.String(),
      vendor: Type.Optional(Type.String()),
      modelName: Type.Optional(Type.String()),
      cpus: Int('online CPUs'),
      packages: Int(),
    }),
    sleep: Obj(
      {
        targets: Type.Array(
          Obj({
            target: Target,
            supported: Type.Boolean({ description: 'as libvirt decides: logind answers yes or challenge' }),
            logind: Type.Union(['yes', 'no', 'challenge', 'na', 'unavailable'].map((v) => Type.Literal(v))),
            kernel: Type.String({ description: "the kernel's view in words" }),
            kernelOffers: Type.Boolean(),
          }),
        ),
        logind: Obj({ available: Type.Boolean(), problem: Type.Optional(Type.String()) }),
        kernel: Obj({
          states: Type.Array(Type.String(), { description: '/sys/power/state' }),
          memSleep: Type.Optional(Choice),
          disk: Type.Optional(Choice),
          s3: Type.Boolean(),
          s4: Type.Boolean(),
          s2idle: Type.Boolean(),
        }),
      },
      'host sleep states',
    ),
    cpufreq: Obj({
      drivers: Type.Array(Type.String()),
      driverStatus: Type.Optional(Type.String({ description: 'intel_pstate / amd_pstate mode' })),
      hardwareMinKHz: Type.Optional(Int()),
      hardwareMaxKHz: Type.Optional(Int()),
      governors: Type.Array(Type.String()),
      policies: Type.Array(
        Obj({
          id: Int(),
          cpus: Type.String({ description: 'related CPUs as a range list' }),
          driver: Type.String(),
          governor: Type.String(),
          hardwareMinKHz: Int(),
          hardwareMaxKHz: Int(),
          scalingMinKHz: Int(),
          scalingMaxKHz: Int(),
          baseKHz: Type.Optional(Int()),
          availableFrequenciesKHz: Type.Optional(Type.Array(Int())),
          epp: Type.Optional(Type.String()),
          availableEpp: Type.Optional(Type.Array(Type.String())),
          transitionLatencyNs: Type.Optional(Int()),
        }),
      ),
    }),
    turbo: Obj({ supported: Type.Boolean(), mechanism: Type.String(), enabled: Type.Optional(Type.Boolean()) }),
    cstates: Obj({
      driver: Type.Optional(Type.String()),
      governor: Type.Optional(Type.String()),
      states: Type.Array(Obj({ name: Type.String(), desc: Type.String(), latencyUs: Int(), residencyUs: Int() }), {
        description: 'idle states of CPU 0',
      }),
    }),
    rapl: Type.Array(
      Obj({
        id: Type.String(),
        name: Type.String(),
        parent: Type.Optional(Type.String()),
        maxEnergyRangeUj: Int(),
        constraints: Type.Array(
          Obj({
            name: Type.String(),
            powerLimitUw: Type.Optional(Int()),
            timeWindowUs: Type.Optional(Int()),
            maxPowerUw: Type.Optional(Int()),
          }),
        ),
      }),
    ),
    wake: Obj({
      rtc: Type.Optional(Obj({ device: Type.String(), name: Type.String() })),
      wakeOnLan: Obj({ port: Type.Integer({ minimum: 1, maximum: 65535 }), broadcast: Type.String() }),
      sources: Type.Array(
        Obj({
          device: Type.String(),
          sleepState: Type.String(),
          enabled: Type.Boolean(),
          sysfs: Type.Optional(Type.String()),
        }),
        {
          description: '/proc/acpi/wakeup',
        },
      ),
    }),
  },
  {
    $id: 'https://vpmd.dev/schemas/power-capabilities-1.json',
    title: 'vpmd power capabilities document',
    additionalProperties: false,
  },
);

/** The document's type. */
export type PowerDocument = Static<typeof POWER_DOCUMENT_SCHEMA>;
