/**
 * Keys and certificates for tests of TLS peers, made with the real `openssl` CLI (as an operator
 * or a CA would make them): a P-256 key with a self-signed certificate (a server's, or a test
 * CA's) or with a certificate signing request for a CA to sign.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Options of {@link opensslKeyAndCert}: file names are relative to `dir`. */
export type OpensslKeyOptions = {
  /** The directory openssl runs in and writes to. */
  readonly dir: string;
  /** The subject, e.g. `/CN=vpmd test CA`. */
  readonly subject: string;
  /** `-addext` values, e.g. `subjectAltName=IP:127.0.0.1` or `basicConstraints=critical,CA:TRUE`. */
  readonly extensions?: readonly string[];
  /** Where the new key goes (PEM, unencrypted). */
  readonly keyFile: string;
} & (
  | {
      /** Where the self-signed certificate goes. */
      readonly certFile: string;
      /** How long it is valid. */
      readonly days: number;
    }
  | {
      /** Where the certificate signing request goes. */
      readonly csrFile: string;
    }
);

/** The PEM texts {@link opensslKeyAndCert} wrote. */
export interface OpensslKey {
  readonly key: string;
  /** The self-signed certificate, or the certificate signing request. */
  readonly pem: string;
}

/**
 * Generates a P-256 key with `openssl req` and a self-signed certificate (`certFile`, `days`) or
 * a certificate signing request (`csrFile`) for it.
 * @throws the openssl failure (its stderr in the message) or a file that cannot be read
 */
export async function opensslKeyAndCert(opts: OpensslKeyOptions): Promise<OpensslKey> {
  const out = 'certFile' in opts ? opts.certFile : opts.csrFile;
  const what = 'certFile' in opts ? ['-x509', '-days', String(opts.days)] : ['-new'];
  await run(
    'openssl',
    [
      'req',
      ...what,
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      opts.subject,
      ...(opts.extensions ?? []).flatMap((ext) => ['-addext', ext]),
      '-keyout',
      opts.keyFile,
      '-out',
      out,
    ],
    { cwd: opts.dir },
  );
  return {
    key: await readFile(resolve(opts.dir, opts.keyFile), 'utf8'),
    pem: await readFile(resolve(opts.dir, out), 'utf8'),
  };
}
