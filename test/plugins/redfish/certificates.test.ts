/**
 * CertificateService (#14): GenerateCSR and ReplaceCertificate for the HTTPS certificate, judged
 * by real peers: Debian's `openssl` verifies the CSR and a CA made with it signs it, and TLS
 * clients that trust only that CA (Node's tls, `openssl s_client -verify_return_error`) connect
 * after the live reload, while a connection opened before keeps working.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedfishSchemas } from '../../../plugins/redfish/tools/schema-validator.js';
import { oemJsonSchemaFiles } from '../../../plugins/redfish/resources/oem-schema.js';
import { CertificateStore } from '../../../plugins/redfish/certs/certificate-store.js';
import { request } from 'node:https';
import { opensslKeyAndCert } from '../../../testkit/index.js';
import { bootRedfish, type RedfishHarness, type RfBody, type RfResponse } from './support.js';

const run = promisify(execFile);
const schemas = new RedfishSchemas(join(__dirname, '../../../plugins/redfish/dmtf/json-schema'), oemJsonSchemaFiles());
const CS = '/redfish/v1/CertificateService';
const GENERATE = `${CS}/Actions/CertificateService.GenerateCSR`;
const REPLACE = `${CS}/Actions/CertificateService.ReplaceCertificate`;
const CERTS = '/redfish/v1/Managers/vpmd/NetworkProtocol/HTTPS/Certificates';
const CERT = `${CERTS}/1`;
const BASE = 'Base.1.22.1';

let h: RedfishHarness;
let admin: string;
let operator: string;
let viewer: string;
let work: string;

/** Runs openssl in the work directory. */
async function openssl(...args: string[]): Promise<string> {
  return (await run('openssl', args, { cwd: work })).stdout;
}

/** Signs a CSR with the test CA; dates as `openssl ca` wants them (YYYYMMDDHHMMSSZ) or valid now for 30 days. */
async function sign(csr: string, out: string, dates?: { start: string; end: string }): Promise<string> {
  await writeFile(join(work, 'req.csr'), csr);
  if (dates) {
    await openssl(
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca.key',
      '-notext',
      '-startdate',
      dates.start,
      '-enddate',
      dates.end,
      '-in',
      'req.csr',
      '-out',
      out,
    );
  } else {
    await openssl(
      'x509',
      '-req',
      '-in',
      'req.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '30',
      '-copy_extensions',
      'copy',
      '-extfile',
      'server.ext',
      '-out',
      out,
    );
  }
  return readFile(join(work, out), 'utf8');
}

/** A TLS connection to the service trusting only `ca`, or the handshake error's code. */
function tlsTo(ca: string): Promise<TLSSocket | string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: h.port, ca }, () => resolve(s));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** One GET of the service root over an open socket (HTTP/1.1 keep-alive); the status line. */
function getOver(s: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (c: Buffer): void => {
      buf += c.toString('utf8');
      const head = buf.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(buf)?.[1];
      if (head >= 0 && len !== undefined && buf.length >= head + 4 + Number(len)) {
        s.off('data', onData);
        resolve(buf.split('\r\n')[0] ?? '');
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write('GET /redfish/v1/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  });
}

/** `openssl s_client` trusting only the test CA, checking the IP address; its output. */
function sClientVerify(): Promise<string> {
  return new Promise((resolve) => {
    const c = execFile(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${h.port}`,
        '-CAfile',
        'ca.pem',
        '-verify_return_error',
        '-verify_ip',
        '127.0.0.1',
        '-brief',
      ],
      { cwd: work },
      (_e, stdout, stderr) => resolve(`${stdout}${stderr}`),
    );
    c.stdin?.end();
  });
}

/** A request trusting only `ca` (the harness's client trusts the generated certificate). */
function rfTrusting(ca: string, method: string, path: string, token: string, body?: unknown): Promise<RfResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port: h.port,
        method,
        path,
        ca,
        agent: false,
        headers: {
          'X-Auth-Token': token,
          ...(payload
            ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) as RfBody });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function messageId(r: RfResponse): string {
  return r.json.error['@Message.ExtendedInfo'][0].MessageId;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vpmd-rf-cert-'));
  await opensslKeyAndCert({
    dir: work,
    subject: '/CN=vpmd test CA',
    extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
    keyFile: 'ca.key',
    certFile: 'ca.pem',
    days: 3,
  });
  await writeFile(join(work, 'server.ext'), 'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(work, 'index.txt'), '');
  await writeFile(join(work, 'serial'), '1000\n');
  await writeFile(
    join(work, 'ca.cnf'),
    '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\ncopy_extensions=copy\n[p]\ncommonName=supplied\n',
  );
  h = await bootRedfish();
  await h.addAccount('admin', 'Administrator', 'Admin-pass-1');
  await h.addAccount('oper', 'Operator', 'Oper-pass-1');
  await h.addAccount('viewer', 'ReadOnly', 'Viewer-pass-1');
  admin = await h.login('admin', 'Admin-pass-1');
  operator = await h.login('oper', 'Oper-pass-1');
  viewer = await h.login('viewer', 'Viewer-pass-1');
}, 60_000);
afterAll(async () => {
  await h?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

// One agent's story, in order under `--sequence.shuffle`: the generated certificate as found, then
// bad input (which signs other.pem for the last test), a CA-signed install, and a bundle install.
describe('the HTTPS certificate over Redfish', { shuffle: false }, () => {
  describe('CertificateService resources', { shuffle: false }, () => {
    it('are linked from the service root and the HTTPS protocol, and conform to their schemas', async () => {
      const root = await h.rf('GET', '/redfish/v1/');
      expect(root.json.CertificateService).toEqual({ '@odata.id': CS });
      const np = await h.rf('GET', '/redfish/v1/Managers/vpmd/NetworkProtocol', { token: admin });
      expect((np.json.HTTPS as Record<string, unknown>).Certificates).toEqual({ '@odata.id': CERTS });
      expect((await h.rf('GET', CS, { token: admin })).json.CertificateLocations).toEqual({
        '@odata.id': `${CS}/CertificateLocations`,
      });
      // Who may not read the certificate gets no link to it (a 403 link fails every tree walker).
      for (const token of [operator, viewer]) {
        const npOther = await h.rf('GET', '/redfish/v1/Managers/vpmd/NetworkProtocol', { token });
        expect(npOther.json.HTTPS).not.toHaveProperty('Certificates');
        expect((await h.rf('GET', CS, { token })).json).not.toHaveProperty('CertificateLocations');
      }
      for (const uri of [CS, `${CS}/CertificateLocations`, CERTS, CERT]) {
        const r = await h.rf('GET', uri, { token: admin });
        expect(r.status, uri).toBe(200);
        expect(schemas.check(r.json), uri).toEqual([]);
      }
      const cert = await h.rf('GET', CERT, { token: admin });
      expect(cert.json.Description).toMatch(/generated/);
      expect(cert.json.Fingerprint).toBe(new X509Certificate(h.ca).fingerprint256);
      expect(cert.text).not.toMatch(/PRIVATE KEY/);
    });

    it('gives the certificate and the actions to ConfigureManager only (403 for Operator and ReadOnly)', async () => {
      expect((await h.rf('GET', CS, { token: viewer })).status).toBe(200);
      for (const token of [operator, viewer]) {
        expect((await h.rf('GET', CERT, { token })).status).toBe(403);
        const body = { CertificateCollection: { '@odata.id': CERTS }, CommonName: 'x' };
        const g = await h.rf('POST', GENERATE, { token, body });
        expect(g.status).toBe(403);
        expect(messageId(g)).toBe(`${BASE}.InsufficientPrivilege`);
        const r = await h.rf('POST', REPLACE, {
          token,
          body: { CertificateString: h.ca, CertificateType: 'PEM', CertificateUri: { '@odata.id': CERT } },
        });
        expect(r.status).toBe(403);
      }
    });
  });

  describe('GenerateCSR then ReplaceCertificate', { shuffle: false }, () => {
    it('refuses bad input with the Base message that says why, and changes nothing', async () => {
      const served = (await h.rf('GET', CERT, { token: admin })).json.Fingerprint;
      const replace = (CertificateString: unknown, extra: Record<string, unknown> = {}) =>
        h.rf('POST', REPLACE, {
          token: admin,
          body: { CertificateString, CertificateType: 'PEM', CertificateUri: { '@odata.id': CERT }, ...extra },
        });
      // Not a certificate.
      let r = await replace('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
      expect([r.status, messageId(r)]).toEqual([400, `${BASE}.ActionParameterValueFormatError`]);
      r = await replace('hello');
      expect(messageId(r)).toBe(`${BASE}.ActionParameterValueFormatError`);
      // A certificate for another key than the pending one (openssl made that key).
      await h.rf('POST', GENERATE, {
        token: admin,
        body: { CertificateCollection: { '@odata.id': CERTS }, CommonName: 'a' },
      });
      const otherCsr = await opensslKeyAndCert({
        dir: work,
        subject: '/CN=other',
        extensions: ['subjectAltName=IP:127.0.0.1'],
        keyFile: 'other.key',
        csrFile: 'other.csr',
      });
      const other = await sign(otherCsr.pem, 'other.pem');
      r = await replace(other);
      expect([r.status, messageId(r)]).toEqual([400, `${BASE}.ActionParameterValueConflict`]);
      expect(r.json.error['@Message.ExtendedInfo'][0].Message).toMatch(/not for the key of the last GenerateCSR/);
      // The same certificate with its own key in the string is accepted as a bundle, but a wrong key is not.
      const wrongKey = await readFile(join(work, 'ca.key'), 'utf8');
      r = await replace(other + wrongKey);
      expect(messageId(r)).toBe(`${BASE}.ActionParameterValueConflict`);
      expect(r.text).not.toMatch(/PRIVATE KEY/);
      // Expired, and not yet valid.
      const oldCert = await sign(otherCsr.pem, 'old.pem', {
        start: '20200101000000Z',
        end: '20200201000000Z',
      });
      r = await replace(oldCert + otherCsr.key);
      expect([r.status, messageId(r)]).toEqual([400, `${BASE}.ActionParameterValueError`]);
      expect(r.json.error['@Message.ExtendedInfo'][0].Message).toMatch(/expired on 2020-02-01/);
      const future = await sign(otherCsr.pem, 'future.pem', {
        start: '20990101000000Z',
        end: '20990201000000Z',
      });
      r = await replace(future + otherCsr.key);
      expect(r.json.error['@Message.ExtendedInfo'][0].Message).toMatch(/not valid before 2099/);
      // Parameters.
      r = await replace(other, { CertificateType: 'PKCS12' });
      expect(messageId(r)).toBe(`${BASE}.ActionParameterValueNotInList`);
      r = await replace(other, { CertificateUri: { '@odata.id': '/redfish/v1/Managers/vpmd/Certificates/9' } });
      expect(messageId(r)).toBe(`${BASE}.ActionParameterValueNotInList`);
      r = await h.rf('POST', REPLACE, { token: admin, body: { CertificateString: other } });
      expect(r.json.error['@Message.ExtendedInfo'].map((m) => m.MessageId)).toEqual([
        `${BASE}.ActionParameterMissing`,
        `${BASE}.ActionParameterMissing`,
      ]);
      r = await h.rf('POST', GENERATE, {
        token: admin,
        body: { CertificateCollection: { '@odata.id': CERTS }, CommonName: 'a', ChallengePassword: 'x' },
      });
      expect(messageId(r)).toBe(`${BASE}.ActionParameterNotSupported`);
      r = await h.rf('POST', GENERATE, {
        token: admin,
        body: { CertificateCollection: { '@odata.id': CERTS }, CommonName: 'a', KeyCurveId: 'TPM_ECC_BN_P256' },
      });
      expect(messageId(r)).toBe(`${BASE}.ActionParameterValueNotInList`);
      expect((await h.rf('GET', CERT, { token: admin })).json.Fingerprint).toBe(served);
    }, 60_000);

    it('installs a certificate signed by an openssl CA live, keeping open connections', async () => {
      const g = await h.rf('POST', GENERATE, {
        token: admin,
        body: {
          CertificateCollection: { '@odata.id': CERTS },
          CommonName: 'vpmd.example.org',
          Organization: 'Example',
          Country: 'DE',
          AlternativeNames: ['vpmd.example.org', '127.0.0.1'],
        },
      });
      expect(g.status, g.text).toBe(200);
      expect(g.json.CertificateCollection).toEqual({ '@odata.id': CERTS });
      expect(g.text).not.toMatch(/PRIVATE KEY/);
      const csr = g.json.CSRString as string;
      await writeFile(join(work, 'check.csr'), csr);
      expect(await openssl('req', '-verify', '-noout', '-subject', '-in', 'check.csr')).toMatch(
        /C = DE, O = Example, CN = vpmd.example.org/,
      );
      const keyFile = join(h.agent.dir, 'state', 'plugins', 'redfish', 'tls', 'csr-key.pem');
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const signed = await sign(csr, 'server.pem');
      const ca = await readFile(join(work, 'ca.pem'), 'utf8');

      const before = await tlsTo(h.ca);
      if (typeof before === 'string') throw new Error(`cannot connect with the generated certificate: ${before}`);
      expect(await getOver(before)).toBe('HTTP/1.1 200 OK');

      const r = await h.rf('POST', REPLACE, {
        token: admin,
        body: { CertificateString: signed, CertificateType: 'PEM', CertificateUri: { '@odata.id': CERT } },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.headers.location).toBe(CERT);
      expect(schemas.check(r.json)).toEqual([]);
      const leaf = new X509Certificate(signed);
      expect(r.json.Fingerprint).toBe(leaf.fingerprint256);
      expect(r.json.Issuer).toMatchObject({ CommonName: 'vpmd test CA' });
      expect(r.json.Subject).toMatchObject({ CommonName: 'vpmd.example.org', Organization: 'Example', Country: 'DE' });
      expect(r.json.KeyUsage).toEqual(['DigitalSignature', 'ServerAuthentication']);
      expect(r.json.ValidNotAfter).toBe(new Date(leaf.validTo).toISOString());
      await expect(stat(keyFile)).rejects.toThrow(/ENOENT/);

      // The connection made before the change still works; new ones get the CA-signed certificate.
      expect(await getOver(before)).toBe('HTTP/1.1 200 OK');
      before.end();
      const after = await tlsTo(ca);
      if (typeof after === 'string') throw new Error(`the CA-signed certificate is not served: ${after}`);
      expect(after.getPeerX509Certificate()?.fingerprint256).toBe(leaf.fingerprint256);
      expect(await getOver(after)).toBe('HTTP/1.1 200 OK');
      after.end();
      expect(await tlsTo(h.ca)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      const sClient = await sClientVerify();
      expect(sClient).toMatch(/Verification: OK/);

      const bundle = join(h.agent.dir, 'state', 'plugins', 'redfish', 'tls', 'installed.pem');
      expect((await stat(bundle)).mode & 0o777).toBe(0o600);
      // Read back as a restarted agent would.
      const reloaded = new CertificateStore(
        join(h.agent.dir, 'state', 'plugins', 'redfish', 'tls'),
        false,
        () => undefined,
      );
      const m = await reloaded.load(
        () => Promise.reject(new Error('not used')),
        (w) => {
          throw new Error(w);
        },
      );
      expect(new X509Certificate(m.cert).fingerprint256).toBe(leaf.fingerprint256);
    });

    it('installs a PEM bundle holding its own key, without GenerateCSR', async () => {
      const ca = await readFile(join(work, 'ca.pem'), 'utf8');
      const other = await readFile(join(work, 'other.pem'), 'utf8');
      const r = await rfTrusting(ca, 'POST', REPLACE, admin, {
        CertificateString: other + (await readFile(join(work, 'other.key'), 'utf8')),
        CertificateType: 'PEMchain',
        CertificateUri: { '@odata.id': CERT },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json.Fingerprint).toBe(new X509Certificate(other).fingerprint256);
      expect(r.text).not.toMatch(/PRIVATE KEY/);
      const audit = await rfTrusting(ca, 'GET', '/redfish/v1/Managers/vpmd/LogServices/AuditLog/Entries', admin);
      expect(audit.text).toMatch(/ReplaceCertificate: failed/);
      expect(audit.text).not.toMatch(/PRIVATE KEY/);
    });
  });
});
