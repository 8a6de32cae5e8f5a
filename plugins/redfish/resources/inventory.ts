/**
 * The host's identity for ComputerSystem (the OCP Baseline profile's inventory): Manufacturer,
 * Model, SerialNumber, UUID, SKU, BiosVersion from the core's DMI reading of the host, and
 * AssetTag, which an operator sets over Redfish and the service keeps in its state (`inventory`
 * key). A fact SMBIOS does not give is left out, as the schema allows; PartNumber has no source
 * on a Linux host (the kernel exports none) and is never served.
 */
import { Type, type HostDmi, type Static, type StateStore } from 'vpmd';
import type { RedfishContext } from '../config.js';

/** Longest AssetTag accepted (SMBIOS strings are at most 64 bytes in practice). */
export const ASSET_TAG_MAX = 64;

const Stored = Type.Object({ assetTag: Type.String({ maxLength: ASSET_TAG_MAX }) });
const SPEC = { version: 1, schema: Stored } as const;

/** RFC 4122 text form, as ComputerSystem.UUID requires. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** DMI identity (read once: it changes only with a firmware update) and the persisted AssetTag. */
export class Inventory {
  private dmi: Promise<HostDmi> | undefined;
  private stored: Static<typeof Stored> | undefined;
  private loaded: Promise<void> | undefined;

  constructor(
    private readonly ctx: RedfishContext,
    private readonly state: StateStore = ctx.state,
  ) {}

  /** Loads the AssetTag kept in state (once; again after a failed read). */
  private load(): Promise<void> {
    this.loaded ??= this.state.read('inventory', SPEC).then(
      (v) => {
        this.stored = v;
      },
      (e: unknown) => {
        this.loaded = undefined;
        throw e;
      },
    );
    return this.loaded;
  }

  private identity(): Promise<HostDmi> {
    if (!this.dmi) {
      this.dmi = this.ctx.host.dmi();
      // A failed read is tried again at the next request, not remembered.
      this.dmi.catch(() => (this.dmi = undefined));
    }
    return this.dmi;
  }

  /** The AssetTag: the one set over Redfish, else the firmware's, else empty. */
  async assetTag(): Promise<string> {
    await this.load();
    if (this.stored) return this.stored.assetTag;
    const none: HostDmi = {};
    return (await this.identity().catch(() => none)).chassisAssetTag ?? '';
  }

  /** Sets and persists the AssetTag (written before it is acknowledged). */
  async setAssetTag(tag: string): Promise<void> {
    const next = { assetTag: tag };
    await this.state.write('inventory', SPEC, next);
    this.stored = next;
  }

  /** ComputerSystem inventory properties; a DMI read failure leaves them out and is logged. */
  async systemProperties(): Promise<Record<string, unknown>> {
    let d: HostDmi = {};
    try {
      d = await this.identity();
    } catch (e) {
      this.ctx.log.warn({ err: e }, 'redfish: cannot read the host DMI identity');
    }
    return {
      ...(d.manufacturer !== undefined ? { Manufacturer: d.manufacturer } : {}),
      ...(d.model !== undefined ? { Model: d.model } : {}),
      ...(d.serialNumber !== undefined ? { SerialNumber: d.serialNumber } : {}),
      ...(d.uuid !== undefined && UUID.test(d.uuid) ? { UUID: d.uuid } : {}),
      ...(d.sku !== undefined ? { SKU: d.sku } : {}),
      ...(d.biosVersion !== undefined ? { BiosVersion: d.biosVersion } : {}),
      AssetTag: await this.assetTag(),
    };
  }

  /**
   * The host Chassis' inventory: its SerialNumber (`chassis_serial`, null when the firmware gives
   * none). SMBIOS has no chassis model, so Model is null ("unknown", as the schema allows), never
   * the system's product name.
   */
  async chassisProperties(): Promise<Record<string, unknown>> {
    const d = await this.identity().catch((): HostDmi => ({}));
    return { Model: null, SerialNumber: d.chassisSerialNumber ?? null };
  }
}
