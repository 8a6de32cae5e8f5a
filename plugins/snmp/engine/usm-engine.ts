/**
 * The authoritative SNMPv3 engine of our agent: RFC 3412 message processing and RFC 3414 USM.
 *
 * It replaces the npm package's agent-side security, which (3.29) decrypts before it
 * authenticates, answers a wrong digest with silence (managers time out), keeps engineBoots at 0
 * and engineTime at 10 (no time window, so no replay protection), and never checks the engine
 * ID. Here, in RFC 3414 3.2 order: unknown engine ID, unknown user, unsupported security level,
 * wrong digest, not in time window, decryption error each get their usmStats Report (when the
 * reportable flag is set), the time window uses our persisted engineBoots and the clock, and a
 * SET whose exact authenticated message was already seen is dropped as a replay.
 */
import { BerError, BerReader, TAG } from '../codec/ber.js';
import { decPdu, encPdu, encVarbind, V, type Pdu } from '../codec/pdu.js';
import {
  FLAG,
  buildV3,
  openScopedPdu,
  parseV3,
  scopedPdu,
  type LocalizedUser,
  type V3Message,
} from '../codec/v3-message.js';
import { SaltCounter, computeMac, decryptScopedPdu } from '../codec/usm-crypto.js';
import type { MibEntry, MibSource } from '../mib/mib-index.js';
import type { MibView } from '../mib/mib-view.js';

/** USM security levels, weakest first. */
export type SecurityLevel = 'noAuthNoPriv' | 'authNoPriv' | 'authPriv';

/**
 * A USM user of the agent, with keys localised to our engine ID. `level` is the user's own
 * security level: authPriv users may be lowered to authNoPriv by minSecurityLevel; users marked
 * authNoPriv (no privacy key) or noAuthNoPriv (no keys at all) in config are always read-only.
 * `view`, when set, limits what the user may read and SET (absent: the whole MIB).
 */
export type AgentUser =
  | (LocalizedUser & {
      readonly access: 'ro' | 'rw';
      readonly level?: 'authPriv' | 'authNoPriv';
      readonly view?: MibView;
    })
  | { readonly name: string; readonly access: 'ro'; readonly level: 'noAuthNoPriv'; readonly view?: MibView };

/** An authenticating user (one with keys). */
export type KeyedUser = Extract<AgentUser, LocalizedUser>;

/** usmStats counters (1.3.6.1.6.3.15.1.1.N.0) and the message-processing counters we keep. */
export const USM_STATS = Object.freeze({
  unsupportedSecLevels: 1,
  notInTimeWindows: 2,
  unknownUserNames: 3,
  unknownEngineIDs: 4,
  wrongDigests: 5,
  decryptionErrors: 6,
});
type UsmStat = keyof typeof USM_STATS;

const USM_STATS_OID = [1, 3, 6, 1, 6, 3, 15, 1, 1];
const UNKNOWN_CONTEXTS_OID = [1, 3, 6, 1, 6, 3, 12, 1, 5, 0];
/** RFC 3414: the time window is 150 seconds either side. */
export const TIME_WINDOW_S = 150;

/** What the engine needs from its owner. */
export interface UsmEngineOptions {
  readonly engineId: Buffer;
  readonly boots: number;
  /** ms since epoch at which engineTime was 0 (the start). */
  readonly startedAt: number;
  readonly users: () => ReadonlyMap<string, AgentUser>;
  /** Lowest level accepted: 'authPriv' (default) or 'authNoPriv'. */
  readonly minLevel: 'authPriv' | 'authNoPriv';
  readonly now?: () => number;
}

/** A request that passed security: what the dispatcher answers. */
export interface SecureRequest {
  readonly user: { readonly name: string; readonly access: 'ro' | 'rw'; readonly view?: MibView };
  readonly pdu: Pdu;
  /** Set when the request may only read whatever the user's access (why, for the audit trail). */
  readonly readOnly?: string;
  readonly maxSize: number;
  /** Builds the response message around an encoded Response PDU. */
  respond(pdu: Buffer): Buffer;
}

/** The outcome of processing one datagram. */
export type Incoming =
  | { kind: 'drop'; reason: string }
  | { kind: 'report'; reply: Buffer | null; stat: UsmStat | 'unknownContexts' }
  | { kind: 'request'; request: SecureRequest };

/** SNMPv3 message processing and USM for an authoritative engine. */
export class UsmEngine {
  readonly stats: Record<
    UsmStat | 'unknownContexts' | 'invalidMsgs' | 'parseErrors' | 'badVersions' | 'replays',
    number
  > = {
    unsupportedSecLevels: 0,
    notInTimeWindows: 0,
    unknownUserNames: 0,
    unknownEngineIDs: 0,
    wrongDigests: 0,
    decryptionErrors: 0,
    unknownContexts: 0,
    invalidMsgs: 0,
    parseErrors: 0,
    badVersions: 0,
    replays: 0,
  };
  private readonly salts = new SaltCounter();
  private readonly seenSets = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: UsmEngineOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Our engine ID. */
  get engineId(): Buffer {
    return this.opts.engineId;
  }

  /** snmpEngineBoots. */
  get boots(): number {
    return this.opts.boots;
  }

  /** snmpEngineTime: seconds since this boot. */
  time(): number {
    return Math.max(0, Math.floor((this.now() - this.opts.startedAt) / 1000)) % 2147483648;
  }

  /**
   * True when `buf` looks like a request of one of our users: an SNMPv3 USM message with
   * authentication, our engine ID and a user with keys. Header parsing only, no crypto: it
   * decides what is served first under a flood, never what is accepted ({@link process} does).
   */
  isCandidate(buf: Buffer): boolean {
    // Most garbage fails here, without the cost of a thrown parse error.
    if (!looksLikeV3(buf)) return false;
    try {
      const m = parseV3(buf);
      if (m.securityModel !== 3 || !(m.flags & FLAG.auth)) return false;
      if (!m.security.engineId.equals(this.opts.engineId)) return false;
      const user = this.opts.users().get(m.security.userName);
      return user !== undefined && user.level !== 'noAuthNoPriv';
    } catch {
      return false;
    }
  }

  /** Processes one datagram up to (not including) the PDU dispatch. */
  process(buf: Buffer): Incoming {
    let m: V3Message;
    try {
      const version = new BerReader(buf).enter(TAG.Sequence).int();
      if (version !== 3) {
        this.stats.badVersions++;
        return {
          kind: 'drop',
          reason: `SNMP version ${version === 0 ? 1 : version === 1 ? '2c' : version} refused: this agent speaks SNMPv3 only`,
        };
      }
      m = parseV3(buf);
    } catch (e) {
      this.stats.parseErrors++;
      return { kind: 'drop', reason: `malformed message: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (m.securityModel !== 3) return { kind: 'drop', reason: `security model ${m.securityModel} refused (USM only)` };
    if ((m.flags & (FLAG.auth | FLAG.priv)) === FLAG.priv) {
      this.stats.invalidMsgs++;
      return { kind: 'drop', reason: 'privacy without authentication is invalid' };
    }
    const sp = m.security;
    const plainReqId = (): number => (m.flags & FLAG.priv ? 0 : this.requestIdOf(m.data));
    if (sp.engineId.length === 0 || !sp.engineId.equals(this.opts.engineId)) {
      // Discovery (RFC 3414 4): the manager learns our engine ID, boots and time from this report.
      return this.report(m, 'unknownEngineIDs', plainReqId(), null);
    }
    const found = this.opts.users().get(sp.userName);
    if (!found) return this.report(m, 'unknownUserNames', plainReqId(), null);
    // A user without keys (explicitly marked noAuthNoPriv) speaks noAuthNoPriv only; it is never authenticated.
    if (found.level === 'noAuthNoPriv') {
      if (m.flags & FLAG.auth) return this.report(m, 'unsupportedSecLevels', plainReqId(), null);
      return this.accept(m, m.data, found, 'noAuthNoPriv user: read-only');
    }
    const user: KeyedUser = found;
    // authPriv users get authNoPriv only when minSecurityLevel allows it; authNoPriv users have no privacy key.
    const wantsPriv = this.opts.minLevel === 'authPriv' && user.level !== 'authNoPriv';
    if (!(m.flags & FLAG.auth) || (wantsPriv && !(m.flags & FLAG.priv)))
      return this.report(m, 'unsupportedSecLevels', plainReqId(), null);
    if (!this.authentic(m, user)) return this.report(m, 'wrongDigests', plainReqId(), null);
    // From here on the message is authentic: a not-in-time-window report is authenticated, so the
    // manager may trust the boots and time in it and resynchronise (RFC 3414 3.2 step 7b).
    if (!this.inTimeWindow(sp.boots, sp.time)) return this.report(m, 'notInTimeWindows', plainReqId(), user);
    let plain = m.data;
    if (m.flags & FLAG.priv) {
      if (!user.priv || !user.privKey) return this.report(m, 'unsupportedSecLevels', 0, null);
      try {
        plain = decryptScopedPdu(user.priv, user.auth, user.privKey, sp.boots, sp.time, sp.privParams, m.data);
      } catch {
        return this.report(m, 'decryptionErrors', 0, null);
      }
    }
    return this.accept(m, plain, user, m.flags & FLAG.priv ? undefined : 'authNoPriv message: read-only');
  }

  /** Decodes the (authentic, decrypted) scoped PDU and wraps it as a request. */
  private accept(m: V3Message, plain: Buffer, user: AgentUser, readOnly: string | undefined): Incoming {
    let pdu: Pdu;
    let contextName: string;
    try {
      const scoped = openScopedPdu(plain);
      contextName = scoped.contextName;
      pdu = decPdu(scoped.pdu);
    } catch (e) {
      // A wrong privacy key decrypts to garbage: RFC 3414 counts it as a decryption error.
      if (m.flags & FLAG.priv) return this.report(m, 'decryptionErrors', 0, null);
      this.stats.parseErrors++;
      return { kind: 'drop', reason: `malformed scoped PDU: ${e instanceof BerError ? e.message : String(e)}` };
    }
    if (contextName !== '') return this.report(m, 'unknownContexts', pdu.requestId, 'authKey' in user ? user : null);
    if (pdu.type === TAG.SetRequest && m.flags & FLAG.auth && this.isReplay(m)) {
      this.stats.replays++;
      return { kind: 'drop', reason: `replayed SET from user ${user.name} dropped` };
    }
    const maxSize = Math.min(m.maxSize, 65507);
    return {
      kind: 'request',
      request: {
        user,
        pdu,
        maxSize,
        ...(readOnly ? { readOnly } : {}),
        respond: (encodedPdu) =>
          buildV3({
            msgId: m.msgId,
            flags: m.flags & (FLAG.auth | FLAG.priv),
            engineId: this.opts.engineId,
            boots: this.opts.boots,
            time: this.time(),
            user: 'authKey' in user ? user : null,
            userName: user.name,
            scopedPdu: scopedPdu(this.opts.engineId, '', encodedPdu),
            salts: this.salts,
          }),
      },
    };
  }

  /** MIB objects of the engine: snmpEngine group (SNMP-FRAMEWORK-MIB) and usmStats. */
  source(): MibSource {
    const engine = [1, 3, 6, 1, 6, 3, 10, 2, 1];
    return {
      name: 'snmp-engine',
      objects: [1, 2, 3, 4]
        .map((n) => [...engine, n])
        .concat(Object.values(USM_STATS).map((n) => [...USM_STATS_OID, n])),
      entries: (): MibEntry[] => [
        { oid: [...engine, 1, 0], value: V.str(this.opts.engineId) },
        { oid: [...engine, 2, 0], value: V.int(this.opts.boots) },
        { oid: [...engine, 3, 0], value: V.int(this.time()) },
        { oid: [...engine, 4, 0], value: V.int(65507) },
        ...Object.entries(USM_STATS).map(([k, n]) => ({
          oid: [...USM_STATS_OID, n, 0],
          value: V.counter32(this.stats[k as UsmStat]),
        })),
      ],
    };
  }

  private requestIdOf(plain: Buffer): number {
    try {
      return decPdu(openScopedPdu(plain).pdu).requestId;
    } catch {
      return 0;
    }
  }

  private authentic(m: V3Message, user: KeyedUser): boolean {
    const given = m.security.authParams;
    const copy = Buffer.from(m.raw);
    copy.fill(0, m.authAt.start, m.authAt.end);
    const mac = computeMac(user.auth, user.authKey, copy);
    return given.length === mac.length && mac.equals(given);
  }

  private inTimeWindow(boots: number, time: number): boolean {
    if (this.opts.boots >= 2147483647) return false;
    return boots === this.opts.boots && Math.abs(time - this.time()) <= TIME_WINDOW_S;
  }

  private isReplay(m: V3Message): boolean {
    const now = this.now();
    for (const [k, exp] of this.seenSets) if (exp < now) this.seenSets.delete(k);
    const key = m.security.authParams.toString('hex');
    if (this.seenSets.has(key)) return true;
    // A message older than the window is refused anyway, so remembering it longer is pointless.
    this.seenSets.set(key, now + 2 * TIME_WINDOW_S * 1000);
    return false;
  }

  private report(m: V3Message, stat: UsmStat | 'unknownContexts', requestId: number, user: KeyedUser | null): Incoming {
    this.stats[stat]++;
    if (!(m.flags & FLAG.reportable)) return { kind: 'report', reply: null, stat };
    const oid = stat === 'unknownContexts' ? UNKNOWN_CONTEXTS_OID : [...USM_STATS_OID, USM_STATS[stat], 0];
    const pdu = encPdu(TAG.Report, requestId, 0, 0, [encVarbind(oid, V.counter32(this.stats[stat]))]);
    const reply = buildV3({
      msgId: m.msgId,
      // Reports are unauthenticated except notInTimeWindows/unknownContexts for a verified user.
      flags: user ? FLAG.auth : 0,
      engineId: this.opts.engineId,
      boots: this.opts.boots,
      time: this.time(),
      user: user ? { name: user.name, auth: user.auth, authKey: user.authKey } : null,
      userName: user?.name ?? m.security.userName,
      scopedPdu: scopedPdu(this.opts.engineId, '', pdu),
      salts: this.salts,
    });
    return { kind: 'report', reply, stat };
  }
}

/** SEQUENCE { INTEGER 3, ... } at the start of `buf`: an SNMPv3 message, by its first bytes only. */
function looksLikeV3(buf: Buffer): boolean {
  if (buf.length < 32 || buf[0] !== TAG.Sequence) return false;
  const len = buf[1] ?? 0;
  const at = len & 0x80 ? 2 + (len & 0x7f) : 2;
  return buf[at] === TAG.Integer && buf[at + 1] === 1 && buf[at + 2] === 3;
}
