/**
 * SNMPv3 notifications (RFC 3416 SNMPv2-Trap and InformRequest) to the configured managers:
 * threshold crossings (telemetry.status.v1), host power state changes (host.power.v1) and
 * hardware event log entries (hw.log.v1), as the VPMD-MIB notifications.
 *
 * Traps are sent with our engine as the authoritative one (keys localised to our engine ID, our
 * boots and time: a receiver configures the user with `-e OUR_ENGINE_ID`). Informs go to the
 * manager's engine, which we discover first (RFC 3414 4), and are retried until acknowledged.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { PluginContext, VpmdEventMap } from 'vpmd';
import { TAG } from '../codec/ber.js';
import { decPdu, encPdu, encVarbind, V, type Varbind } from '../codec/pdu.js';
import { localizeKey } from '../codec/usm-crypto.js';
import { FLAG, buildV3, openScopedPdu, parseV3, scopedPdu, type LocalizedUser } from '../codec/v3-message.js';
import { POWER_STATE_VALUE, VPMD_NOTIFICATIONS, VPMD_NOTIF_OBJECTS, VPMD_SLEEP } from '../mib/mibs/vpmd-mib.js';
import type { ManagerConfig, SnmpConfig } from '../config.js';
import type { SnmpAgent } from '../agent/snmp-agent.js';
import { decryptScopedPdu } from '../codec/usm-crypto.js';

const SYS_UPTIME = [1, 3, 6, 1, 2, 1, 1, 3, 0];
const SNMP_TRAP_OID = [1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];
const STATUS_VALUE = { ok: 1, warning: 2, critical: 3, unavailable: 4 } as const;
const SEVERITY_VALUE = { info: 1, warning: 2, critical: 3 } as const;
const INFORM_TIMEOUT_MS = 1500;
const INFORM_RETRIES = 3;

/** A notification: its OID under vpmdNotifications and its object varbinds. */
export interface Notification {
  readonly trap: number;
  readonly varbinds: readonly Varbind[];
}

/** The VPMD-MIB notification for a threshold crossing, or null for a first `ok` reading. */
export function thresholdNotification(e: VpmdEventMap['telemetry.status.v1'], unit: string): Notification | null {
  if (e.from === 'none' && e.to === 'ok') return null;
  return {
    trap: 1,
    varbinds: [
      { oid: [...VPMD_NOTIF_OBJECTS, 1, 0], value: V.str(e.metric) },
      { oid: [...VPMD_NOTIF_OBJECTS, 2, 0], value: V.int(STATUS_VALUE[e.to]) },
      {
        oid: [...VPMD_NOTIF_OBJECTS, 3, 0],
        value: V.str(e.value === null ? 'unavailable' : `${e.value} ${unit}`.trim()),
      },
    ],
  };
}

/** The VPMD-MIB notification for a host power change. */
export function powerNotification(e: VpmdEventMap['host.power.v1']): Notification {
  return {
    trap: 2,
    varbinds: [{ oid: [...VPMD_SLEEP, 2, 0], value: V.int(e.state === 'off' ? 5 : POWER_STATE_VALUE[e.state]) }],
  };
}

/** The VPMD-MIB notification for a hardware event log entry. */
export function hwLogNotification(e: VpmdEventMap['hw.log.v1']): Notification {
  return {
    trap: 3,
    varbinds: [
      { oid: [...VPMD_NOTIF_OBJECTS, 4, 0], value: V.str(e.source) },
      { oid: [...VPMD_NOTIF_OBJECTS, 5, 0], value: V.int(SEVERITY_VALUE[e.severity]) },
      { oid: [...VPMD_NOTIF_OBJECTS, 6, 0], value: V.str(e.message) },
    ],
  };
}

/** vpmdPowerBudgetEvent: a VM's power budget was exhausted (throttled) or recovered. */
export function budgetNotification(e: VpmdEventMap['power.budget.v1']): Notification {
  return {
    trap: 4,
    varbinds: [
      { oid: [...VPMD_NOTIF_OBJECTS, 4, 0], value: V.str(e.vm) },
      { oid: [...VPMD_NOTIF_OBJECTS, 6, 0], value: V.str(`budget ${e.kind}: ${e.reason}`) },
    ],
  };
}

interface RemoteEngine {
  readonly engineId: Buffer;
  boots: number;
  /** Manager's engineTime at `at` (our clock). */
  time: number;
  at: number;
  user: LocalizedUser;
}

/** Sends notifications to every configured manager. */
export class Notifier {
  private socket: Socket | undefined;
  private readonly remotes = new Map<string, RemoteEngine>();
  private readonly keys = new Map<string, LocalizedUser>();
  private readonly waiting = new Map<number, (reply: Buffer) => void>();
  private msgId = Math.floor(Math.random() * 1e9);
  /** Notifications sent (and informs acknowledged) per manager, for status. */
  readonly sent = new Map<string, { sent: number; acknowledged: number; failed: number }>();

  constructor(
    private readonly ctx: PluginContext<SnmpConfig>,
    private readonly agent: SnmpAgent,
  ) {}

  /** Subscribes to the events and opens the sending socket. */
  start(): void {
    if (this.ctx.config.managers.length === 0) return;
    const family = this.ctx.access.bindAddress().includes(':') ? 'udp6' : 'udp4';
    this.socket = createSocket(family);
    this.socket.bind(0, this.ctx.access.bindAddress());
    this.socket.on('message', (buf) => this.onReply(buf));
    this.socket.on('error', (e) => this.ctx.log.warn({ err: e.message }, 'snmp notification socket error'));
    const unitOf = (id: string): string => {
      try {
        return this.ctx.telemetry.get(id).unit;
      } catch {
        return '';
      }
    };
    this.ctx.events.on('telemetry.status.v1', (e) => {
      const n = thresholdNotification(e, unitOf(e.metric));
      if (n) this.broadcast(n);
    });
    this.ctx.events.on('host.power.v1', (e) => this.broadcast(powerNotification(e)));
    this.ctx.events.on('hw.log.v1', (e) => this.broadcast(hwLogNotification(e)));
    // The power plugin's budget events, when it is loaded (its event type exists only then).
    if (this.ctx.events.names().includes('power.budget.v1'))
      this.ctx.events.on('power.budget.v1', (e) => this.broadcast(budgetNotification(e)));
  }

  /** Closes the socket; pending informs are abandoned. */
  stop(): void {
    this.socket?.close();
    this.socket = undefined;
    this.waiting.clear();
  }

  /** Sends `n` to every manager; a failing manager is logged, never thrown at the event bus. */
  broadcast(n: Notification): void {
    for (const m of this.ctx.config.managers) {
      this.send(m, n).catch((e: unknown) => {
        this.count(m.name, 'failed');
        this.ctx.log.warn(
          { manager: m.name, err: e instanceof Error ? e.message : String(e) },
          'snmp notification failed',
        );
      });
    }
  }

  private count(name: string, what: 'sent' | 'acknowledged' | 'failed'): void {
    const c = this.sent.get(name) ?? { sent: 0, acknowledged: 0, failed: 0 };
    c[what]++;
    this.sent.set(name, c);
  }

  private pdu(type: number, requestId: number, n: Notification): Buffer {
    const vbs = [
      encVarbind(SYS_UPTIME, V.ticks(this.agent.uptimeTicks())),
      encVarbind(SNMP_TRAP_OID, V.oid([...VPMD_NOTIFICATIONS, n.trap])),
      ...n.varbinds.map((vb) => encVarbind(vb.oid, vb.value)),
    ];
    return encPdu(type, requestId, 0, 0, vbs);
  }

  private async send(m: ManagerConfig, n: Notification): Promise<void> {
    const engine = this.agent.engine;
    if (!engine || !this.socket) return;
    const id = this.nextId();
    if (!m.inform) {
      const user = this.localUser(m, engine.engineId);
      const msg = buildV3({
        msgId: id,
        flags: FLAG.auth | FLAG.priv,
        engineId: engine.engineId,
        boots: engine.boots,
        time: engine.time(),
        user,
        scopedPdu: scopedPdu(engine.engineId, '', this.pdu(TAG.TrapV2, id, n)),
      });
      this.socket.send(msg, m.port, m.address);
      this.count(m.name, 'sent');
      return;
    }
    for (let attempt = 0; attempt <= INFORM_RETRIES; attempt++) {
      const remote = await this.discover(m, attempt > 0);
      const reqId = this.nextId();
      const msgId = this.nextId();
      const time = remote.time + Math.floor((Date.now() - remote.at) / 1000);
      const msg = buildV3({
        msgId,
        flags: FLAG.auth | FLAG.priv | FLAG.reportable,
        engineId: remote.engineId,
        boots: remote.boots,
        time,
        user: remote.user,
        scopedPdu: scopedPdu(remote.engineId, '', this.pdu(TAG.InformRequest, reqId, n)),
      });
      this.count(m.name, 'sent');
      const reply = await this.request(msgId, msg, m);
      if (reply && this.isAck(reply, reqId, remote)) {
        this.count(m.name, 'acknowledged');
        return;
      }
    }
    throw new Error(`inform to ${m.address}:${m.port} not acknowledged after ${INFORM_RETRIES + 1} attempts`);
  }

  /** RFC 3414 4: learn the manager's engine ID, boots and time (cached; refreshed on a retry). */
  private async discover(m: ManagerConfig, refresh: boolean): Promise<RemoteEngine> {
    const known = this.remotes.get(m.name);
    if (known && !refresh) return known;
    const msgId = this.nextId();
    const probe = buildV3({
      msgId,
      flags: FLAG.reportable,
      engineId: Buffer.alloc(0),
      boots: 0,
      time: 0,
      user: null,
      scopedPdu: scopedPdu(Buffer.alloc(0), '', encPdu(TAG.GetRequest, this.nextId(), 0, 0, [])),
    });
    const reply = await this.request(msgId, probe, m);
    if (!reply) throw new Error(`manager ${m.address}:${m.port} did not answer engine discovery`);
    const sp = parseV3(reply).security;
    if (sp.engineId.length === 0) throw new Error(`manager ${m.address}:${m.port} reported an empty engine ID`);
    const engineId = Buffer.from(sp.engineId);
    const user = known?.engineId.equals(engineId) ? known.user : this.localUser(m, engineId);
    const remote: RemoteEngine = { engineId, boots: sp.boots, time: sp.time, at: Date.now(), user };
    this.remotes.set(m.name, remote);
    return remote;
  }

  private localUser(m: ManagerConfig, engineId: Buffer): LocalizedUser {
    // Localising hashes a megabyte per key: once per manager and engine, not per notification.
    const key = `${m.name}/${engineId.toString('hex')}`;
    const cached = this.keys.get(key);
    if (cached) return cached;
    const user: LocalizedUser = {
      name: m.user.name,
      auth: m.user.auth,
      priv: m.user.priv,
      authKey: localizeKey(m.user.auth, m.user.authPassphrase, engineId),
      privKey: localizeKey(m.user.auth, m.user.privPassphrase, engineId),
    };
    this.keys.set(key, user);
    return user;
  }

  private isAck(reply: Buffer, reqId: number, remote: RemoteEngine): boolean {
    try {
      const msg = parseV3(reply);
      let plain = msg.data;
      if (msg.flags & FLAG.priv) {
        if (!remote.user.priv || !remote.user.privKey) return false;
        plain = decryptScopedPdu(
          remote.user.priv,
          remote.user.auth,
          remote.user.privKey,
          msg.security.boots,
          msg.security.time,
          msg.security.privParams,
          msg.data,
        );
      }
      const pdu = decPdu(openScopedPdu(plain).pdu);
      if (pdu.type === TAG.Report) {
        // notInTimeWindow: adopt the manager's clock for the retry.
        remote.boots = msg.security.boots;
        remote.time = msg.security.time;
        remote.at = Date.now();
        return false;
      }
      return pdu.type === TAG.Response && pdu.requestId === reqId;
    } catch {
      return false;
    }
  }

  private request(msgId: number, msg: Buffer, m: ManagerConfig): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(msgId);
        resolve(null);
      }, INFORM_TIMEOUT_MS);
      this.waiting.set(msgId, (reply) => {
        clearTimeout(timer);
        this.waiting.delete(msgId);
        resolve(reply);
      });
      this.socket?.send(msg, m.port, m.address);
    });
  }

  private onReply(buf: Buffer): void {
    try {
      const msg = parseV3(buf);
      this.waiting.get(msg.msgId)?.(buf);
    } catch {
      /* not an SNMPv3 message for us */
    }
  }

  private nextId(): number {
    this.msgId = (this.msgId + 1) % 2147483647;
    return this.msgId;
  }
}
