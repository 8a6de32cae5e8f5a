/**
 * The SNMP agent's UDP listener and PDU dispatch (RFC 3416): Get, GetNext, GetBulk and Set,
 * served from the sorted {@link MibIndex}. GetBulk walks consecutive positions of the index, so
 * a repetition costs O(1) after one binary search. Datagrams from outside the management
 * allow-list are dropped before any parsing. A community or user with a {@link MibView} sees
 * only its subtrees: Get answers noSuchObject outside them, walks skip them, a SET is noAccess.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger, Principal } from 'vpmd';
import { TAG } from '../codec/ber.js';
import { ERR, V, compareOid, encPdu, encVarbind, oidText, type Pdu, type Varbind } from '../codec/pdu.js';
import { encodedVarbind, type IndexedEntry, type MibCache, type MibIndex } from '../mib/mib-index.js';
import { nextVisiblePosition, visibleFrom, type MibView } from '../mib/mib-view.js';
import type { SecureRequest, UsmEngine } from '../engine/usm-engine.js';
import { VERSION, buildCommunityMessage, parseCommunityMessage, type CommunityTable } from '../engine/community.js';
import { messageVersion } from '../codec/v3-message.js';
import { V1_ERR, v1Response } from './v1-requests.js';
import { DEFAULT_INTAKE_LIMITS, Intake, type IntakeLimits } from './intake.js';

/** What the server needs. */
export interface AgentServerOptions {
  readonly engine: UsmEngine;
  readonly mib: MibCache;
  readonly address: string;
  readonly port: number;
  readonly allowed: (address: string) => boolean;
  readonly log: Logger;
  /** Records a SET in the audit trail. */
  readonly audit: (principal: Principal, action: string, outcome: 'ok' | 'denied' | 'failed', detail?: string) => void;
  /** SNMPv1/v2c communities (read-only); absent or empty: SNMPv3 only. */
  readonly communities?: CommunityTable;
  /** Budgets of unauthenticated traffic (default {@link DEFAULT_INTAKE_LIMITS}). */
  readonly intakeLimits?: IntakeLimits;
}

/** Room left in a response for the message and PDU headers around the varbinds. */
const HEADROOM = 250;
/** Upper bound on GetBulk max-repetitions, whatever the manager asks. */
const MAX_REPETITIONS = 2000;

/** The agent's UDP endpoint. */
export class AgentServer {
  private socket: Socket | undefined;
  /** Datagrams dropped because the sender is outside management.allow. */
  refused = 0;
  /** Serves authenticated candidates first and budgets the rest (see intake.ts). */
  readonly intake: Intake;

  constructor(private readonly o: AgentServerOptions) {
    this.intake = new Intake(
      (buf) => (o.engine.isCandidate(buf) ? 'high' : 'low'),
      (buf, rinfo) => this.onMessage(buf, rinfo),
      (e: unknown) => o.log.error({ err: e instanceof Error ? e.message : String(e) }, 'snmp request failed'),
      o.intakeLimits,
    );
  }

  /** Binds the socket. @returns the bound address and port. */
  async start(): Promise<{ address: string; port: number }> {
    const family = this.o.address.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({ type: family, reuseAddr: false });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.o.port, this.o.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (e) => this.o.log.warn({ err: e.message }, 'snmp agent socket error'));
    socket.on('message', (buf, rinfo) => {
      // Outside management.allow: dropped before any parsing, and before any budget is spent.
      if (!this.o.allowed(rinfo.address)) {
        this.refused++;
        this.o.log.debug({ address: rinfo.address }, 'snmp datagram from outside management.allow dropped');
        return;
      }
      this.intake.push(buf, rinfo);
    });
    const a = socket.address();
    return { address: a.address, port: a.port };
  }

  /** Closes the socket. */
  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async onMessage(buf: Buffer, rinfo: RemoteInfo): Promise<void> {
    if (this.o.communities?.size) {
      let version = -1;
      try {
        version = messageVersion(buf);
      } catch {
        // malformed: the engine counts it below
      }
      if ((version === VERSION.v1 || version === VERSION.v2c) && this.o.communities.serves(version))
        return this.onCommunityMessage(buf, rinfo, version);
    }
    const r = this.o.engine.process(buf);
    if (r.kind === 'drop') {
      this.o.log.debug({ address: rinfo.address, reason: r.reason }, 'snmp message dropped');
      return;
    }
    if (r.kind === 'report') {
      this.o.log.debug({ address: rinfo.address, report: r.stat }, 'snmp report');
      if (r.reply) this.send(r.reply, rinfo);
      return;
    }
    const reply = await this.dispatch(r.request, rinfo.address);
    if (reply) this.send(reply, rinfo);
  }

  /** A v1/v2c message: known community from an allowed source, then read-only dispatch. */
  private async onCommunityMessage(buf: Buffer, rinfo: RemoteInfo, version: number): Promise<void> {
    const table = this.o.communities as CommunityTable;
    let msg;
    try {
      msg = parseCommunityMessage(buf);
    } catch (e) {
      this.o.engine.stats.parseErrors++;
      this.o.log.debug(
        { address: rinfo.address, err: e instanceof Error ? e.message : String(e) },
        'malformed SNMPv1/v2c message dropped',
      );
      return;
    }
    const matched = table.match(version, msg.community, rinfo.address);
    if (matched === null) {
      this.o.log.debug(
        { address: rinfo.address, version: version === VERSION.v1 ? '1' : '2c' },
        'SNMP message with a bad community dropped',
      );
      return;
    }
    const label = version === VERSION.v1 ? 'SNMPv1' : 'SNMPv2c';
    const maxSize = 65507 - msg.community.length - 16;
    const respond = (pdu: Buffer): Buffer => buildCommunityMessage(version, msg.community, pdu);
    const user = {
      name: `community:${matched.name}`,
      access: 'ro' as const,
      ...(matched.view ? { view: matched.view } : {}),
    };
    if (version === VERSION.v1) {
      const pdu = msg.pdu;
      if (pdu.type === TAG.SetRequest) {
        // As snmpd answers a v1 SET to an rocommunity (RFC 2576 4.4 maps noAccess to noSuchName).
        this.deny(user.name, rinfo.address, pdu.varbinds, `${label} community: read-only`);
        const echo = pdu.varbinds.map((vb) => encVarbind(vb.oid, vb.value));
        this.send(respond(encPdu(TAG.Response, pdu.requestId, V1_ERR.noSuchName, 1, echo)), rinfo);
        return;
      }
      const reply = v1Response(await this.o.mib.index(), pdu, maxSize, matched.view);
      if (reply) this.send(respond(reply), rinfo);
      return;
    }
    const reply = await this.dispatch(
      { user, pdu: msg.pdu, maxSize, readOnly: `${label} community: read-only`, respond },
      rinfo.address,
    );
    if (reply) this.send(reply, rinfo);
  }

  /** Audits a refused SET (and counts it when it came with a community). */
  private deny(name: string, address: string, varbinds: readonly Varbind[], detail: string): void {
    if (name.startsWith('community:') && this.o.communities) this.o.communities.badCommunityUses++;
    const principal: Principal = { name, role: 'ReadOnly', origin: 'snmp', address };
    this.o.audit(principal, `snmp set ${varbinds.map((vb) => oidText(vb.oid)).join(' ')}`, 'denied', detail);
  }

  private send(buf: Buffer, rinfo: RemoteInfo): void {
    this.socket?.send(buf, rinfo.port, rinfo.address);
  }

  /** Answers one authenticated request; null for PDU types an agent does not answer. */
  async dispatch(req: SecureRequest, address: string): Promise<Buffer | null> {
    const pdu = req.pdu;
    const index = await this.o.mib.index();
    const view = req.user.view;
    let vbs: Buffer[];
    switch (pdu.type) {
      case TAG.GetRequest:
        vbs = pdu.varbinds.map((vb) => this.get(index, view, vb));
        break;
      case TAG.GetNextRequest:
        vbs = pdu.varbinds.map((vb) => this.getNext(index, view, vb));
        break;
      case TAG.GetBulkRequest:
        return req.respond(this.getBulk(index, view, pdu, req.maxSize));
      case TAG.SetRequest:
        return req.respond(await this.set(index, req, address));
      default:
        return null;
    }
    return req.respond(this.fit(pdu, vbs, req.maxSize));
  }

  private fit(pdu: Pdu, vbs: Buffer[], maxSize: number): Buffer {
    const size = vbs.reduce((n, b) => n + b.length, 0);
    if (size + HEADROOM > maxSize) return encPdu(TAG.Response, pdu.requestId, ERR.tooBig, 0, []);
    return encPdu(TAG.Response, pdu.requestId, ERR.noError, 0, vbs);
  }

  private get(index: MibIndex, view: MibView | undefined, vb: Varbind): Buffer {
    // As snmpd and RFC 3416 4.2.1: a name outside the view is noSuchObject, whatever exists there.
    if (view && !view.contains(vb.oid)) return encVarbind(vb.oid, V.noSuchObject());
    const e = index.get(vb.oid);
    if (e) return encodedVarbind(e);
    return encVarbind(vb.oid, index.isUnderObject(vb.oid) ? V.noSuchInstance() : V.noSuchObject());
  }

  private getNext(index: MibIndex, view: MibView | undefined, vb: Varbind): Buffer {
    const e = index.entries[nextVisiblePosition(index, view, vb.oid)];
    return e ? encodedVarbind(e) : encVarbind(vb.oid, V.endOfMibView());
  }

  private getBulk(index: MibIndex, view: MibView | undefined, pdu: Pdu, maxSize: number): Buffer {
    const n = pdu.varbinds.length;
    const nonRep = Math.min(Math.max(pdu.errorStatus, 0), n);
    const reps = Math.min(Math.max(pdu.errorIndex, 0), MAX_REPETITIONS);
    const out: Buffer[] = [];
    let size = HEADROOM;
    for (let i = 0; i < nonRep; i++) {
      const b = this.getNext(index, view, pdu.varbinds[i] as Varbind);
      size += b.length;
      out.push(b);
    }
    if (size > maxSize) return encPdu(TAG.Response, pdu.requestId, ERR.tooBig, 0, []);
    const repeaters = pdu.varbinds.slice(nonRep);
    const pos = repeaters.map((vb) => nextVisiblePosition(index, view, vb.oid));
    const last = repeaters.map((vb) => vb.oid);
    const entries = index.entries;
    // RFC 3416 4.2.3: stop early once the response is full (never tooBig for repetitions).
    outer: for (let r = 0; r < reps && repeaters.length > 0; r++) {
      let allEnd = true;
      for (let j = 0; j < repeaters.length; j++) {
        const p = pos[j] as number;
        const e: IndexedEntry | undefined = entries[p];
        const b = e ? encodedVarbind(e) : encVarbind(last[j] as readonly number[], V.endOfMibView());
        if (size + b.length > maxSize) break outer;
        size += b.length;
        out.push(b);
        if (e) {
          allEnd = false;
          last[j] = e.oid;
          pos[j] = visibleFrom(index, view, p + 1);
        }
      }
      if (allEnd) break;
    }
    return encPdu(TAG.Response, pdu.requestId, ERR.noError, 0, out);
  }

  private async set(index: MibIndex, req: SecureRequest, address: string): Promise<Buffer> {
    const pdu = req.pdu;
    const echo = pdu.varbinds.map((vb) => encVarbind(vb.oid, vb.value));
    const fail = (status: number, i: number): Buffer => encPdu(TAG.Response, pdu.requestId, status, i + 1, echo);
    const principal: Principal = {
      name: req.user.name,
      role: req.user.access === 'rw' ? 'Operator' : 'ReadOnly',
      origin: 'snmp',
      address,
    };
    const action = `snmp set ${pdu.varbinds.map((vb) => oidText(vb.oid)).join(' ')}`;
    if (req.readOnly || req.user.access !== 'rw') {
      this.deny(req.user.name, address, pdu.varbinds, req.readOnly ?? 'read-only SNMP user');
      return fail(ERR.noAccess, 0);
    }
    // Every varbind's view first, as snmpd does: noAccess names the first hidden one (RFC 3416 4.2.5).
    const view = req.user.view;
    const hidden = view ? pdu.varbinds.findIndex((vb) => !view.contains(vb.oid)) : -1;
    if (hidden >= 0) {
      this.o.audit(
        principal,
        action,
        'denied',
        `${oidText((pdu.varbinds[hidden] as Varbind).oid)} is outside the view of ${req.user.name}`,
      );
      return fail(ERR.noAccess, hidden);
    }
    const targets: { entry: IndexedEntry; vb: Varbind; i: number }[] = [];
    for (const [i, vb] of pdu.varbinds.entries()) {
      const entry = index.get(vb.oid);
      if (!entry) return fail(index.isUnderObject(vb.oid) ? ERR.noCreation : ERR.notWritable, i);
      if (!entry.write) return fail(ERR.notWritable, i);
      const status = entry.write.check(vb.value);
      if (status !== ERR.noError) return fail(status, i);
      targets.push({ entry, vb, i });
    }
    // Applied in OID order, so parameters (e.g. the wake time) precede the action that uses them.
    targets.sort((a, b) => compareOid(a.vb.oid, b.vb.oid));
    for (const t of targets) {
      const i = t.i;
      try {
        await t.entry.write?.commit(t.vb.value, principal);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        this.o.log.warn({ oid: oidText(t.vb.oid), user: req.user.name, err: msg }, 'snmp set failed');
        this.o.audit(principal, action, 'failed', msg);
        this.o.mib.invalidate();
        const denied = (e as { code?: string }).code === 'E_ACCESS_DENIED';
        return fail(denied ? ERR.noAccess : ERR.commitFailed, i);
      }
    }
    this.o.audit(principal, action, 'ok');
    this.o.mib.invalidate();
    return encPdu(TAG.Response, pdu.requestId, ERR.noError, 0, echo);
  }
}
