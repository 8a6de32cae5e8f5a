/**
 * The `plugins.libvirt-caps` config section.
 */
import { Type, type Static } from 'vpmd';

/** Schema of the section. */
export const LibvirtCapsConfig = Type.Object({
  minWakeSeconds: Type.Integer({
    minimum: 10,
    maximum: 86400,
    default: 60,
    description: 'shortest accepted --wake-after / --wake-at distance, in seconds',
  }),
  prepareTimeout: Type.Number({
    minimum: 1,
    maximum: 600,
    default: 30,
    description: 'seconds to wait for PrepareForSleep after logind accepted a suspend',
  }),
  respectInhibitors: Type.Boolean({
    default: true,
    description: 'pass flag 0x01 to *WithFlags: block inhibitors bind vpmd too',
  }),
  rtcDevice: Type.String({ pattern: '^rtc[0-9]+$', default: 'rtc0', description: 'RTC used for timed resume' }),
  hostUuid: Type.Optional(
    Type.String({
      pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
      description: 'host UUID (default: SMBIOS, else machine-id, else generated once)',
    }),
  ),
  documents: Type.Object(
    {
      libvirtFile: Type.Optional(
        Type.String({ minLength: 1, description: 'write the libvirt capabilities XML here when it changes' }),
      ),
      powerFile: Type.Optional(
        Type.String({ minLength: 1, description: "write vpmd's power document (JSON) here when it changes" }),
      ),
      interval: Type.Number({
        minimum: 1,
        maximum: 86400,
        default: 60,
        description: 'seconds between checks for changes',
      }),
    },
    { additionalProperties: false, default: {} },
  ),
  wakeOnLan: Type.Object(
    {
      broadcast: Type.String({
        default: '255.255.255.255',
        description: 'IPv4 (directed) broadcast address for magic packets',
      }),
      port: Type.Integer({ minimum: 1, maximum: 65535, default: 9 }),
    },
    { additionalProperties: false, default: {} },
  ),
});

/** The section's type. */
export type LibvirtCapsSettings = Static<typeof LibvirtCapsConfig>;
