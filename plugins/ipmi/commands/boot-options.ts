/**
 * Get/Set System Boot Options, parameter 5 (boot flags): the boot device override, as
 * `ipmitool chassis bootdev` and `chassis bootparam get 5` use it (IPMI v2.0 table 28-14).
 */
import { VpmdError, type BmcBootOverride, type BmcBootSource } from 'vpmd';
import type { IpmiSession } from '../session/session.js';

const BOOT_FLAGS = 5;

/** Boot device selector (data 2 bits 5:2) by Redfish BootSource. */
const SELECTOR: Readonly<Record<BmcBootSource, number>> = {
  None: 0x0,
  Pxe: 0x1,
  Hdd: 0x2,
  Diags: 0x4,
  Cd: 0x5,
  BiosSetup: 0x6,
  RemoteDrive: 0xb,
  Floppy: 0xf,
};

/** Selectors read back: also the ones with no exact Redfish name of their own. */
const SOURCE_OF: ReadonlyMap<number, BmcBootSource> = new Map([
  ...Object.entries(SELECTOR).map(([k, v]) => [v, k as BmcBootSource] as const),
  [0x3, 'Hdd'], // hard drive, safe mode
  [0x8, 'Cd'], // remotely connected CD/DVD
  [0x9, 'RemoteDrive'], // primary remote media
]);

/** Reads the boot flags. */
export async function getBootOverride(s: IpmiSession): Promise<BmcBootOverride> {
  const d = await s.call(0x00, 0x09, [BOOT_FLAGS, 0, 0]);
  // [parameter version, parameter selector, data 1..5]
  if (d.length < 4 || ((d[1] ?? 0) & 0x7f) !== BOOT_FLAGS)
    throw new VpmdError('E_IPMI_PROTOCOL', `boot flags answer of ${d.length} bytes is malformed`, {
      target: s.target.name,
    });
  const flags = d[2] ?? 0;
  const target = SOURCE_OF.get(((d[3] ?? 0) >> 2) & 0x0f);
  return {
    enabled: flags & 0x80 ? (flags & 0x40 ? 'Continuous' : 'Once') : 'Disabled',
    ...(target !== undefined ? { target } : {}),
    mode: flags & 0x20 ? 'UEFI' : 'Legacy',
  };
}

/** Writes the boot flags: valid unless Disabled, persistent for Continuous, EFI for UEFI. */
export async function setBootOverride(s: IpmiSession, o: Required<BmcBootOverride>): Promise<void> {
  const flags =
    (o.enabled === 'Disabled' ? 0 : 0x80) | (o.enabled === 'Continuous' ? 0x40 : 0) | (o.mode === 'UEFI' ? 0x20 : 0);
  await s.call(0x00, 0x08, [BOOT_FLAGS, flags, SELECTOR[o.target] << 2, 0, 0, 0]);
}

/** The boot sources this driver writes. */
export const BOOT_SOURCES: readonly BmcBootSource[] = Object.keys(SELECTOR) as BmcBootSource[];
