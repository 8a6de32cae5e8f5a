/**
 * One RMCP+ session with one BMC: channel capabilities, cipher suite negotiation, RAKP login,
 * privilege, then requests with rqSeq management, bounded retransmits, replay checks, and an
 * always-attempted Close Session.
 */
import { randomBytes } from 'node:crypto';
import { VpmdError, toVpmdError } from 'vpmd';
import { chooseSuites, type CipherSuite } from '../codec/cipher-suites.js';
import { decodeResponse, encodeRequest, type IpmiResponse } from '../codec/message.js';
import { PAYLOAD, decodePacket, encodeV15, encodeV20, sessionSecurity, type PacketSecurity } from '../codec/packet.js';
import {
  PRIVILEGE,
  decodeOpenSession,
  decodeRakp2,
  encodeOpenSession,
  encodeRakp1,
  encodeRakp3,
  sessionKeys,
  verifyRakp2,
  verifyRakp4,
  type RakpContext,
} from '../codec/rakp.js';
import { ReplayWindow } from './replay-window.js';
import {
  commandError,
  type RequestSpec,
  type SessionStats,
  type SessionTarget,
  type SessionTiming,
} from './session-target.js';
import { classifyDecodeError, dominantFault, newStats, noAnswerError } from './link-faults.js';
import {
  AllAnswers,
  EachAnswer,
  OneAnswer,
  RequestTable,
  failRequest,
  countersBefore,
  ipmiRequest,
  loginExchange,
  noteCounters,
  type Pending,
} from './request-table.js';
import { listCipherSuites, noAcceptableSuite } from './suite-negotiation.js';
import { RetransmitWait } from './retransmit-wait.js';
import type { SlotWaiter, UdpEndpoint } from './udp-endpoint.js';

export {
  commandError,
  type RequestSpec,
  type SessionStats,
  type SessionTarget,
  type SessionTiming,
} from './session-target.js';

/** Payload type standing for a sessionless IPMI 1.5 message. */
const V15 = -1;
const NO_DATA = new Uint8Array(0);
/**
 * Commands a session at User level may send (netFn << 8 | cmd; IPMI 2.0 appendix G, DCMI 1.5):
 * what a poll reads, and Set Session Privilege itself.
 */
const USER_LEVEL = new Set([
  0x063b, // Set Session Privilege Level
  0x0601, // Get Device ID
  0x0001, // Get Chassis Status
  0x0a20, // Get SDR Repository Info
  0x0a22, // Reserve SDR Repository
  0x0a23, // Get SDR
  0x0a40, // Get SEL Info
  0x0a42, // Reserve SEL
  0x0a43, // Get SEL Entry
  0x042d, // Get Sensor Reading
  0x0427, // Get Sensor Thresholds
  0x2c02, // DCMI Get Power Reading
]);
/** Longest time Close Session is retransmitted while a session closes. */
const CLOSE_BUDGET_MS = 2000;

/** An IPMI 2.0 session. Create with {@link IpmiSession.open}. */
export class IpmiSession implements SlotWaiter {
  private security: PacketSecurity | undefined;
  private bmcSid = 0;
  private consoleSid = 0;
  private outSeq = 0;
  private readonly requests = new RequestTable();
  /** Requests waiting for an rqSeq, oldest first. */
  private readonly awaitingSeq: Array<Pending<IpmiResponse>> = [];
  /** Requests holding an rqSeq and waiting for a socket slot; each has one entry in the endpoint's line. */
  private readonly awaitingSlot: Array<Pending<IpmiResponse>> = [];
  private readonly replay = new ReplayWindow();
  private readonly unregister: () => void;
  private closed = false;
  private readonly wait: RetransmitWait;
  /** While closing: at most one retransmit, so a dead BMC cannot hold up a stop for long. */
  private closing = false;
  /** Negotiated suite, once open. */
  suite: CipherSuite | undefined;
  /** Settles once Set Session Privilege is answered (at once when none is needed); rejects when refused. */
  privileged: Promise<void> = Promise.resolve();
  /** While Set Session Privilege is unanswered: only User-level reads go out. */
  private raising = false;
  /** Time of the last answered request (keepalive). */
  lastActivity = Date.now();
  readonly stats: SessionStats = newStats();
  /**
   * Round trips in the longest chain of requests since the session began, login included: each
   * request is one deeper than the answer whose handling sent it (what a cold poll waits through).
   */
  rounds = 0;
  /** Depth of the answer being handled (its continuations send the next requests). */
  private depthNow = 0;

  private constructor(
    private readonly endpoint: UdpEndpoint,
    readonly target: SessionTarget,
    private readonly timing: SessionTiming,
  ) {
    this.wait = new RetransmitWait(timing.timeoutMs, endpoint);
    this.unregister = endpoint.register(target.host, target.port, (msg) => this.onDatagram(msg));
  }

  /**
   * Logs in: auth capabilities, cipher suites, Open Session, RAKP 1-4, Set Session Privilege.
   * @throws E_IPMI_AUTH (details.check: user | password | kg | privilege), E_IPMI_CIPHER,
   *   E_IPMI_SESSION (no free session), E_IPMI_TIMEOUT, E_IPMI_PROTOCOL
   */
  static async open(
    endpoint: UdpEndpoint,
    target: SessionTarget,
    timing: SessionTiming,
    suiteHint?: number,
  ): Promise<IpmiSession> {
    const s = new IpmiSession(endpoint, target, timing);
    try {
      await s.login(suiteHint);
      return s;
    } catch (e) {
      await s.close();
      throw e;
    }
  }

  /**
   * A pinned suite, or `suiteHint` (the suite this BMC took last time) when it meets the floor,
   * goes straight to Open Session; the BMC's list of suites is read only when that is refused,
   * to choose another or to say why none fits. That saves a login several round trips.
   */
  private async login(suiteHint: number | undefined): Promise<void> {
    const capsAnswer = this.sessionless(0x06, 0x38, [0x8e, PRIVILEGE[this.target.privilege]]);
    const wanted = this.target.cipherSuite ?? suiteHint;
    const direct = wanted === undefined ? undefined : chooseSuites(undefined, this.target.cipherFloor, wanted)[0];
    // With the suite known, Open Session goes out with Get Channel Authentication Capabilities
    // (RMCP+ does not depend on its answer): one round trip less. The answer is still checked
    // before anything else is sent.
    const opening = direct === undefined ? undefined : this.rakp(direct);
    opening?.catch(() => undefined); // awaited below
    const caps = await capsAnswer.catch(async (e: unknown) => {
      // The key exchange may still be under way: once it settles, close() knows whether the BMC
      // holds an active session to close. Failing at once could leave one open behind.
      await opening?.catch(() => undefined);
      throw e;
    });
    if (((caps[1] ?? 0) & 0x80) === 0 || ((caps[3] ?? 0) & 0x02) === 0) {
      await opening?.catch(() => undefined);
      throw new VpmdError('E_IPMI_SESSION', `BMC ${this.target.name} does not offer IPMI 2.0 (RMCP+) on this channel`, {
        target: this.target.name,
      });
    }
    let refusal: VpmdError | undefined;
    if (direct !== undefined && opening !== undefined) {
      try {
        await opening;
        this.suite = direct;
      } catch (e) {
        if (!(e instanceof VpmdError && e.code === 'E_IPMI_CIPHER')) throw e;
        refusal = e;
      }
    }
    if (this.suite === undefined) await this.negotiate(direct?.id, refusal);
    const priv = PRIVILEGE[this.target.privilege];
    if (priv > PRIVILEGE.user) this.raisePrivilege(priv);
  }

  /**
   * Sends Set Session Privilege without waiting for it: a session starts at User level, and the
   * read commands of a poll (all User level) go out with it. Any other request waits for its
   * answer; when the BMC refuses, they fail with the refusal, the session closes, and
   * {@link privileged} rejects.
   */
  private raisePrivilege(priv: number): void {
    this.raising = true;
    this.privileged = this.call(0x06, 0x3b, [priv]).then(
      () => {
        this.raising = false;
        this.pump();
      },
      (e: unknown) => {
        this.raising = false;
        const cc = e instanceof VpmdError ? e.details.completionCode : undefined;
        const err =
          typeof cc === 'number'
            ? new VpmdError(
                'E_IPMI_AUTH',
                `BMC ${this.target.name} refused privilege ${this.target.privilege} for the session: ${e instanceof Error ? e.message : String(e)}`,
                { target: this.target.name, check: 'privilege', completionCode: cc },
              )
            : toVpmdError(e);
        void this.close(err);
        throw err;
      },
    );
    this.privileged.catch(() => undefined); // the requests that wait for it carry the error
  }

  /** Chooses from the BMC's list the strongest suite that meets the floor, other than `refused`. */
  private async negotiate(refused: number | undefined, refusal: VpmdError | undefined): Promise<void> {
    const offered = await listCipherSuites((index) => this.sessionless(0x06, 0x54, [0x0e, 0x00, 0x80 | index]));
    const candidates = chooseSuites(offered, this.target.cipherFloor, this.target.cipherSuite).filter(
      (c) => c.id !== refused,
    );
    if (candidates.length === 0) {
      // The BMC lists the suite it just refused: its refusal says more than the list.
      if (refusal !== undefined && (offered === undefined || offered.includes(refused ?? -1))) throw refusal;
      throw noAcceptableSuite(this.target, offered);
    }
    let last: unknown;
    for (const suite of candidates) {
      try {
        await this.rakp(suite);
        this.suite = suite;
        return;
      } catch (e) {
        last = e;
        // Only a refused suite moves on to the next one; a wrong password stays wrong.
        if (!(e instanceof VpmdError && e.code === 'E_IPMI_CIPHER' && offered === undefined)) throw e;
      }
    }
    throw last;
  }

  private async rakp(suite: CipherSuite): Promise<void> {
    this.consoleSid = randomBytes(4).readUInt32LE(0) || 1;
    const tag = randomBytes(1)[0] ?? 0;
    const open = decodeOpenSession(
      await this.exchange(
        `Open Session (suite ${suite.id})`,
        PAYLOAD.openSessionRequest,
        encodeOpenSession(tag, this.consoleSid, suite, PRIVILEGE[this.target.privilege]),
        PAYLOAD.openSessionResponse,
        tag,
      ),
    );
    this.bmcSid = open.bmcSid;
    const password = Buffer.from(this.target.password, 'utf8');
    const ctx: RakpContext = {
      suite,
      consoleSid: this.consoleSid,
      bmcSid: open.bmcSid,
      consoleRandom: randomBytes(16),
      role: PRIVILEGE[this.target.privilege] | 0x10,
      username: Buffer.from(this.target.username, 'utf8'),
      password,
      kg: this.target.kg ?? password,
    };
    const r2 = decodeRakp2(await this.exchange('RAKP 1', PAYLOAD.rakp1, encodeRakp1(tag, ctx), PAYLOAD.rakp2, tag));
    verifyRakp2(ctx, r2);
    const keys = sessionKeys(ctx, r2.bmcRandom);
    let r4: Buffer;
    try {
      r4 = await this.exchange('RAKP 3', PAYLOAD.rakp3, encodeRakp3(tag, ctx, r2.bmcRandom), PAYLOAD.rakp4, tag);
    } catch (e) {
      // RAKP 4 lost: the BMC may hold an active session it will not open twice. With the keys
      // both sides derived, close() can still send Close Session instead of leaking the slot.
      this.security = sessionSecurity(suite, keys.k1, keys.k2);
      throw e;
    }
    verifyRakp4(ctx, keys.sik, r2.bmcGuid, r4);
    this.security = sessionSecurity(suite, keys.k1, keys.k2);
  }

  /** Sends a request and returns the response data; a non-zero completion code throws. */
  async call(netFn: number, cmd: number, data: readonly number[] | Uint8Array = NO_DATA, rsLun = 0): Promise<Buffer> {
    const r = await this.request(netFn, cmd, data, rsLun);
    if (r.cc !== 0) throw commandError(this.target.name, netFn, cmd, r.cc);
    return r.data;
  }

  /** Sends a request inside the session; resolves with the response, whatever its completion code. */
  request(
    netFn: number,
    cmd: number,
    data: readonly number[] | Uint8Array = NO_DATA,
    rsLun = 0,
  ): Promise<IpmiResponse> {
    if (this.closed || this.closing) return Promise.reject(this.closedError());
    return this.submit(PAYLOAD.ipmi, netFn, cmd, data, rsLun);
  }

  /** A sessionless IPMI 1.5 request (before login). */
  private async sessionless(netFn: number, cmd: number, data: readonly number[]): Promise<Buffer> {
    const r = await this.submit(V15, netFn, cmd, data, 0);
    if (r.cc !== 0) throw commandError(this.target.name, netFn, cmd, r.cc);
    return r.data;
  }

  /**
   * Queues an IPMI request; it is sent once it has an rqSeq and a socket slot. Waiting is kept
   * in plain queues, not a suspended function per request: a sweep queues thousands.
   */
  private submit(
    payloadType: number,
    netFn: number,
    cmd: number,
    data: readonly number[] | Uint8Array,
    rsLun: number,
  ): Promise<IpmiResponse> {
    return new Promise<IpmiResponse>((resolve, reject) => {
      this.awaitingSeq.push(ipmiRequest(payloadType, netFn, cmd, data, rsLun, new OneAnswer(resolve, reject), 0));
      this.pump();
    });
  }

  /**
   * Sends several requests together; resolves with their responses in order, whatever their
   * completion codes, or rejects with the first failure. One promise for the lot: a sweep of
   * 1,000 BMCs would otherwise make one per reading.
   */
  requestAll(requests: readonly RequestSpec[]): Promise<IpmiResponse[]> {
    if (this.closed || this.closing) return Promise.reject(this.closedError());
    if (requests.length === 0) return Promise.resolve([]);
    return new Promise<IpmiResponse[]>((resolve, reject) => {
      const sink = new AllAnswers<IpmiResponse>(requests.length, resolve, reject);
      requests.forEach((r, i) =>
        this.awaitingSeq.push(ipmiRequest(PAYLOAD.ipmi, r.netFn, r.cmd, r.data, r.rsLun, sink, i)),
      );
      this.pump();
    });
  }

  /**
   * Sends several requests together; resolves, once all are settled, with each one's response
   * or error in order. A lost reading then costs that reading, not the others.
   */
  requestEach(requests: readonly RequestSpec[]): Promise<Array<IpmiResponse | Error>> {
    if (this.closed || this.closing) return Promise.reject(this.closedError());
    if (requests.length === 0) return Promise.resolve([]);
    return new Promise<Array<IpmiResponse | Error>>((resolve) => {
      const sink = new EachAnswer<IpmiResponse>(requests.length, resolve);
      requests.forEach((r, i) =>
        this.awaitingSeq.push(ipmiRequest(PAYLOAD.ipmi, r.netFn, r.cmd, r.data, r.rsLun, sink, i)),
      );
      this.pump();
    });
  }

  /** Moves queued requests on, in order, as rqSeqs and socket slots free up. */
  private pump(): void {
    while (!this.closed && this.awaitingSeq.length > 0) {
      // While the privilege is being raised, a request that needs more than User waits, in order.
      const head = this.awaitingSeq[0] as Pending<IpmiResponse>;
      if (this.raising && head.payloadType === PAYLOAD.ipmi && !USER_LEVEL.has((head.netFn << 8) | head.cmd)) return;
      const rqSeq = this.requests.tryTake();
      if (rqSeq < 0) return;
      const p = this.awaitingSeq.shift() as Pending<IpmiResponse>;
      p.rqSeq = rqSeq;
      if (this.awaitingSlot.length === 0 && this.endpoint.tryAcquire()) this.launch(p);
      else {
        this.awaitingSlot.push(p);
        this.endpoint.enqueue(this);
      }
    }
  }

  /** The endpoint gave this session a slot: the longest-waiting request takes it. */
  slotGranted(): void {
    const p = this.awaitingSlot.shift();
    if (p === undefined)
      this.endpoint.release(); // its request was failed by close()
    else this.launch(p);
  }

  /** Sends a request holding its rqSeq and a socket slot; both are returned by {@link finish}. */
  private launch(p: Pending<IpmiResponse>): void {
    p.message = encodeRequest({ netFn: p.netFn, cmd: p.cmd, data: p.data, rqSeq: p.rqSeq, rsLun: p.rsLun });
    p.firstSent = performance.now();
    this.requests.track(p);
    this.transmit(p);
  }

  /** A login message (Open Session, RAKP 1/3) answered by `replyType` carrying `tag`. */
  private async exchange(
    label: string,
    payloadType: number,
    payload: Buffer,
    replyType: number,
    tag: number,
  ): Promise<Buffer> {
    await this.endpoint.acquire();
    return new Promise<Buffer>((resolve, reject) => {
      const p = loginExchange(label, payloadType, payload, replyType, tag, new OneAnswer(resolve, reject));
      this.requests.exchanges.add(p);
      this.transmit(p);
    });
  }

  /** The datagram of one attempt: in-session requests get a new session sequence number (never 0) each time. */
  private frame(p: Pending<unknown>): Buffer {
    const message = p.message ?? NO_DATA;
    if (p.payloadType === V15) return encodeV15(message);
    if (p.payloadType !== PAYLOAD.ipmi) return encodeV20(p.payloadType, 0, 0, message);
    this.outSeq = (this.outSeq + 1) >>> 0 || 1;
    return encodeV20(PAYLOAD.ipmi, this.bmcSid, this.outSeq, message, this.security);
  }

  private transmit(p: Pending<unknown>): void {
    p.attempts++;
    if (p.attempts > 1) this.stats.retransmits++;
    else {
      noteCounters(p, this.stats);
      p.depth = this.depthNow + 1;
      if (p.depth > this.rounds) this.rounds = p.depth;
    }
    this.stats.sent++;
    p.lastSent = performance.now();
    this.wait.sent(p);
    this.endpoint.send(this.target.host, this.target.port, this.frame(p));
    // A static handler with arguments: no closure per attempt.
    p.timer = setTimeout(IpmiSession.expired, this.wait.after(p.attempts), this, p);
  }

  /**
   * An attempt went unanswered: retransmit while the request has retries left or its time
   * budget allows another wait; otherwise fail it, naming what came back instead of an answer.
   */
  private static expired(this: void, s: IpmiSession, p: Pending<unknown>): void {
    const elapsed = performance.now() - p.firstSent;
    const minimum = s.closing ? Math.min(1, s.timing.retries) : s.timing.retries;
    // Close Session too is retried on a lossy link (a lost one leaks the BMC's slot), but a
    // stop waits for it at most 2 s.
    const budget = Math.min(s.closing ? CLOSE_BUDGET_MS : Infinity, s.timing.budgetMs ?? 0);
    if (p.attempts <= minimum || elapsed + s.wait.after(p.attempts + 1) <= budget) {
      s.transmit(p);
      return;
    }
    s.finish(p);
    const what = p.rqSeq >= 0 ? `command 0x${p.netFn.toString(16)}/0x${p.cmd.toString(16)}` : p.label;
    const since = countersBefore(p);
    const fault = dominantFault(s.stats, since);
    failRequest(p.sink, p.index, noAnswerError(s.target, what, p.attempts, elapsed, fault, s.stats, since));
  }

  /** Stops tracking a sent request and returns its rqSeq and socket slot. Called once per request. */
  private finish(p: Pending<unknown>): void {
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.rqSeq >= 0) this.requests.release(p.rqSeq);
    else this.requests.exchanges.delete(p);
    this.endpoint.release();
    this.pump();
  }

  /** Routes one datagram; anything malformed, forged, replayed or unexpected is dropped. */
  private onDatagram(msg: Buffer): void {
    let payloadType: number;
    let body: Buffer;
    let response: IpmiResponse | undefined;
    this.stats.received++;
    // An RMCP+ IPMI payload for a session other than ours: checked before the integrity check,
    // which would otherwise call it malformed (it is signed with another session's key).
    if (msg.length >= 10 && msg[4] === 0x06 && ((msg[5] ?? 0) & 0x3f) === PAYLOAD.ipmi) {
      const sid = msg.readUInt32LE(6);
      if (sid !== 0 && sid !== this.consoleSid) {
        this.stats.wrongSession++;
        this.stats.dropped++;
        return;
      }
    }
    try {
      const d = decodePacket(msg, this.security);
      if (d.kind === 'v15') {
        payloadType = V15;
        body = d.message;
      } else {
        if (this.security !== undefined && d.payloadType === PAYLOAD.ipmi) {
          if (d.sessionId !== this.consoleSid) {
            this.stats.wrongSession++;
            this.stats.dropped++;
            return;
          }
          if (!this.replay.accept(d.seq)) {
            this.stats.dropped++; // a duplicate or replay: counted only towards flooding
            return;
          }
        }
        payloadType = d.payloadType;
        body = d.payload;
      }
      // A message with bad checksums is line noise, not an answer: drop it before matching.
      if (payloadType === PAYLOAD.ipmi || payloadType === V15) response = decodeResponse(body);
    } catch (e) {
      this.stats[classifyDecodeError(e)]++;
      this.stats.dropped++;
      return;
    }
    if (response !== undefined) {
      const p = this.requests.lookup(response.rqSeq);
      if (
        p !== undefined &&
        p.replyType === payloadType &&
        (p.netFn | 1) === response.netFn &&
        p.cmd === response.cmd
      ) {
        this.depthNow = p.depth;
        this.finish(p);
        this.wait.answered(p);
        if (payloadType === PAYLOAD.ipmi) this.lastActivity = Date.now();
        p.sink.answered(p.index, response);
        return;
      }
      this.wait.unmatched(response);
    } else if (body.length >= 8 && body[1] === 0 && body.readUInt32LE(4) !== this.consoleSid) {
      // Login replies carry no integrity check: a successful one must also name our console
      // session id, or a corrupted copy that kept the tag would be taken for the answer.
      this.stats.wrongSession++;
    } else {
      for (const p of this.requests.exchanges) {
        if (p.replyType === payloadType && body[0] === p.tag) {
          this.depthNow = p.depth;
          this.finish(p);
          this.wait.answered(p);
          p.sink.answered(p.index, body);
          return;
        }
      }
    }
    this.stats.dropped++;
  }

  private closedError(): VpmdError {
    return new VpmdError('E_IPMI_SESSION', `session with ${this.target.name} is closed`, { target: this.target.name });
  }

  /** True while the session can carry requests. */
  get isOpen(): boolean {
    return !this.closed && !this.closing && this.security !== undefined;
  }

  /** The BMC's session id (what `ipmitool session info` lists). */
  get bmcSessionId(): number {
    return this.bmcSid;
  }

  /**
   * Sends Close Session (once, bounded) when a session exists, then fails every pending request
   * and releases the socket route. Never throws: a dead BMC must not block a stop.
   */
  async close(cause?: VpmdError): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    const closed =
      cause ??
      new VpmdError('E_IPMI_SESSION', `session with ${this.target.name} closed`, {
        target: this.target.name,
      });
    // Requests not sent yet never will be: Close Session goes next.
    this.abandonQueued(closed);
    if (this.security !== undefined) {
      const sid = Buffer.alloc(4);
      sid.writeUInt32LE(this.bmcSid >>> 0, 0);
      try {
        await this.submit(PAYLOAD.ipmi, 0x06, 0x3c, sid, 0);
      } catch {
        // The BMC is gone or already dropped the session: nothing left to release there.
      }
    }
    this.closed = true;
    for (const p of this.requests.inFlight()) {
      this.finish(p);
      failRequest(p.sink, p.index, closed);
    }
    this.unregister();
  }

  /** Fails the requests still waiting for an rqSeq or a socket slot. */
  private abandonQueued(e: VpmdError): void {
    for (const p of this.awaitingSlot.splice(0)) {
      this.requests.release(p.rqSeq); // its place in the endpoint's line returns the slot when granted
      failRequest(p.sink, p.index, e);
    }
    for (const p of this.awaitingSeq.splice(0)) failRequest(p.sink, p.index, e);
  }
}
