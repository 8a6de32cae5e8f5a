/**
 * The soak's traffic: a moderate steady load on every listener (a Redfish HTTPS GET on a new
 * connection, a control-socket command, an SNMPv3 authPriv GET each second, a Prometheus scrape
 * every 5 s) and a burst of connections (Redfish HTTPS and control socket) at bounded concurrency.
 */
import { request, type RequestOptions } from 'node:https';
import { SnmpClient } from '../../plugins/snmp/poller/snmp-client.js';
import { controlRun, type DemoCredentials } from './agent.js';

/** Counts of one kind of request. */
export interface Tally {
  ok: number;
  failed: number;
}

/** One HTTPS GET on a new connection (no keep-alive): resolves true on a 2xx. */
export function httpsGet(url: string, opts: RequestOptions = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, rejectUnauthorized: false, timeout: 30_000, ...opts }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** One HTTPS GET with Basic auth on a new connection: the parsed JSON body, undefined on any failure. */
export function httpsGetJson(url: string, account: { username: string; password: string }): Promise<unknown> {
  const authorization = `Basic ${Buffer.from(`${account.username}:${account.password}`).toString('base64')}`;
  return new Promise((resolve) => {
    const req = request(
      url,
      { agent: false, rejectUnauthorized: false, timeout: 30_000, headers: { authorization } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          try {
            resolve((res.statusCode ?? 0) === 200 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
          } catch {
            resolve(undefined);
          }
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const SYS_DESCR = '1.3.6.1.2.1.1.1.0';

/** The steady load; `stop()` ends it after the requests in flight and returns the tallies. */
export function startSteadyLoad(creds: DemoCredentials): { stop(): Promise<Record<string, Tally>> } {
  const tallies: Record<string, Tally> = {
    redfish: { ok: 0, failed: 0 },
    control: { ok: 0, failed: 0 },
    snmp: { ok: 0, failed: 0 },
    prometheus: { ok: 0, failed: 0 },
  };
  const count = (kind: string, ok: boolean): void => {
    const t = tallies[kind];
    if (t !== undefined) t[ok ? 'ok' : 'failed']++;
  };
  const snmp = new SnmpClient({
    name: 'soak',
    address: '127.0.0.1',
    port: creds.snmp.port,
    user: {
      name: creds.snmp.user,
      auth: 'sha256',
      priv: 'aes',
      authPassphrase: creds.snmp.auth,
      privPassphrase: creds.snmp.priv,
    },
    profile: 'generic',
    outlets: 0,
    oids: [],
    interval: 10,
    timeout: 5,
    retries: 1,
  } as unknown as ConstructorParameters<typeof SnmpClient>[0]);
  const basic = Buffer.from(`${creds.redfish.username}:${creds.redfish.password}`).toString('base64');
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    track(
      httpsGet(`https://127.0.0.1:${creds.redfish.port}/redfish/v1/Chassis/host/Sensors`, {
        headers: { authorization: `Basic ${basic}` },
      }).then((ok) => count('redfish', ok)),
    );
    const argv = tick % 2 === 0 ? ['telemetry', 'list'] : ['status'];
    track(
      controlRun(creds.socket, argv).then(
        (t) => count('control', t === 'result'),
        () => count('control', false),
      ),
    );
    track(
      snmp.get([SYS_DESCR]).then(
        (vbs) => count('snmp', vbs.length > 0),
        () => count('snmp', false),
      ),
    );
    if (tick % 5 === 0)
      track(httpsGet(creds.prometheus.url, { ca: creds.prometheus.ca }).then((ok) => count('prometheus', ok)));
  }, 1000);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      snmp.close();
      return tallies;
    },
  };
}

/**
 * `connections` new connections, half Redfish HTTPS (GET of the service root), half control
 * socket (`version`), `concurrency` at a time.
 */
export async function connectionBurst(
  creds: DemoCredentials,
  connections: number,
  concurrency: number,
): Promise<{ redfish: Tally; control: Tally; wallMs: number }> {
  const redfish: Tally = { ok: 0, failed: 0 };
  const control: Tally = { ok: 0, failed: 0 };
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < connections) {
      const i = next++;
      if (i % 2 === 0) {
        const ok = await httpsGet(`https://127.0.0.1:${creds.redfish.port}/redfish/v1/`);
        redfish[ok ? 'ok' : 'failed']++;
      } else {
        const ok = await controlRun(creds.socket, ['version']).then(
          (t) => t === 'result',
          () => false,
        );
        control[ok ? 'ok' : 'failed']++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { redfish, control, wallMs: Math.round(performance.now() - t0) };
}
