/**
 * The HTTPS certificate of the service and its replacement over Redfish (CertificateService).
 *
 * Where the certificate comes from, first match wins: the configured files (`tlsCert`/`tlsKey`,
 * then replacing over Redfish is refused: the files are the operator's), the pair installed by
 * ReplaceCertificate (`installed.pem`: key and chain in ONE file, written atomically, so a crash
 * leaves the old pair or the new one, never half), the generated self-signed pair.
 *
 * GenerateCSR keeps the new private key in `csr-key.pem` (mode 0600) until a certificate for it
 * is installed; a later GenerateCSR replaces it. No private key is ever logged or served.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from 'vpmd';
import type { TlsMaterial } from '../http/tls.js';
import { buildCsr, newKeyPair, type CsrSubject, type KeySpec } from './csr.js';

/** Why a certificate was refused; the routes map each kind to its Base message. */
export class CertificateRefusal extends Error {
  constructor(
    /** `format`: not PEM / not a certificate; `key`: no key or not the certificate's; `value`: dates, usage, chain. */
    readonly kind: 'format' | 'key' | 'value',
    message: string,
  ) {
    super(message);
    this.name = 'CertificateRefusal';
  }
}

/** What is served now. */
export interface ServedCertificate {
  /** The leaf and any intermediates, PEM, in order. */
  readonly chain: string;
  readonly source: 'config' | 'generated' | 'state' | 'installed';
}

/** The certificate accepted by {@link CertificateStore.replace}. */
export interface Installed {
  readonly leaf: X509Certificate;
  readonly keySource: 'csr' | 'bundle';
}

/** Tolerated clock difference with the CA for a certificate's start of validity. */
const NOT_BEFORE_SKEW_MS = 5 * 60_000;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The PEM blocks of `text`, by label. */
function pemBlocks(text: string): Array<{ label: string; pem: string }> {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1] as string, pem: `${m[0]}\n` }));
}

/** The date of an X509Certificate validity field (`Nov 21 12:00:00 2026 GMT`). */
export function certDate(text: string): Date {
  return new Date(text);
}

/** The HTTPS certificate, its pending CSR key, and live replacement. */
export class CertificateStore {
  private served: ServedCertificate | undefined;
  /** Serializes GenerateCSR and ReplaceCertificate (each reads and writes the key files). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly bundleFile: string;
  private readonly csrKeyFile: string;

  /**
   * @param dir the plugin's `tls` state directory.
   * @param configured true when `tlsCert`/`tlsKey` are set: replacement is then refused.
   * @param apply puts new material into the listener (live, for new connections).
   */
  constructor(
    private readonly dir: string,
    readonly configured: boolean,
    private readonly apply: (m: { cert: string; key: string }) => void,
  ) {
    this.bundleFile = join(dir, 'installed.pem');
    this.csrKeyFile = join(dir, 'csr-key.pem');
  }

  /**
   * The material to listen with: the installed pair when there is one (and no configured
   * files), else `fallback` (configured, kept or generated). An installed pair that does not
   * load is reported through `warn` and the fallback is served.
   */
  async load(fallback: () => Promise<TlsMaterial>, warn: (message: string) => void): Promise<TlsMaterial> {
    if (!this.configured) {
      const text = await readFile(this.bundleFile, 'utf8').catch(() => undefined);
      if (text !== undefined) {
        try {
          const { chain, key } = this.parse(text);
          createSecureContext({ cert: chain, key: key.export({ type: 'pkcs8', format: 'pem' }) as string });
          this.served = { chain, source: 'installed' };
          return {
            cert: chain,
            key: key.export({ type: 'pkcs8', format: 'pem' }) as string,
            source: 'state',
            certFile: this.bundleFile,
          };
        } catch (e) {
          warn(`${this.bundleFile} cannot be used (${(e as Error).message}); serving the earlier certificate`);
        }
      }
    }
    const m = await fallback();
    this.served = { chain: m.cert, source: m.source };
    return m;
  }

  /** What is served now (undefined before load). */
  current(): ServedCertificate | undefined {
    return this.served;
  }

  /** Makes a new key pair, keeps its private key as the pending one, and returns the CSR. */
  generateCsr(subject: CsrSubject, alternativeNames: readonly string[], spec: KeySpec): Promise<string> {
    return this.serialized(async () => {
      const keys = await newKeyPair(spec);
      const csr = buildCsr(subject, alternativeNames, keys, spec);
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.csrKeyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
      return csr;
    });
  }

  /**
   * Checks `text` (a certificate chain in PEM, optionally with its private key) and, when it is
   * good, writes it atomically and applies it live. Changes nothing when it is refused.
   * @throws CertificateRefusal saying what is wrong.
   */
  replace(text: string, now: Date = new Date()): Promise<Installed> {
    return this.serialized(async () => {
      const blocks = pemBlocks(text);
      const certs = certificates(blocks);
      const keyBlocks = blocks.filter((b) => /PRIVATE KEY$/.test(b.label));
      if (keyBlocks.length > 1) throw new CertificateRefusal('format', 'it holds more than one private key');
      let key: KeyObject;
      let keySource: Installed['keySource'];
      if (keyBlocks[0]) {
        key = parseKey(keyBlocks[0].pem, 'its private key');
        keySource = 'bundle';
      } else {
        const pending = await readFile(this.csrKeyFile, 'utf8').catch(() => undefined);
        if (pending === undefined)
          throw new CertificateRefusal(
            'key',
            'there is no pending key: run GenerateCSR first, or include the private key',
          );
        key = parseKey(pending, 'the pending key');
        keySource = 'csr';
      }
      const leaf = certs[0] as X509Certificate;
      if (!leaf.checkPrivateKey(key))
        throw new CertificateRefusal(
          'key',
          keySource === 'csr'
            ? 'the certificate is not for the key of the last GenerateCSR'
            : 'the certificate does not match the private key given with it',
        );
      checkUsable(certs, key, now);
      const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
      const chain = certs.map((c) => c.toString()).join('');
      try {
        createSecureContext({ cert: chain, key: keyPem });
      } catch (e) {
        throw new CertificateRefusal('value', `TLS cannot use it: ${(e as Error).message}`);
      }
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.bundleFile, keyPem + chain, 0o600);
      this.apply({ cert: chain, key: keyPem });
      this.served = { chain, source: 'installed' };
      if (keySource === 'csr') await rm(this.csrKeyFile, { force: true });
      return { leaf, keySource };
    });
  }

  private parse(text: string): { chain: string; key: KeyObject } {
    const blocks = pemBlocks(text);
    const keyBlock = blocks.find((b) => /PRIVATE KEY$/.test(b.label));
    if (!keyBlock) throw new Error('no private key');
    return {
      chain: certificates(blocks)
        .map((c) => c.toString())
        .join(''),
      key: parseKey(keyBlock.pem, 'the key'),
    };
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function parseKey(pem: string, what: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    // The parser's message may quote the input: it is not passed on.
    throw new CertificateRefusal(
      'format',
      `${what} is not a PEM private key that can be read (encrypted keys are not accepted)`,
    );
  }
}

/** The certificates of a PEM text, leaf first. */
function certificates(blocks: ReadonlyArray<{ label: string; pem: string }>): X509Certificate[] {
  const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certBlocks.length === 0) throw new CertificateRefusal('format', 'it holds no PEM CERTIFICATE block');
  return certBlocks.map((b, i) => {
    try {
      return new X509Certificate(b.pem);
    } catch {
      throw new CertificateRefusal('format', `certificate ${i + 1} is not a valid X.509 certificate`);
    }
  });
}

/** Refuses a chain TLS clients would reject: dates, server usage, key type, order. */
function checkUsable(certs: readonly X509Certificate[], key: KeyObject, now: Date): void {
  for (const [i, c] of certs.entries()) {
    const what = i === 0 ? 'the certificate' : `chain certificate ${i + 1}`;
    const notAfter = certDate(c.validTo);
    const notBefore = certDate(c.validFrom);
    if (notAfter.getTime() <= now.getTime())
      throw new CertificateRefusal('value', `${what} expired on ${notAfter.toISOString()}`);
    if (notBefore.getTime() > now.getTime() + NOT_BEFORE_SKEW_MS)
      throw new CertificateRefusal('value', `${what} is not valid before ${notBefore.toISOString()}`);
    const next = certs[i + 1];
    if (next && !(c.checkIssued(next) && c.verify(next.publicKey)))
      throw new CertificateRefusal(
        'value',
        `${what} is not issued by the certificate after it (leaf first, then its issuers)`,
      );
  }
  const leaf = certs[0] as X509Certificate;
  const eku = leaf.keyUsage as string[] | undefined;
  if (eku && eku.length > 0 && !eku.includes('1.3.6.1.5.5.7.3.1') && !eku.includes('2.5.29.37.0'))
    throw new CertificateRefusal('value', 'its extended key usage does not include serverAuth');
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  if (type === 'rsa' && (details?.modulusLength ?? 0) < 2048)
    throw new CertificateRefusal('value', 'its RSA key is shorter than 2048 bits');
  if (type !== 'rsa' && type !== 'ec')
    throw new CertificateRefusal(
      'value',
      `its ${type ?? 'unknown'} key is not offered by the TLS 1.2 suites (use EC or RSA)`,
    );
}
