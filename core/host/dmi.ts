/**
 * The host's identity from SMBIOS as the kernel exports it (`/sys/class/dmi/id`): vendor, model,
 * serial number, UUID, SKU, BIOS and board. Each field is what the file says, trimmed; a missing
 * file, an unreadable one (serials and the UUID are root-only) or a placeholder the firmware
 * left ("To Be Filled By O.E.M.", "Default string", "Not Specified") is absent, never invented.
 */
import type { SysfsBackend } from './sysfs-backend.js';
import { readOptional } from './sysfs-read.js';

/** Root-relative DMI directory. */
export const DMI_DIR = 'sys/class/dmi/id';

/** What SMBIOS says about the host; every field absent when the firmware does not say. */
export interface HostDmi {
  /** `sys_vendor`: the system manufacturer. */
  readonly manufacturer?: string;
  /** `product_name`: the model. */
  readonly model?: string;
  readonly serialNumber?: string;
  /** `product_uuid`, lower case. */
  readonly uuid?: string;
  /** `product_sku`. */
  readonly sku?: string;
  /** `product_version`. */
  readonly version?: string;
  /** `product_family`. */
  readonly family?: string;
  readonly biosVendor?: string;
  readonly biosVersion?: string;
  /** `bios_date` as the firmware writes it (MM/DD/YYYY). */
  readonly biosDate?: string;
  readonly boardManufacturer?: string;
  readonly boardModel?: string;
  readonly boardSerialNumber?: string;
  readonly chassisSerialNumber?: string;
  /** `chassis_asset_tag`: the tag the firmware holds. */
  readonly chassisAssetTag?: string;
}

const FILES: ReadonlyArray<readonly [keyof HostDmi, string]> = [
  ['manufacturer', 'sys_vendor'],
  ['model', 'product_name'],
  ['serialNumber', 'product_serial'],
  ['uuid', 'product_uuid'],
  ['sku', 'product_sku'],
  ['version', 'product_version'],
  ['family', 'product_family'],
  ['biosVendor', 'bios_vendor'],
  ['biosVersion', 'bios_version'],
  ['biosDate', 'bios_date'],
  ['boardManufacturer', 'board_vendor'],
  ['boardModel', 'board_name'],
  ['boardSerialNumber', 'board_serial'],
  ['chassisSerialNumber', 'chassis_serial'],
  ['chassisAssetTag', 'chassis_asset_tag'],
];

/** Firmware placeholders that mean "not set". */
const PLACEHOLDER =
  /^(to be filled by o\.e\.m\.?|default string|not specified|not applicable|none|n\/a|system (product name|manufacturer|serial number|version)|0+|x+|0123456789|123456789|03000200-0400-0500-0006-000700080009|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/i;

/** Reads the DMI identity; a host without `/sys/class/dmi` (most Arm boards) gives `{}`. */
export async function readDmi(backend: SysfsBackend): Promise<HostDmi> {
  const values = await Promise.all(
    FILES.map(async ([key, file]) => {
      const raw = await readOptional(backend, `${DMI_DIR}/${file}`).catch(() => undefined);
      const v = raw?.trim();
      return v && !PLACEHOLDER.test(v) ? ([key, key === 'uuid' ? v.toLowerCase() : v] as const) : undefined;
    }),
  );
  const out: Partial<Record<keyof HostDmi, string>> = {};
  for (const e of values) if (e) out[e[0]] = e[1];
  return out;
}
