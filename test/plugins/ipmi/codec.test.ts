import { createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CIPHER_SUITES,
  chooseSuites,
  parseCipherSuiteRecords,
  type CipherSuite,
} from '../../../plugins/ipmi/codec/cipher-suites.js';
import { AesCbc128, decryptPayload, encryptPayload } from '../../../plugins/ipmi/codec/crypto.js';
import { HmacSha1, hmacSha1 } from '../../../plugins/ipmi/codec/hmac-sha1.js';
import { checksum, decodeResponse, encodeRequest } from '../../../plugins/ipmi/codec/message.js';
import { PAYLOAD, decodePacket, encodeV15, encodeV20, sessionSecurity } from '../../../plugins/ipmi/codec/packet.js';
import {
  encodeOpenSession,
  encodeRakp1,
  encodeRakp3,
  rakp2Code,
  rakp4Code,
  rakpStatusError,
  sessionKeys,
  verifyRakp2,
  verifyRakp4,
  type RakpContext,
} from '../../../plugins/ipmi/codec/rakp.js';
import { ReplayWindow } from '../../../plugins/ipmi/session/replay-window.js';
import { hmac, sha1, sha256 } from './support/reference-hmac.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const suite = (id: number): CipherSuite => {
  const s = CIPHER_SUITES[id];
  if (s === undefined) throw new Error(`no suite ${id}`);
  return s;
};

describe('reference HMAC used for the known answers', () => {
  it('matches the published RFC 2202 / RFC 4231 test case 2 ("Jefe")', () => {
    const data = Buffer.from('what do ya want for nothing?');
    expect(hmac(sha1, Buffer.from('Jefe'), data).toString('hex')).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    expect(hmac(sha256, Buffer.from('Jefe'), data).toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});

describe('HMAC-SHA1 with precomputed pads (integrity trailers)', () => {
  it('matches RFC 2202 test cases 1, 2, 6 and createHmac for every length around the block boundaries', () => {
    expect(new HmacSha1(Buffer.alloc(20, 0x0b)).mac(Buffer.from('Hi There')).toString('hex')).toBe(
      'b617318655057264e28bc0b6fb378c8ef146be00',
    );
    expect(new HmacSha1(Buffer.from('Jefe')).mac(Buffer.from('what do ya want for nothing?')).toString('hex')).toBe(
      'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
    );
    // Test case 6: a key longer than the block is hashed first.
    expect(
      new HmacSha1(Buffer.alloc(80, 0xaa))
        .mac(Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'))
        .toString('hex'),
    ).toBe('aa4ae5e15272d00e95705637ce8a3b55ed402112');
    for (const keyLen of [1, 20, 64, 65]) {
      const key = randomBytes(keyLen);
      const h = new HmacSha1(key);
      for (let len = 0; len <= 200; len++) {
        const data = randomBytes(len);
        expect(h.mac(data)).toEqual(createHmac('sha1', key).update(data).digest());
      }
    }
    const out = Buffer.alloc(16, 0xee);
    new HmacSha1(Buffer.from('Jefe')).macInto(Buffer.from('what do ya want for nothing?'), out, 2, 12);
    expect(out.toString('hex')).toBe('eeeeeffcdf6ae5eb2fa2d27416d5eeee');
  });

  it('the one-shot HMAC of the RAKP exchange matches createHmac whatever keys came before', () => {
    // RFC 2202 test case 2 after other keys, and a long key after a short one: re-keying leaves
    // nothing of the previous key behind.
    hmacSha1(Buffer.alloc(80, 0xaa), Buffer.from('x'));
    expect(hmacSha1(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).toString('hex')).toBe(
      'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
    );
    for (const keyLen of [0, 1, 16, 20, 64, 65, 100, 3, 64]) {
      const key = randomBytes(keyLen);
      for (const len of [0, 1, 20, 55, 56, 63, 64, 65, 119, 120, 200]) {
        const data = randomBytes(len);
        const mac = hmacSha1(key, data);
        expect(mac).toEqual(createHmac('sha1', key).update(data).digest());
        // Each result is its own buffer: a later call does not overwrite it.
        hmacSha1(randomBytes(20), randomBytes(len));
        expect(mac).toEqual(createHmac('sha1', key).update(data).digest());
      }
    }
  });
});

describe('IPMI message framing', () => {
  it('encodes Get Device ID with both checksums', () => {
    expect(encodeRequest({ netFn: 0x06, cmd: 0x01, rqSeq: 1 }).toString('hex')).toBe('2018c88104017a');
    expect(checksum(hex('2018'))).toBe(0xc8);
  });

  it('frames Get Channel Authentication Capabilities exactly like the well-known IPMI 1.5 probe', () => {
    const pkt = encodeV15(encodeRequest({ netFn: 0x06, cmd: 0x38, rqSeq: 0, data: [0x8e, 0x04] }));
    expect(pkt.toString('hex')).toBe('0600ff07000000000000000000092018c88100388e04b5');
  });

  it('decodes a response and rejects a bad checksum', () => {
    // Get Device ID response from ipmi_sim (rqSeq 1, cc 0).
    const body = hex('811c63 2004 01 00 000309 0802 9f 911200 0200 0f00000000');
    const full = Buffer.concat([body, Buffer.from([checksum(body, 3)])]);
    const r = decodeResponse(full);
    expect(r).toMatchObject({ netFn: 0x07, cmd: 0x01, rqSeq: 1, cc: 0 });
    expect(r.data.subarray(0, 3).toString('hex')).toBe('000309');
    full[8] = (full[8] ?? 0) ^ 1;
    expect(() => decodeResponse(full)).toThrow(/checksum/);
  });
});

describe('AES-CBC-128 confidentiality with IPMI padding', () => {
  const key = hex('000102030405060708090a0b0c0d0e0f1011121314151617');
  const iv = hex('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
  const rawDecrypt = (enc: Buffer): Buffer => {
    const d = createDecipheriv('aes-128-cbc', key.subarray(0, 16), enc.subarray(0, 16)).setAutoPadding(false);
    return Buffer.concat([d.update(enc.subarray(16)), d.final()]);
  };

  it.each([
    [7, '010203040506070808'],
    [15, '00'],
    [16, '0102030405060708090a0b0c0d0e0f0f'],
    [0, '0102030405060708090a0b0c0d0e0f0f'],
  ])('pads a %i-byte payload with 1, 2 .. N, N (not PKCS#7)', (len, trailer) => {
    const payload = Buffer.alloc(len, 0xab);
    const enc = encryptPayload(key, payload, iv);
    expect(enc.subarray(0, 16)).toEqual(iv);
    const plain = rawDecrypt(enc);
    expect(plain.length % 16).toBe(0);
    expect(plain.subarray(len).toString('hex')).toBe(trailer);
    expect(decryptPayload(key, enc)).toEqual(payload);
  });

  it('rejects a ciphertext whose trailer is not an IPMI pad', () => {
    const enc = encryptPayload(key, Buffer.alloc(7, 1), iv);
    const tampered = Buffer.from(enc);
    tampered[tampered.length - 17] = (tampered[tampered.length - 17] ?? 0) ^ 0x40; // flips a plaintext bit of the last block's pad
    expect(() => decryptPayload(key, tampered)).toThrow(/pad/);
    expect(() => decryptPayload(key, enc.subarray(0, 20))).toThrow(/whole AES blocks/);
  });

  it('the session context (CBC chained on one AES-ECB context) gives the same bytes for every length, across packets', () => {
    const aes = new AesCbc128(key);
    for (let len = 0; len <= 50; len++) {
      const payload = Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff));
      const enc = aes.encrypt(payload, iv);
      expect(enc).toEqual(encryptPayload(key, payload, iv));
      expect(rawDecrypt(enc).subarray(0, len)).toEqual(payload);
      expect(aes.decrypt(enc)).toEqual(payload);
      // Random IVs: a new IV per packet, and the reference decrypts it.
      const a = aes.encrypt(payload);
      const b = aes.encrypt(payload);
      expect(a.subarray(0, 16).equals(b.subarray(0, 16))).toBe(false);
      expect(decryptPayload(key, a)).toEqual(payload);
    }
    const tampered = Buffer.from(aes.encrypt(Buffer.alloc(7, 1), iv));
    tampered[tampered.length - 17] = (tampered[tampered.length - 17] ?? 0) ^ 0x40;
    expect(() => aes.decrypt(tampered)).toThrow(/pad/);
    expect(() => aes.decrypt(tampered.subarray(0, 20))).toThrow(/whole AES blocks/);
  });
});

/** Fixed RAKP inputs: what a capture of one login would contain. */
function rakpContext(id: number, kg?: Buffer): RakpContext {
  const password = Buffer.from('password');
  return {
    suite: suite(id),
    consoleSid: 0xa0a1a2a3,
    bmcSid: 0x02000f00,
    consoleRandom: hex('00112233445566778899aabbccddeeff'),
    role: 0x14,
    username: Buffer.from('admin'),
    password,
    kg: kg ?? password,
  };
}
const BMC_RANDOM = hex('f0e0d0c0b0a090807060504030201000');
const BMC_GUID = hex('a123456789abcdefa123456789abcdef');

describe.each([
  [17, sha256, 32, 16],
  [3, sha1, 20, 12],
])('RAKP known answers, cipher suite %i', (id, hash, macLen, icvLen) => {
  const c = rakpContext(id);
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n, 0);
    return b;
  };
  const role = Buffer.from([0x14, 5]);
  const refSik = hmac(hash, c.password, Buffer.concat([c.consoleRandom, BMC_RANDOM, role, c.username]));

  it('computes the RAKP 2 code, SIK, K1, K2, RAKP 3 code and RAKP 4 value of the specification', () => {
    const ref2 = hmac(
      hash,
      c.password,
      Buffer.concat([u32(c.consoleSid), u32(c.bmcSid), c.consoleRandom, BMC_RANDOM, BMC_GUID, role, c.username]),
    );
    expect(ref2.length).toBe(macLen);
    expect(rakp2Code(c, { bmcRandom: BMC_RANDOM, bmcGuid: BMC_GUID })).toEqual(ref2);
    const keys = sessionKeys(c, BMC_RANDOM);
    expect(keys.sik).toEqual(refSik);
    expect(keys.k1).toEqual(hmac(hash, refSik, Buffer.alloc(20, 1)));
    expect(keys.k2).toEqual(hmac(hash, refSik, Buffer.alloc(20, 2)));
    const rakp3 = encodeRakp3(0x42, c, BMC_RANDOM);
    expect(rakp3.subarray(0, 8).toString('hex')).toBe('42000000000f0002');
    expect(rakp3.subarray(8)).toEqual(
      hmac(hash, c.password, Buffer.concat([BMC_RANDOM, u32(c.consoleSid), role, c.username])),
    );
    const icv = hmac(hash, refSik, Buffer.concat([c.consoleRandom, u32(c.bmcSid), BMC_GUID])).subarray(0, icvLen);
    expect(rakp4Code(c, keys.sik, BMC_GUID)).toEqual(icv);
  });

  it('accepts the right RAKP 2 and 4, names the password or the KG when one is wrong', () => {
    const good2 = hmac(
      hash,
      c.password,
      Buffer.concat([u32(c.consoleSid), u32(c.bmcSid), c.consoleRandom, BMC_RANDOM, BMC_GUID, role, c.username]),
    );
    expect(() => verifyRakp2(c, { bmcRandom: BMC_RANDOM, bmcGuid: BMC_GUID, authCode: good2 })).not.toThrow();
    const wrongPw = hmac(
      hash,
      Buffer.from('passw0rd'),
      Buffer.concat([u32(c.consoleSid), u32(c.bmcSid), c.consoleRandom, BMC_RANDOM, BMC_GUID, role, c.username]),
    );
    expect(() => verifyRakp2(c, { bmcRandom: BMC_RANDOM, bmcGuid: BMC_GUID, authCode: wrongPw })).toThrow(
      expect.objectContaining({ code: 'E_IPMI_AUTH', details: expect.objectContaining({ check: 'password' }) }),
    );
    // The BMC's RAKP 4 made with KG "bmc-key": our SIK (from the password) differs.
    const bmcSik = hmac(hash, Buffer.from('bmc-key'), Buffer.concat([c.consoleRandom, BMC_RANDOM, role, c.username]));
    const rakp4 = (sik: Buffer): Buffer =>
      Buffer.concat([
        hex('420000 00'),
        u32(c.consoleSid),
        hmac(hash, sik, Buffer.concat([c.consoleRandom, u32(c.bmcSid), BMC_GUID])).subarray(0, icvLen),
      ]);
    expect(() => verifyRakp4(c, refSik, BMC_GUID, rakp4(refSik))).not.toThrow();
    expect(() => verifyRakp4(c, refSik, BMC_GUID, rakp4(bmcSik))).toThrow(
      expect.objectContaining({ code: 'E_IPMI_AUTH', details: expect.objectContaining({ check: 'kg' }) }),
    );
    const withKg = rakpContext(id, Buffer.from('bmc-key'));
    expect(() => verifyRakp4(withKg, sessionKeys(withKg, BMC_RANDOM).sik, BMC_GUID, rakp4(bmcSik))).not.toThrow();
  });

  it('protects IPMI payloads: HMAC trailer over AuthType..NextHeader, AES payload, tampering refused', () => {
    const keys = sessionKeys(c, BMC_RANDOM);
    const sec = { suite: suite(id), k1: keys.k1, k2: keys.k2 };
    const msg = encodeRequest({ netFn: 0x04, cmd: 0x2d, rqSeq: 9, data: [1] });
    const pkt = encodeV20(PAYLOAD.ipmi, 0x02000f00, 7, msg, sec);
    expect(pkt.subarray(0, 6).toString('hex')).toBe('0600ff0706c0');
    const len = pkt.readUInt16LE(14);
    expect(len).toBe(32); // IV + one block
    const signedEnd = pkt.length - icvLen;
    expect((signedEnd - 4) % 4).toBe(0);
    expect(pkt[signedEnd - 1]).toBe(0x07);
    const padLen = pkt[signedEnd - 2] ?? 0;
    expect([...pkt.subarray(signedEnd - 2 - padLen, signedEnd - 2)].every((b) => b === 0xff)).toBe(true);
    expect(pkt.subarray(signedEnd)).toEqual(hmac(hash, keys.k1, pkt.subarray(4, signedEnd)).subarray(0, icvLen));
    const back = decodePacket(pkt, sec);
    expect(back).toMatchObject({ kind: 'v20', encrypted: true, authenticated: true, seq: 7 });
    expect(back.kind === 'v20' && back.payload).toEqual(msg);
    const tampered = Buffer.from(pkt);
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    expect(() => decodePacket(tampered, sec)).toThrow(/integrity/);
    const plain = encodeV20(PAYLOAD.ipmi, 0x02000f00, 8, msg);
    expect(() => decodePacket(plain, sec)).toThrow(/unauthenticated/);
    // The session's prepared contexts frame and read the same packets as the plain keys.
    const prepared = sessionSecurity(suite(id), keys.k1, keys.k2);
    const viaPrepared = encodeV20(PAYLOAD.ipmi, 0x02000f00, 9, msg, prepared);
    expect(viaPrepared.length).toBe(pkt.length);
    expect(viaPrepared.subarray(viaPrepared.length - icvLen)).toEqual(
      hmac(hash, keys.k1, viaPrepared.subarray(4, viaPrepared.length - icvLen)).subarray(0, icvLen),
    );
    const readBack = decodePacket(viaPrepared, sec);
    expect(readBack.kind === 'v20' && readBack.payload).toEqual(msg);
    const readPrepared = decodePacket(pkt, prepared);
    expect(readPrepared.kind === 'v20' && readPrepared.payload).toEqual(msg);
    expect(() => decodePacket(tampered, prepared)).toThrow(/integrity/);
  });
});

describe('session establishment payloads', () => {
  it('encodes Open Session for suites 3 and 17 with the algorithm records of the specification', () => {
    expect(encodeOpenSession(1, 0xa0a1a2a3, suite(3), 4).toString('hex')).toBe(
      '01040000a3a2a1a0' + '0000000801000000' + '0100000801000000' + '0200000801000000',
    );
    expect(encodeOpenSession(1, 0xa0a1a2a3, suite(17), 0).toString('hex')).toBe(
      '01000000a3a2a1a0' + '0000000803000000' + '0100000804000000' + '0200000801000000',
    );
  });

  it('encodes RAKP 1 with name-only lookup and an unpadded user name', () => {
    const r1 = encodeRakp1(0x42, rakpContext(17));
    expect(r1.toString('hex')).toBe(
      '42000000' +
        '000f0002' +
        '00112233445566778899aabbccddeeff' +
        '14' +
        '0000' +
        '05' +
        Buffer.from('admin').toString('hex'),
    );
  });

  it('maps RAKP status codes to specific errors', () => {
    expect(rakpStatusError('Open Session', 0x01)).toMatchObject({ code: 'E_IPMI_SESSION' });
    expect(rakpStatusError('RAKP 2', 0x0d)).toMatchObject({ code: 'E_IPMI_AUTH', details: { check: 'user' } });
    expect(rakpStatusError('RAKP 4', 0x0f)).toMatchObject({ code: 'E_IPMI_AUTH', details: { check: 'password' } });
    expect(rakpStatusError('Open Session', 0x11)).toMatchObject({ code: 'E_IPMI_CIPHER' });
  });
});

describe('cipher suite negotiation', () => {
  it('parses Get Channel Cipher Suites records, skipping OEM ones', () => {
    const recs = hex('c0000001800000' + 'c00301418' + '1' + 'c1 05 f2 1b 00 01 41 81' + 'c011034481');
    expect(parseCipherSuiteRecords(recs)).toEqual([0, 3, 17]);
  });

  it('prefers 17, falls back to 3, refuses suites below the floor unless allowed', () => {
    expect(chooseSuites([0, 1, 2, 3, 17], 'confidentiality').map((s) => s.id)).toEqual([17, 3]);
    expect(chooseSuites([0, 1, 2, 3], 'confidentiality').map((s) => s.id)).toEqual([3]);
    expect(chooseSuites([0, 1, 2], 'confidentiality')).toEqual([]);
    expect(chooseSuites([0, 1, 2], 'integrity').map((s) => s.id)).toEqual([2]);
    expect(chooseSuites([0, 1], 'none').map((s) => s.id)).toEqual([1, 0]);
    expect(chooseSuites([0, 1, 2, 3], 'confidentiality', 0)).toEqual([]);
  });
});

describe('inbound sequence (replay) window', () => {
  it('accepts new and slightly reordered numbers once, refuses duplicates and old ones', () => {
    const w = new ReplayWindow();
    expect([5, 6, 8, 7, 7, 8, 0].map((s) => w.accept(s))).toEqual([true, true, true, true, false, false, false]);
    expect(w.accept(100)).toBe(true);
    expect(w.accept(68)).toBe(false); // 32 behind the highest: outside the window
    expect(w.accept(69)).toBe(true); // 31 behind, never seen
    expect(w.accept(69)).toBe(false);
    // The oldest slot of the window (31 behind) and numbers near 2^32.
    const top = 0xffffff00;
    const high = new ReplayWindow();
    expect([top, top - 31, top - 31, top - 30].map((s) => high.accept(s))).toEqual([true, true, false, true]);
    expect(high.accept(top + 1)).toBe(true); // now top - 31 is 32 behind ...
    expect(high.accept(top - 31)).toBe(false);
    expect(high.accept(top - 30)).toBe(false); // ... and top - 30 is still remembered
    expect(high.accept(0xfffffffe)).toBe(true); // a jump past the window forgets everything older
    expect(high.accept(top + 1)).toBe(false);
    expect(high.accept(0xfffffffe - 31)).toBe(true);
  });
});
