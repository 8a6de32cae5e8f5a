/**
 * A listener's HTTPS certificate: the configured PEM files, or a self-signed one generated on
 * first start with the `openssl` CLI and kept under the plugin's state directory (key mode
 * 0600), so clients that pin or trust it keep working across restarts. Shared by every plugin
 * that serves HTTPS (Redfish, the Prometheus exporter); each names its own error code and keys.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VpmdError, type ErrorCode } from '../errors.js';

const run = promisify(execFile);

/** Certificate and key in PEM. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Where they came from (for the log and the docs). */
  readonly source: 'config' | 'generated' | 'state';
  /** The certificate's file: what a client trusts (it is its own CA when self-signed). */
  readonly certFile: string;
}

/** Options of {@link loadTlsMaterial}. */
export interface TlsMaterialOptions {
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Where a generated certificate is kept (`<state>/plugins/<name>/tls`). */
  readonly dir: string;
  /** The listener's address, written into the certificate's subjectAltName beside `localhost`. */
  readonly address: string;
  /** The error code thrown on any failure (the plugin's own, e.g. `E_REDFISH_TLS`). */
  readonly errorCode: ErrorCode;
  /** The config path and key names errors point at, e.g. `plugins.redfish`, `tlsCert`, `tlsKey`. */
  readonly configPath: string;
  readonly certKey: string;
  readonly keyKey: string;
  /** The generated certificate's common name, e.g. `vpmd Redfish service`. */
  readonly commonName: string;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

/**
 * Loads the configured certificate, or the one generated earlier in `dir`, or generates one.
 * @throws VpmdError `opts.errorCode` naming the file or the openssl failure.
 */
export async function loadTlsMaterial(opts: TlsMaterialOptions): Promise<TlsMaterial> {
  const readPem = async (file: string, what: string, key: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw new VpmdError(
        opts.errorCode,
        `${opts.configPath}.${key}: cannot read the ${what} ${file}: ${(e as Error).message}`,
        { file },
      );
    }
  };
  if (opts.certFile !== undefined || opts.keyFile !== undefined) {
    if (opts.certFile === undefined || opts.keyFile === undefined) {
      throw new VpmdError(
        opts.errorCode,
        `${opts.configPath}: set both ${opts.certKey} and ${opts.keyKey}, or neither (a self-signed certificate is then generated)`,
      );
    }
    return {
      cert: await readPem(opts.certFile, 'certificate', opts.certKey),
      key: await readPem(opts.keyFile, 'key', opts.keyKey),
      source: 'config',
      certFile: opts.certFile,
    };
  }
  const certFile = join(opts.dir, 'cert.pem');
  const keyFile = join(opts.dir, 'key.pem');
  if ((await exists(certFile)) && (await exists(keyFile))) {
    await chmod(keyFile, 0o600);
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8'), source: 'state', certFile };
  }
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const tmpKey = `${keyFile}.tmp`;
  const tmpCert = `${certFile}.tmp`;
  const san = /^[0-9.]+$|:/.test(opts.address) ? `IP:${opts.address}` : `DNS:${opts.address}`;
  try {
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '825',
        '-subj',
        `/CN=${opts.commonName}`,
        '-addext',
        `subjectAltName=${san},DNS:localhost`,
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
      ],
      { timeout: 20_000 },
    );
  } catch (e) {
    throw new VpmdError(
      opts.errorCode,
      `cannot generate a self-signed certificate with openssl (install it, or set ${opts.configPath}.${opts.certKey}/${opts.keyKey}): ${(e as Error).message}`,
    );
  }
  await chmod(tmpKey, 0o600);
  await rename(tmpKey, keyFile);
  await rename(tmpCert, certFile);
  return {
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
    source: 'generated',
    certFile,
  };
}
