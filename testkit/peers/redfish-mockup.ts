/**
 * DMTF's Redfish Mockup Server serving its public-rackmount1 mockup (a 1U server's BMC) on a
 * loopback port, over HTTP or HTTPS: a real Redfish BMC to poll. The server is not in this
 * repository nor in Debian; it is found at `$VPMD_REDFISH_MOCKUP`, else at
 * `../shared/tools/redfish-mockup-server` from the project root (where the project's shared
 * tools live). It needs Debian's python3-requests. GET comes from the mockup files; PATCH,
 * POST and DELETE are kept in memory, so each start begins from the files again.
 */
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { freeTcpPorts } from './free-ports.js';
import { peerFailedError } from './peer-errors.js';
import { PeerProcess } from './peer-process.js';
import { requireProgram, requirePythonModule } from './program-lookup.js';
import { pollUntil } from './wait.js';

const PEER = 'redfish-mockup-server';

/** Where the mockup server is, or undefined when this machine has none. */
export function findRedfishMockup(projectRoot = process.cwd()): string | undefined {
  const candidates = [process.env.VPMD_REDFISH_MOCKUP, join(projectRoot, '..', 'shared', 'tools', PEER)];
  for (const c of candidates) if (c && existsSync(join(c, 'run.sh'))) return resolve(c);
  return undefined;
}

/** Options of {@link startRedfishMockup}. */
export interface RedfishMockupOptions {
  /** Serve HTTPS with this certificate and key (PEM files). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Another mockup directory (default: public-rackmount1 as shipped). */
  readonly mockupDir?: string;
  /** Bound for the server to answer; default 30 s. */
  readonly startTimeoutMs?: number;
}

/** A running mockup server. */
export interface RedfishMockup {
  /** `http://127.0.0.1:PORT` or `https://...`. */
  readonly url: string;
  readonly port: number;
  readonly process: PeerProcess;
  stop(): Promise<void>;
}

function answers(url: string): Promise<boolean> {
  return new Promise((ok) => {
    const send = url.startsWith('https') ? httpsRequest : httpRequest;
    const req = send(`${url}/redfish/v1/`, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      ok(res.statusCode === 200);
    });
    req.once('error', () => ok(false));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

/** Starts the mockup server. @throws E_PEER_MISSING when it or python3-requests is absent */
export async function startRedfishMockup(opts: RedfishMockupOptions = {}): Promise<RedfishMockup> {
  const home = findRedfishMockup();
  if (home === undefined)
    throw peerFailedError(PEER, 'not found: set VPMD_REDFISH_MOCKUP or provide ../shared/tools/redfish-mockup-server');
  const bash = await requireProgram(PEER, 'bash', 'bash');
  await requirePythonModule(PEER, 'requests', 'python3-requests');
  const [port] = await freeTcpPorts(1);
  if (port === undefined) throw peerFailedError(PEER, 'no free TCP port');
  const args = [join(home, 'run.sh'), String(port), opts.mockupDir ?? join(home, 'public-rackmount1')];
  if (opts.tls) args.push('-s', '--cert', opts.tls.certFile, '--key', opts.tls.keyFile);
  const proc = await PeerProcess.spawn({ peer: PEER, program: bash, args });
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  try {
    await pollUntil({
      peer: PEER,
      what: `${url}/redfish/v1/ answers`,
      timeoutMs: opts.startTimeoutMs ?? 30_000,
      intervalMs: 100,
      probe: async () => ((await answers(url)) ? true : undefined),
      check: () => proc.assertRunning('starting'),
      output: () => proc.output(),
    });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { url, port, process: proc, stop: () => proc.stop() };
}
