/**
 * CIDR allow-lists and the management bind address. Node's BlockList does the matching;
 * IPv4-mapped IPv6 peers (`::ffff:10.0.0.7`, as dual-stack sockets report them) are matched as
 * the IPv4 address they are, so an IPv4 allow-list also holds on a dual-stack listener.
 */
import { BlockList, isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { VpmdError } from '../errors.js';

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128); null when malformed. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [addr, bits, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return null;
  const v = isIP(addr);
  if (v === 0) return null;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  const max = v === 4 ? 32 : 128;
  if (bits === undefined) return { address: addr, prefix: max, family };
  if (!/^\d{1,3}$/.test(bits)) return null;
  const prefix = Number(bits);
  if (prefix > max) return null;
  return { address: addr, prefix, family };
}

/** Strips the IPv4-mapped prefix so `::ffff:1.2.3.4` is matched as `1.2.3.4`. */
export function normalizeAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m?.[1] ?? address;
}

/** An immutable allow-list of CIDRs. */
export class AddressAllowList {
  private readonly list = new BlockList();
  readonly cidrs: readonly string[];

  /** @throws VpmdError E_CONFIG_INVALID naming the first malformed entry. */
  constructor(cidrs: readonly string[]) {
    cidrs.forEach((c, i) => {
      const p = parseCidr(c);
      if (!p) {
        throw new VpmdError(
          'E_CONFIG_INVALID',
          `management.allow[${i}]: '${c}' is not a CIDR (e.g. 10.0.0.0/24, fd00::/64)`,
          {
            path: `management.allow[${i}]`,
          },
        );
      }
      this.list.addSubnet(p.address, p.prefix, p.family);
    });
    this.cidrs = Object.freeze([...cidrs]);
  }

  /** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) is inside one of the CIDRs. */
  allows(address: string): boolean {
    const a = normalizeAddress(address);
    const v = isIP(a);
    if (v === 0) return false;
    return this.list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * Resolves the address every network listener binds to: `address` as given, or the first
 * address of `iface` (IPv4 preferred, link-local IPv6 skipped).
 * @throws VpmdError E_ACCESS_BIND when neither is set, the interface is missing or has no address.
 */
export function resolveBindAddress(
  opts: { address?: string; interface?: string },
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string {
  if (opts.address) return opts.address;
  if (!opts.interface) {
    throw new VpmdError(
      'E_ACCESS_BIND',
      'no management address: set management.address or management.interface (listeners never bind to all interfaces)',
    );
  }
  const infos = interfaces[opts.interface];
  if (!infos || infos.length === 0) {
    const known = Object.keys(interfaces).join(', ');
    throw new VpmdError(
      'E_ACCESS_BIND',
      `management.interface: no interface '${opts.interface}' (this host has: ${known})`,
      {
        interface: opts.interface,
      },
    );
  }
  const v4 = infos.find((i) => i.family === 'IPv4');
  const v6 = infos.find((i) => i.family === 'IPv6' && !i.address.toLowerCase().startsWith('fe80'));
  const pick = v4 ?? v6;
  if (!pick) {
    throw new VpmdError('E_ACCESS_BIND', `management.interface: '${opts.interface}' has no usable address`, {
      interface: opts.interface,
    });
  }
  return pick.address;
}
