/**
 * The HTTPS certificate: the configured files, or a self-signed one generated on first start
 * and kept under the state directory (the core's `loadTlsMaterial`, with Redfish's keys and code).
 */
import { loadTlsMaterial, type TlsMaterial } from 'vpmd';

export type { TlsMaterial };

/**
 * Loads the configured certificate, or the one generated earlier in `dir`, or generates one.
 * @throws VpmdError E_REDFISH_TLS naming the file or the openssl failure.
 */
export function loadTls(opts: {
  certFile?: string;
  keyFile?: string;
  dir: string;
  address: string;
}): Promise<TlsMaterial> {
  return loadTlsMaterial({
    ...opts,
    errorCode: 'E_REDFISH_TLS',
    configPath: 'plugins.redfish',
    certKey: 'tlsCert',
    keyKey: 'tlsKey',
    commonName: 'vpmd Redfish service',
  });
}
