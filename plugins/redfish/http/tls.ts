/**
 * The HTTPS certificate: the configured files, or a self-signed one generated on first start
 * with the `openssl` CLI and kept under the state directory (key mode 0600), so clients that
 * pin it keep working across restarts.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VpmdError } from 'vpmd';

const run = promisify(execFile);

/** Certificate and key in PEM. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Where they came from (for the log and the docs). */
  readonly source: 'config' | 'generated' | 'state';
  readonly certFile: string;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

async function readPem(file: string, what: string, key: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new VpmdError(
      'E_REDFISH_TLS',
      `plugins.redfish.${key}: cannot read the ${what} ${file}: ${(e as Error).message}`,
      { file },
    );
  }
}

/**
 * Loads the configured certificate, or the one generated earlier in `dir`, or generates one.
 * @throws VpmdError E_REDFISH_TLS naming the file or the openssl failure.
 */
export async function loadTls(opts: {
  certFile?: string;
  keyFile?: string;
  dir: string;
  address: string;
}): Promise<TlsMaterial> {
  if (opts.certFile !== undefined || opts.keyFile !== undefined) {
    if (opts.certFile === undefined || opts.keyFile === undefined) {
      throw new VpmdError(
        'E_REDFISH_TLS',
        'plugins.redfish: set both tlsCert and tlsKey, or neither (a self-signed certificate is then generated)',
      );
    }
    return {
      cert: await readPem(opts.certFile, 'certificate', 'tlsCert'),
      key: await readPem(opts.keyFile, 'key', 'tlsKey'),
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
        '/CN=vpmd Redfish service',
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
      'E_REDFISH_TLS',
      `cannot generate a self-signed certificate with openssl (install it, or set plugins.redfish.tlsCert/tlsKey): ${(e as Error).message}`,
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
