/**
 * The session code with cipher suite 17 end to end, against a responder whose HMACs come from
 * the test's independent SHA-256 (no local BMC offers suite 17; see support/suite17-bmc.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceId } from '../../../plugins/ipmi/commands/chassis.js';
import { IpmiSession, type SessionTarget } from '../../../plugins/ipmi/session/session.js';
import { UdpEndpoint } from '../../../plugins/ipmi/session/udp-endpoint.js';
import { startSuite17Bmc, type Suite17Bmc } from './support/suite17-bmc.js';

let plain: Suite17Bmc;
let withKg: Suite17Bmc;
let endpoint: UdpEndpoint;
const timing = { timeoutMs: 300, retries: 1 };
const target = (bmc: Suite17Bmc, over: Partial<SessionTarget> = {}): SessionTarget => ({
  name: 'bmc17',
  host: '127.0.0.1',
  port: bmc.port,
  username: 'admin',
  password: 'secret17',
  privilege: 'administrator',
  cipherFloor: 'confidentiality',
  ...over,
});

beforeAll(async () => {
  plain = await startSuite17Bmc('admin', 'secret17');
  withKg = await startSuite17Bmc('admin', 'secret17', 'the-bmc-key');
  endpoint = await UdpEndpoint.open('127.0.0.1');
});
afterAll(async () => {
  await endpoint?.close();
  await plain?.close();
  await withKg?.close();
});

describe('cipher suite 17', () => {
  it('negotiates 17, logs in, runs an encrypted and authenticated command and closes', async () => {
    // Counts are relative: a failed login of another test may still be open on the BMC.
    const before = plain.open.size;
    const s = await IpmiSession.open(endpoint, target(plain), timing);
    expect(s.suite?.id).toBe(17);
    expect(plain.open.size).toBe(before + 1);
    expect(await deviceId(s)).toMatchObject({
      deviceId: 0x20,
      firmware: '1.17',
      ipmiVersion: '2.0',
      manufacturerId: 0x0157,
      productId: 0x1234,
    });
    await s.close();
    expect(plain.open.size).toBe(before);
  });

  it('uses the KG for the session key when the BMC has one', async () => {
    const before = withKg.open.size;
    await expect(
      IpmiSession.open(endpoint, target(withKg, { kg: Buffer.from('another-key') }), timing),
    ).rejects.toMatchObject({ code: 'E_IPMI_AUTH', details: { check: 'kg' } });
    // The config pads KG to 20 bytes with zeros, which HMAC keys treat as the same key.
    const padded = await IpmiSession.open(
      endpoint,
      target(withKg, { kg: Buffer.concat([Buffer.from('the-bmc-key'), Buffer.alloc(9)]) }),
      timing,
    );
    expect((await deviceId(padded)).productId).toBe(0x1234);
    await padded.close();
    // Ours is closed. The wrong-KG login stays active on the BMC until it times out there: the
    // password was right (RAKP 3 accepted), and without the KG nobody can sign its Close Session.
    expect(withKg.open.size).toBe(before + 1);
  });

  it('names the failed check: password, KG or user', async () => {
    await expect(IpmiSession.open(endpoint, target(plain, { password: 'wrong' }), timing)).rejects.toMatchObject({
      code: 'E_IPMI_AUTH',
      details: { check: 'password' },
    });
    await expect(IpmiSession.open(endpoint, target(withKg), timing)).rejects.toMatchObject({
      code: 'E_IPMI_AUTH',
      details: { check: 'kg' },
    });
    await expect(IpmiSession.open(endpoint, target(plain, { username: 'nobody' }), timing)).rejects.toMatchObject({
      code: 'E_IPMI_AUTH',
      details: { check: 'user' },
    });
  });

  it('tries a remembered suite first; when the BMC refuses it, lists its suites and takes 17', async () => {
    const before = plain.open.size;
    const direct = await IpmiSession.open(endpoint, target(plain), timing, 17);
    // Get Channel Authentication Capabilities, Open Session, RAKP 1 and 3, Set Session
    // Privilege: no suite listing.
    expect(direct.stats.sent - direct.stats.retransmits).toBe(5);
    await direct.close();
    const stale = await IpmiSession.open(endpoint, target(plain), timing, 3);
    expect(stale.suite?.id).toBe(17);
    // ... plus the refused Open Session (suite 3) and Get Channel Cipher Suites.
    expect(stale.stats.sent - stale.stats.retransmits).toBe(7);
    expect(plain.open.size).toBe(before + 1);
    await stale.close();
    // A hint below the floor is not tried at all.
    const floored = await IpmiSession.open(endpoint, target(plain), timing, 1);
    expect(floored.stats.sent - floored.stats.retransmits).toBe(6);
    await floored.close();
    expect(plain.open.size).toBe(before);
  });

  it('refuses a BMC whose only suite is below a pinned choice', async () => {
    await expect(IpmiSession.open(endpoint, target(plain, { cipherSuite: 3 }), timing)).rejects.toMatchObject({
      code: 'E_IPMI_CIPHER',
      message: expect.stringMatching(/offers cipher suites \[17\]/),
    });
  });
});
