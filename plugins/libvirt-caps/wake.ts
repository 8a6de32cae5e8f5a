/**
 * Waking other hosts this agent manages: a Wake-on-LAN magic packet sent from the management
 * interface, or IPMI chassis power-on through the BMCs capability (the ipmi plugin), when
 * one provides it.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { VpmdError, type Bmcs, type Principal } from 'vpmd';

/** Parses `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or `aabb.ccdd.eeff`; undefined when not a MAC. */
export function parseMac(text: string): Buffer | undefined {
  const t = text.trim().toLowerCase();
  const hex = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/.test(t)
    ? t.replace(/[:-]/g, '')
    : /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(t)
      ? t.replace(/\./g, '')
      : undefined;
  if (hex === undefined) return undefined;
  const mac = Buffer.from(hex, 'hex');
  // Multicast/broadcast addresses (low bit of the first octet) are never a NIC's own.
  if (((mac[0] ?? 0) & 1) === 1) return undefined;
  return mac;
}

/** The canonical `aa:bb:cc:dd:ee:ff` form. */
export function formatMac(mac: Buffer): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** 6 x 0xFF followed by the MAC 16 times: 102 bytes. */
export function magicPacket(mac: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => mac)]);
}

/** Where a magic packet goes. */
export interface WolDestination {
  /** Broadcast (or directed broadcast / unicast) address. */
  readonly address: string;
  readonly port: number;
  /** Source address: the management interface's. */
  readonly bindAddress: string;
}

/**
 * Sends one magic packet.
 * @throws VpmdError E_COMMAND_USAGE for a bad address; E_HOST_IO when the send fails.
 */
export async function sendMagicPacket(mac: Buffer, dest: WolDestination): Promise<number> {
  if (isIP(dest.address) !== 4)
    throw new VpmdError('E_COMMAND_USAGE', `--broadcast ${dest.address}: Wake-on-LAN needs an IPv4 address`, {
      broadcast: dest.address,
    });
  const packet = magicPacket(mac);
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: dest.bindAddress, port: 0 }, () => resolve());
    });
    socket.setBroadcast(true);
    await new Promise<void>((resolve, reject) =>
      socket.send(packet, dest.port, dest.address, (err) => (err ? reject(err) : resolve())),
    );
    return packet.length;
  } catch (e) {
    throw new VpmdError(
      'E_HOST_IO',
      `Wake-on-LAN to ${dest.address}:${dest.port} from ${dest.bindAddress} failed: ${e instanceof Error ? e.message : String(e)}`,
      {
        broadcast: dest.address,
        port: dest.port,
      },
    );
  } finally {
    socket.close();
  }
}

/** What `wake` did. */
export interface WakeResult {
  readonly method: 'wake-on-lan' | 'ipmi' | 'redfish';
  readonly target: string;
  readonly detail: string;
}

/**
 * Powers on a managed host through its BMC.
 * @throws VpmdError E_CAPABILITY_MISSING without a BMC provider; E_LIBVIRT_CAPS_WAKE_TARGET for an unknown name.
 */
export async function wakeThroughBmc(bmcs: Bmcs | undefined, target: string, by: Principal): Promise<WakeResult> {
  if (bmcs === undefined) {
    throw new VpmdError(
      'E_CAPABILITY_MISSING',
      `wake ${target}: not a MAC address, and no plugin provides BMCs (bmcs@1) to power it on over IPMI; enable the ipmi plugin or give a MAC (aa:bb:cc:dd:ee:ff)`,
      { target, capability: 'bmcs@1' },
    );
  }
  const known = bmcs.targets();
  const bmc = known.find((b) => b.name === target);
  if (bmc === undefined) {
    throw new VpmdError(
      'E_LIBVIRT_CAPS_WAKE_TARGET',
      `wake ${target}: not a MAC address nor a known BMC (BMCs: ${known.map((b) => b.name).join(', ') || 'none configured: add plugins.ipmi.targets or plugins.redfish.targets'})`,
      {
        target,
        known: known.map((b) => b.name),
      },
    );
  }
  await bmcs.chassis(bmc.name, 'on', by);
  return { method: bmc.protocol, target: bmc.name, detail: `chassis power on sent to ${bmc.host}:${bmc.port}` };
}
