/**
 * What the Certificate resource shows of an X.509 certificate: subject and issuer as Redfish
 * `Identifier`s, validity, key usage (the keyUsage bits and the extended key usages, read from
 * the DER because Node exposes only the latter), SHA-256 fingerprint, serial, signature algorithm.
 */
import type { X509Certificate } from 'node:crypto';
import { children, oidText, read } from './der.js';
import { certDate } from './certificate-store.js';

/** keyUsage bits in order (RFC 5280 4.2.1.3) as Redfish names them. */
const KEY_USAGE_BITS = [
  'DigitalSignature',
  'NonRepudiation',
  'KeyEncipherment',
  'DataEncipherment',
  'KeyAgreement',
  'KeyCertSign',
  'CRLSigning',
  'EncipherOnly',
  'DecipherOnly',
] as const;

const EXTENDED_KEY_USAGES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'ServerAuthentication',
  '1.3.6.1.5.5.7.3.2': 'ClientAuthentication',
  '1.3.6.1.5.5.7.3.3': 'CodeSigning',
  '1.3.6.1.5.5.7.3.4': 'EmailProtection',
  '1.3.6.1.5.5.7.3.8': 'Timestamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

const IDENTIFIER_KEYS: Record<string, string> = {
  CN: 'CommonName',
  O: 'Organization',
  OU: 'OrganizationalUnit',
  L: 'City',
  ST: 'State',
  C: 'Country',
  emailAddress: 'Email',
};

/** A distinguished name (Node's `CN=a\nO=b` form) as a Redfish `Identifier`. */
export function identifier(dn: string): Record<string, string> {
  const out: Record<string, string> = { DisplayString: dn.split('\n').join(', ') };
  for (const line of dn.split('\n')) {
    const eq = line.indexOf('=');
    const key = IDENTIFIER_KEYS[line.slice(0, eq)];
    if (eq > 0 && key && out[key] === undefined) out[key] = line.slice(eq + 1);
  }
  return out;
}

/** The extensions of a certificate's DER, by OID (empty when it has none or cannot be read). */
function extensions(raw: Buffer): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  try {
    const tbs = children(read(raw).content)[0];
    const ext = tbs && children(tbs.content).find((e) => e.tag === 0xa3);
    if (!ext) return found;
    for (const e of children(read(ext.content).content)) {
      const parts = children(e.content);
      const id = parts[0];
      const value = parts[parts.length - 1];
      if (id?.tag === 0x06 && value?.tag === 0x04) found.set(oidText(id.content), value.content);
    }
  } catch {
    // A certificate Node parsed but this reader cannot: its usage is just not shown.
  }
  return found;
}

/** Redfish `KeyUsage` values of a certificate. */
export function keyUsage(cert: X509Certificate): string[] {
  const ext = extensions(cert.raw);
  const out: string[] = [];
  const ku = ext.get('2.5.29.15');
  if (ku) {
    const bitString = read(ku).content.subarray(1);
    KEY_USAGE_BITS.forEach((name, i) => {
      if (((bitString[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) out.push(name);
    });
  }
  const eku = ext.get('2.5.29.37');
  if (eku)
    for (const e of children(read(eku).content)) {
      const name = EXTENDED_KEY_USAGES[oidText(e.content)];
      if (name) out.push(name);
    }
  return out;
}

/** The signature algorithm's OID, dotted, as the schema asks. */
export function signatureAlgorithm(cert: X509Certificate): string | undefined {
  try {
    const alg = children(read(cert.raw).content)[1];
    const id = alg && children(alg.content)[0];
    return id?.tag === 0x06 ? oidText(id.content) : undefined;
  } catch {
    return undefined;
  }
}

/** A serial number as the schema writes it: hex byte pairs joined by colons (`01:A3`). */
function serial(hex: string): string {
  const even = hex.length % 2 === 1 ? `0${hex}` : hex;
  return (even.match(/../g) ?? ['00']).join(':').toUpperCase();
}

/** The Certificate resource's properties describing `cert`. */
export function certificateProperties(cert: X509Certificate): Record<string, unknown> {
  const alg = signatureAlgorithm(cert);
  return {
    Subject: identifier(cert.subject),
    Issuer: identifier(cert.issuer),
    ValidNotBefore: certDate(cert.validFrom).toISOString(),
    ValidNotAfter: certDate(cert.validTo).toISOString(),
    KeyUsage: keyUsage(cert),
    SerialNumber: serial(cert.serialNumber),
    Fingerprint: cert.fingerprint256,
    FingerprintHashAlgorithm: 'TPM_ALG_SHA256',
    ...(alg ? { SignatureAlgorithm: alg } : {}),
  };
}
