/**
 * Helpers of the Redfish poller tests: a self-signed certificate made with openssl, an agent
 * that only polls (serve: false) with a test plugin beside it that records `hw.log.v1` events
 * and reaches `bmcs@1` as a consumer would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { bootAgent, opensslKeyAndCert, pollUntil, testPlugin, type BootedAgent } from '../../../testkit/index.js';
import redfish from '../../../plugins/redfish/index.js';
import { BMCS, type Bmcs, type Principal, type VpmdEventMap } from '../../../core/index.js';

/** A key and certificate for 127.0.0.1, and the certificate's SHA-256 fingerprint. */
export interface TestCert {
  readonly key: string;
  readonly cert: string;
  readonly fingerprint: string;
  readonly certFile: string;
  readonly dir: string;
}

/** Makes a self-signed P-256 certificate for IP 127.0.0.1 in a temporary directory. */
export async function makeCert(): Promise<TestCert> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-rfpoll-cert-'));
  const certFile = join(dir, 'cert.pem');
  const { key, pem: cert } = await opensslKeyAndCert({
    dir,
    subject: '/CN=127.0.0.1',
    extensions: ['subjectAltName=IP:127.0.0.1'],
    keyFile: 'key.pem',
    certFile: 'cert.pem',
    days: 2,
  });
  return { key, cert, certFile, dir, fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** Removes a certificate's directory. */
export async function removeCert(c: TestCert): Promise<void> {
  await rm(c.dir, { recursive: true, force: true });
}

/** The principal of the test plugin's BMC actions. */
export const ADMIN: Principal = { name: 'test', role: 'Administrator', origin: 'internal' };

/** A polling agent and what the test plugin saw. */
export interface PollingAgent {
  readonly agent: BootedAgent;
  readonly hwLog: Array<VpmdEventMap['hw.log.v1']>;
  bmcs(): Bmcs;
  /** `vpmctl redfish targets --json`, by name. */
  targets(): Promise<Map<string, TargetRow>>;
  telemetry(target: string): Promise<MetricRow[]>;
}

/** A row of `redfish targets --json`. */
export interface TargetRow {
  readonly name: string;
  readonly state: string;
  readonly detail?: string;
  readonly powerState: string | null;
  readonly resetTypes: string[];
  readonly events: string;
  readonly eventRereads: number;
  readonly polls: number;
  readonly requests: number;
  readonly notModified: number;
  readonly logins: number;
}

/** A row of `telemetry list --json`. */
export interface MetricRow {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly unit: string;
  readonly value: number | null;
  readonly status: string;
  readonly source: { plugin: string; target: string; sensor: string };
}

/** Boots an agent with the redfish plugin polling `targets` (serve: false) and a watching test plugin. */
export async function bootPoller(
  targets: Array<Record<string, unknown>>,
  poll: Record<string, unknown> = {},
): Promise<PollingAgent> {
  const hwLog: Array<VpmdEventMap['hw.log.v1']> = [];
  let found: (() => Bmcs | undefined) | undefined;
  const watcher = testPlugin({
    name: 'watcher',
    description: 'records hw.log.v1 and reaches bmcs@1',
    optional: [BMCS.id],
    register(ctx) {
      ctx.events.on('hw.log.v1', (e) => {
        hwLog.push(e);
      });
      found = () => ctx.capabilities.find(BMCS);
      return { start: () => undefined, stop: () => undefined };
    },
  });
  const agent = await bootAgent({
    plugins: [redfish, watcher],
    sections: {
      redfish: {
        serve: false,
        targets,
        // Polls are forced by the tests (redfish poll); the schedule only makes the first one.
        poll: { interval: 3600, timeout: 2, retries: 1, backoffMin: 0.1, backoffMax: 1, ...poll },
      },
    },
    startTimeout: 30,
  });
  return {
    agent,
    hwLog,
    bmcs: () => {
      const b = found?.();
      if (b === undefined) throw new Error('bmcs@1 is not provided');
      return b;
    },
    targets: async () => new Map((await agent.json<TargetRow[]>(['redfish', 'targets'])).map((t) => [t.name, t])),
    telemetry: (target) => agent.json<MetricRow[]>(['telemetry', 'list', '--target', target]),
  };
}

/** Waits until `cond` holds (polled every 50 ms, bounded by `timeoutMs`). */
export function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<true> {
  return pollUntil({
    peer: 'redfish poller',
    what,
    timeoutMs,
    intervalMs: 50,
    probe: async () => ((await cond()) ? true : undefined),
  });
}
