/**
 * PKCS#10 certificate signing requests (RFC 2986) built in Node alone, so GenerateCSR works on
 * any host, `openssl` or not: a new key pair from `node:crypto`, the subject and its
 * subjectAltName in an extensionRequest attribute, signed with SHA-256 (SHA-384 for P-384).
 */
import { generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import { bits, context, ia5, integer, nullValue, octets, oid, printable, sequence, set, tlv, utf8 } from './der.js';

const generate = promisify(generateKeyPair);

/** The subject of a request; every part but the common name is optional. */
export interface CsrSubject {
  readonly commonName: string;
  readonly country?: string;
  readonly state?: string;
  readonly city?: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
  readonly email?: string;
}

/** The key to make: an EC key on P-256 or P-384, or an RSA key of 2048 to 4096 bits. */
export type KeySpec =
  { readonly type: 'ec'; readonly curve: 'P-256' | 'P-384' } | { readonly type: 'rsa'; readonly bits: number };

const ATTRIBUTE_OIDS: ReadonlyArray<[keyof CsrSubject, string]> = [
  ['country', '2.5.4.6'],
  ['state', '2.5.4.8'],
  ['city', '2.5.4.7'],
  ['organization', '2.5.4.10'],
  ['organizationalUnit', '2.5.4.11'],
  ['commonName', '2.5.4.3'],
  ['email', '1.2.840.113549.1.9.1'],
];

function name(subject: CsrSubject): Buffer {
  const rdns = ATTRIBUTE_OIDS.flatMap(([key, id]) => {
    const v = subject[key];
    if (v === undefined || v === '') return [];
    // Country is a PrintableString of two letters, the e-mail an IA5String (RFC 5280).
    const value = key === 'country' ? printable(v) : key === 'email' ? ia5(v) : utf8(v);
    return [set(sequence(oid(id), value))];
  });
  return sequence(...rdns);
}

/** The subjectAltName value: IP addresses as iPAddress, anything else as dNSName. */
function altNames(names: readonly string[]): Buffer {
  return sequence(
    ...names.map((n) => {
      const family = isIP(n);
      if (family === 0) return tlv(0x82, Buffer.from(n, 'ascii'));
      return tlv(0x87, family === 4 ? Buffer.from(n.split('.').map(Number)) : ipv6Bytes(n));
    }),
  );
}

function ipv6Bytes(text: string): Buffer {
  const [head = '', tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = text.includes('::') && tail ? tail.split(':') : [];
  const groups = text.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

/** The signature algorithm identifier and digest for a key. */
function algorithm(spec: KeySpec): { id: Buffer; digest: 'sha256' | 'sha384' } {
  if (spec.type === 'rsa') return { id: sequence(oid('1.2.840.113549.1.1.11'), nullValue()), digest: 'sha256' };
  return spec.curve === 'P-384'
    ? { id: sequence(oid('1.2.840.10045.4.3.3')), digest: 'sha384' }
    : { id: sequence(oid('1.2.840.10045.4.3.2')), digest: 'sha256' };
}

/** Makes a key pair as specified. */
export async function newKeyPair(spec: KeySpec): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return spec.type === 'rsa'
    ? generate('rsa', { modulusLength: spec.bits })
    : generate('ec', { namedCurve: spec.curve });
}

/**
 * A PEM `CERTIFICATE REQUEST` for `subject`, with `alternativeNames` (at least one: clients
 * check the subjectAltName, not the common name), signed by `privateKey`.
 */
export function buildCsr(
  subject: CsrSubject,
  alternativeNames: readonly string[],
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  spec: KeySpec,
): string {
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const extensions = sequence(sequence(oid('2.5.29.17'), octets(altNames(alternativeNames))));
  const extensionRequest = sequence(oid('1.2.840.113549.1.9.14'), set(extensions));
  const info = sequence(integer(0), name(subject), spki, context(0, extensionRequest));
  const alg = algorithm(spec);
  const signature = sign(alg.digest, info, keys.privateKey);
  const der = sequence(info, alg.id, bits(signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}
