/**
 * SNMPv1/v2c community access (RFC 1157, RFC 1901), off unless `plugins.snmp.communities` lists
 * one, and read-only like snmpd's `rocommunity`. A message with an unknown community, a version
 * the community is not enabled for, or from a source outside its CIDRs is dropped silently and
 * counted (snmpInBadCommunityNames), as snmpd does. Communities are compared in constant time and
 * never logged. A community with a `view` reads only its subtrees (snmpd's `rocommunity -V`).
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { VpmdError } from 'vpmd';
import { BerReader, TAG, encInt, encString, tlv } from '../codec/ber.js';
import { decPdu, type Pdu } from '../codec/pdu.js';
import type { CommunityConfig } from '../config.js';
import { MibView } from '../mib/mib-view.js';

/** SNMP message versions on the wire. */
export const VERSION = Object.freeze({ v1: 0, v2c: 1 });

/** A loaded community. */
interface Community {
  readonly name: string;
  readonly secret: Buffer;
  readonly versions: ReadonlySet<number>;
  readonly sources: BlockList | null;
  /** What it may read; absent: the whole MIB. */
  readonly view?: MibView;
}

/** A community that matched a message: its name and view. */
export interface MatchedCommunity {
  readonly name: string;
  readonly view?: MibView;
}

/** A v1/v2c message. */
export interface CommunityMessage {
  readonly version: number;
  readonly community: Buffer;
  readonly pdu: Pdu;
}

/** Parses a v1/v2c message. @throws BerError when malformed. */
export function parseCommunityMessage(buf: Buffer): CommunityMessage {
  const r = new BerReader(buf).enter(TAG.Sequence);
  const version = r.int();
  const community = r.octets();
  return { version, community, pdu: decPdu(r) };
}

/** Builds a v1/v2c message around an encoded PDU. */
export function buildCommunityMessage(version: number, community: Buffer, pdu: Buffer): Buffer {
  return tlv(TAG.Sequence, [encInt(version), encString(community), pdu]);
}

function parseSource(text: string, where: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [addr = '', bits] = text.split('/');
  const v = isIP(addr);
  const prefix = bits === undefined ? (v === 4 ? 32 : 128) : Number(bits);
  if (v === 0 || !Number.isInteger(prefix) || prefix > (v === 4 ? 32 : 128)) {
    throw new VpmdError('E_SNMP_CONFIG', `${where}: '${text}' is not a CIDR (e.g. 10.0.0.0/24, fd00::/64)`, {
      path: where,
    });
  }
  return { address: addr, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

async function readCommunityFile(
  file: string,
  where: string,
  warn: (msg: string, detail: object) => void,
): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
    if ((await stat(file)).mode & 0o004) warn('SNMP community file is world-readable', { path: where, file });
  } catch (e) {
    throw new VpmdError(
      'E_SNMP_CONFIG',
      `${where}: cannot read community file ${file} (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`,
      { path: where, file },
    );
  }
  const first = (text.split('\n')[0] ?? '').trim();
  if (first === '' || first.length > 255)
    throw new VpmdError(
      'E_SNMP_CONFIG',
      `${where}: the first line of ${file} must be a community of 1 to 255 characters`,
      { path: where, file },
    );
  return first;
}

/** Loads the configured communities. @throws VpmdError E_SNMP_CONFIG naming the bad entry. */
export async function loadCommunities(
  list: readonly CommunityConfig[],
  warn: (msg: string, detail: object) => void,
): Promise<CommunityTable> {
  const out: Community[] = [];
  for (const [i, c] of list.entries()) {
    const where = `plugins.snmp.communities[${i}]`;
    if ((c.community === undefined) === (c.communityFile === undefined)) {
      throw new VpmdError('E_SNMP_CONFIG', `${where}: set exactly one of community or communityFile`, { path: where });
    }
    if (out.some((o) => o.name === c.name))
      throw new VpmdError('E_SNMP_CONFIG', `${where}.name: '${c.name}' is used twice`, { path: `${where}.name` });
    const secret = Buffer.from(
      c.community ?? (await readCommunityFile(c.communityFile as string, `${where}.communityFile`, warn)),
      'utf8',
    );
    let sources: BlockList | null = null;
    if (c.sources.length > 0) {
      sources = new BlockList();
      for (const [j, s] of c.sources.entries()) {
        const p = parseSource(s, `${where}.sources[${j}]`);
        sources.addSubnet(p.address, p.prefix, p.family);
      }
    }
    const view = c.view ? MibView.compile(c.view, `${where}.view`) : undefined;
    out.push({
      name: c.name,
      secret,
      versions: new Set(c.versions.map((v) => VERSION[v])),
      sources,
      ...(view ? { view } : {}),
    });
  }
  return new CommunityTable(out);
}

/** The communities and their counters. */
export class CommunityTable {
  /** snmpInBadCommunityNames: dropped for an unknown community, version or source. */
  badCommunityNames = 0;
  /** snmpInBadCommunityUses: SETs refused because communities are read-only. */
  badCommunityUses = 0;

  constructor(private readonly list: readonly Community[]) {}

  /** True when any community serves `version`. */
  serves(version: number): boolean {
    return this.list.some((c) => c.versions.has(version));
  }

  /** How many communities there are. */
  get size(): number {
    return this.list.length;
  }

  /** The community when it may use `version` from `address`; null (counted) otherwise. */
  match(version: number, community: Buffer, address: string): MatchedCommunity | null {
    const a = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
    const family = isIP(a) === 6 ? 'ipv6' : 'ipv4';
    for (const c of this.list) {
      if (c.secret.length !== community.length || !timingSafeEqual(c.secret, community)) continue;
      if (c.versions.has(version) && (!c.sources || c.sources.check(a, family))) return c;
    }
    this.badCommunityNames++;
    return null;
  }
}
