/**
 * An SNMPv3 manager session for the poller, on the npm net-snmp package's Session (its manager
 * side does engine discovery and time synchronisation correctly; only its agent side falls short).
 * Promises instead of callbacks, values converted to our typed {@link SnmpValue}s, and
 * net-snmp's errors mapped to E_SNMP_TIMEOUT / E_SNMP_REQUEST naming the target.
 */
import { createRequire } from 'node:module';
import { VpmdError } from 'vpmd';
import { TAG } from '../codec/ber.js';
import { parseOid, type SnmpValue } from '../codec/pdu.js';
import type { TargetConfig } from '../config.js';

interface NsVarbind {
  oid: string;
  type: number;
  value: unknown;
}
interface NsSession {
  get(oids: string[], cb: (err: Error | null, vbs: NsVarbind[]) => void): void;
  set(vbs: NsVarbind[], cb: (err: Error | null, vbs: NsVarbind[]) => void): void;
  subtree(
    oid: string,
    maxRepetitions: number,
    feed: (vbs: NsVarbind[]) => boolean | void,
    done: (err: Error | null) => void,
  ): void;
  close(): void;
  on(event: 'error', cb: (e: Error) => void): void;
}
interface NetSnmp {
  createV3Session(target: string, user: Record<string, unknown>, opts: Record<string, unknown>): NsSession;
  isVarbindError(vb: NsVarbind): boolean;
  varbindError(vb: NsVarbind): string;
  SecurityLevel: { authPriv: number };
  AuthProtocols: Record<string, number>;
  PrivProtocols: Record<string, number>;
  Version3: number;
}
// net-snmp ships no type declarations: load it untyped and describe the part we use.
const ns = createRequire(import.meta.url)('net-snmp') as NetSnmp;

/** A typed varbind read from a device. */
export interface DeviceVarbind {
  readonly oid: string;
  readonly value: SnmpValue;
}

function toValue(vb: NsVarbind): SnmpValue {
  const v = vb.value;
  switch (vb.type) {
    case TAG.Integer:
      return { tag: TAG.Integer, value: Number(v) };
    case TAG.OctetString:
    case TAG.Opaque:
      return { tag: vb.type, value: Buffer.isBuffer(v) ? v : String(v) };
    case TAG.Oid:
      return { tag: TAG.Oid, value: parseOid(String(v)) };
    case TAG.IpAddress:
      return { tag: TAG.IpAddress, value: String(v) };
    case TAG.Counter32:
    case TAG.Gauge32:
    case TAG.TimeTicks:
      return { tag: vb.type, value: Number(v) };
    case TAG.Counter64:
      return {
        tag: TAG.Counter64,
        value: Buffer.isBuffer(v) ? BigInt(`0x${v.toString('hex') || '0'}`) : BigInt(Number(v)),
      };
    case TAG.NoSuchObject:
    case TAG.NoSuchInstance:
    case TAG.EndOfMibView:
      return { tag: vb.type, value: null };
    default:
      return { tag: TAG.Null, value: null };
  }
}

/** Numeric value of a reading, or null when it is not a number. */
export function numeric(v: SnmpValue): number | null {
  if (typeof v.value === 'number') return v.value;
  if (typeof v.value === 'bigint') return Number(v.value);
  return null;
}

/** One SNMPv3 manager session to a target. */
export class SnmpClient {
  private session: NsSession | undefined;

  constructor(private readonly t: TargetConfig) {}

  private open(): NsSession {
    if (this.session) return this.session;
    const u = this.t.user;
    const session = ns.createV3Session(
      this.t.address,
      {
        name: u.name,
        level: ns.SecurityLevel.authPriv,
        authProtocol: ns.AuthProtocols[u.auth],
        authKey: u.authPassphrase,
        privProtocol: u.priv === 'aes' ? ns.PrivProtocols.aes : ns.PrivProtocols.aes256b,
        privKey: u.privPassphrase,
      },
      {
        port: this.t.port,
        version: ns.Version3,
        timeout: Math.round(this.t.timeout * 1000),
        retries: this.t.retries,
        backoff: 1.5,
      },
    );
    session.on('error', () => this.close());
    this.session = session;
    return session;
  }

  /** Closes the session (a new one is opened on the next request). */
  close(): void {
    try {
      this.session?.close();
    } catch {
      /* already closed */
    }
    this.session = undefined;
  }

  private fail(e: Error, what: string): VpmdError {
    // The session stays open: a timeout concerns one request, and others may share the session.
    const timedOut = e.name === 'RequestTimedOutError' || /timed out/i.test(e.message);
    return new VpmdError(
      timedOut ? 'E_SNMP_TIMEOUT' : 'E_SNMP_REQUEST',
      `${this.t.name} (${this.t.address}:${this.t.port}): ${what}: ${e.message}`,
      {
        target: this.t.name,
      },
    );
  }

  /** GET of `oids`. */
  get(oids: readonly string[]): Promise<DeviceVarbind[]> {
    return new Promise((resolve, reject) => {
      this.open().get([...oids], (err, vbs) => {
        if (err) return reject(this.fail(err, 'get'));
        resolve(vbs.map((vb) => ({ oid: vb.oid, value: toValue(vb) })));
      });
    });
  }

  /** GetBulk walk of the subtree under `oid` (at most `limit` instances). */
  walk(oid: string, limit = 100_000): Promise<DeviceVarbind[]> {
    const out: DeviceVarbind[] = [];
    return new Promise((resolve, reject) => {
      this.open().subtree(
        oid,
        50,
        (vbs) => {
          for (const vb of vbs) if (!ns.isVarbindError(vb)) out.push({ oid: vb.oid, value: toValue(vb) });
          return out.length >= limit;
        },
        (err) => (err ? reject(this.fail(err, `walk ${oid}`)) : resolve(out)),
      );
    });
  }

  /** SET of one Integer32 value. */
  setInt(oid: string, value: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.open().set([{ oid, type: TAG.Integer, value }], (err, vbs) => {
        if (err) return reject(this.fail(err, `set ${oid}`));
        const bad = vbs.find((vb) => ns.isVarbindError(vb));
        if (bad)
          return reject(
            new VpmdError('E_SNMP_REQUEST', `${this.t.name}: set ${oid} refused: ${ns.varbindError(bad)}`, {
              target: this.t.name,
            }),
          );
        resolve();
      });
    });
  }
}
