/**
 * USM time-window and message-processing rules of our engine (RFC 3414 3.2), driven with a
 * controlled clock: the net-snmp tools cannot send a message 151 s in the past on demand.
 * Messages are built like a manager builds them (keys localised to the agent's engine ID).
 */
import { describe, expect, it } from 'vitest';
import { TAG, encOid } from '../../../plugins/snmp/codec/ber.js';
import { ProcessorLoad } from '../../../plugins/snmp/mib/mibs/standard.js';
import { decPdu, encPdu, encVarbind, V } from '../../../plugins/snmp/codec/pdu.js';
import { localizeKey } from '../../../plugins/snmp/codec/usm-crypto.js';
import { UsmEngine, type KeyedUser } from '../../../plugins/snmp/engine/usm-engine.js';
import { FLAG, buildV3, openScopedPdu, parseV3, scopedPdu } from '../../../plugins/snmp/codec/v3-message.js';
import type { SysfsBackend } from 'vpmd';

const ENGINE = Buffer.from('800186 9f05 0102030405060708090a0b0c'.replace(/ /g, ''), 'hex');
const user: KeyedUser = {
  name: 'ops',
  auth: 'sha256',
  priv: 'aes',
  access: 'ro',
  authKey: localizeKey('sha256', 'ops-auth-pass', ENGINE),
  privKey: localizeKey('sha256', 'ops-priv-pass', ENGINE),
};

function engineAt(clock: { t: number }): UsmEngine {
  return new UsmEngine({
    engineId: ENGINE,
    boots: 7,
    startedAt: 0,
    users: () => new Map([['ops', user]]),
    minLevel: 'authPriv',
    now: () => clock.t,
  });
}

function getRequest(boots: number, time: number, engineId = ENGINE, u: KeyedUser = user): Buffer {
  const pdu = encPdu(TAG.GetRequest, 42, 0, 0, [encVarbind([1, 3, 6, 1, 2, 1, 1, 1, 0], V.null())]);
  return buildV3({
    msgId: 9,
    flags: FLAG.auth | FLAG.priv | FLAG.reportable,
    engineId,
    boots,
    time,
    user: u,
    scopedPdu: scopedPdu(engineId, '', pdu),
  });
}

function reportOf(reply: Buffer | null): { oid: string; boots: number; time: number; authenticated: boolean } {
  const m = parseV3(reply as Buffer);
  const pdu = decPdu(openScopedPdu(m.data).pdu);
  expect(pdu.type).toBe(TAG.Report);
  return {
    oid: pdu.varbinds[0]?.oid.join('.') ?? '',
    boots: m.security.boots,
    time: m.security.time,
    authenticated: (m.flags & FLAG.auth) !== 0,
  };
}

describe('USM engine time window (RFC 3414 3.2 step 7)', () => {
  it('accepts a message 150 s from our engineTime and refuses 151 s, either way', () => {
    const clock = { t: 1_000_000 };
    const e = engineAt(clock);
    expect(e.time()).toBe(1000);
    expect(e.process(getRequest(7, 850)).kind).toBe('request');
    expect(e.process(getRequest(7, 1150)).kind).toBe('request');
    for (const t of [849, 1151]) {
      const r = e.process(getRequest(7, t));
      expect(r.kind).toBe('report');
      const rep = reportOf(r.kind === 'report' ? r.reply : null);
      // An authenticated report carrying our boots and time, so the manager can resynchronise.
      expect(rep).toEqual({ oid: '1.3.6.1.6.3.15.1.1.2.0', boots: 7, time: 1000, authenticated: true });
    }
    expect(e.stats.notInTimeWindows).toBe(2);
  });

  it('refuses a message with another engineBoots', () => {
    const e = engineAt({ t: 10_000 });
    const r = e.process(getRequest(6, 10));
    expect(r.kind === 'report' && reportOf(r.reply).oid).toBe('1.3.6.1.6.3.15.1.1.2.0');
  });

  it('answers discovery with an unauthenticated report carrying the engine ID', () => {
    const e = engineAt({ t: 5_000 });
    const pdu = encPdu(TAG.GetRequest, 1, 0, 0, []);
    const probe = buildV3({
      msgId: 1,
      flags: FLAG.reportable,
      engineId: Buffer.alloc(0),
      boots: 0,
      time: 0,
      user: null,
      scopedPdu: scopedPdu(Buffer.alloc(0), '', pdu),
    });
    const r = e.process(probe);
    expect(r.kind).toBe('report');
    const m = parseV3((r as { reply: Buffer }).reply);
    expect(m.security.engineId.equals(ENGINE)).toBe(true);
    expect(reportOf((r as { reply: Buffer }).reply)).toEqual({
      oid: '1.3.6.1.6.3.15.1.1.4.0',
      boots: 7,
      time: 5,
      authenticated: false,
    });
  });

  it('checks the digest before anything is decrypted or answered', () => {
    const e = engineAt({ t: 5_000 });
    const forged = getRequest(7, 5);
    const m = parseV3(forged);
    forged[m.authAt.start] = (forged[m.authAt.start] as number) ^ 1;
    const r = e.process(forged);
    expect(r.kind === 'report' && reportOf(r.reply)).toEqual({
      oid: '1.3.6.1.6.3.15.1.1.5.0',
      boots: 7,
      time: 5,
      authenticated: false,
    });
    expect(e.stats.wrongDigests).toBe(1);
    expect(e.stats.decryptionErrors).toBe(0);
  });

  it('sends no report when the reportable flag is clear', () => {
    const e = engineAt({ t: 5_000 });
    const pdu = encPdu(TAG.GetRequest, 1, 0, 0, []);
    const msg = buildV3({
      msgId: 1,
      flags: FLAG.auth | FLAG.priv,
      engineId: ENGINE,
      boots: 7,
      time: 5,
      user: { ...user, name: 'ghost' },
      scopedPdu: scopedPdu(ENGINE, '', pdu),
    });
    const r = e.process(msg);
    expect(r).toEqual({ kind: 'report', reply: null, stat: 'unknownUserNames' });
  });

  it('never parses a truncated message as a request', () => {
    const e = engineAt({ t: 5_000 });
    const r = e.process(getRequest(7, 5).subarray(0, 40));
    expect(r.kind).toBe('drop');
    expect(e.stats.parseErrors).toBe(1);
    expect(encOid([1, 3]).length).toBe(3);
  });
});

describe('hrProcessorLoad sampling', () => {
  it('averages busy time between the oldest sample within a minute and the newest', async () => {
    let text = 'cpu0 100 0 0 900 0 0 0 0\ncpu1 0 0 0 1000 0 0 0 0\n';
    const backend = { read: async () => text } as unknown as SysfsBackend;
    const load = new ProcessorLoad(backend);
    await load.sample(0);
    expect(load.loads()).toEqual(
      new Map([
        [0, 10],
        [1, 0],
      ]),
    );
    text = 'cpu0 400 0 0 1000 0 0 0 0\ncpu1 50 0 0 1050 0 0 0 0\n';
    await load.sample(30_000);
    expect(load.loads()).toEqual(
      new Map([
        [0, 75],
        [1, 50],
      ]),
    );
    text = 'cpu0 400 0 0 1400 0 0 0 0\ncpu1 50 0 0 1450 0 0 0 0\n';
    await load.sample(61_000);
    // The sample from t=0 fell out of the minute: (400-400)/(1800-1400) busy.
    expect(load.loads()).toEqual(
      new Map([
        [0, 0],
        [1, 0],
      ]),
    );
  });
});
