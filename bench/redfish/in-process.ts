/**
 * The Redfish work of one request without HTTP and TLS: boots the agent on the simulated host
 * (`responseCacheMs: 0`), then calls its dispatcher directly, in this process, for each URI of
 * the uncached benchmark's cases, and prints the CPU time per call (best of `--batches`
 * batches of `--calls`, so other work on the machine inflates it less). What the agent adds to
 * the Node floor, measured in microseconds, for A/B comparisons of a change.
 *
 * Usage: npx tsx bench/redfish/in-process.ts [--batches 25 --calls 200 --case walk|expand]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootRedfish } from '../../test/plugins/redfish/support.js';
import { Dispatcher, type Incoming, type Outcome } from '../../plugins/redfish/http/dispatch.js';
import { numberOption } from '../options.js';
import { get, uncachedCases } from './uncached-cases.js';

const BATCHES = numberOption('batches', 25);
const CALLS = numberOption('calls', 200);
const only = process.argv.includes('--case') ? process.argv[process.argv.indexOf('--case') + 1] : undefined;

// The plugin's dispatcher, caught on its first request (the plugin keeps it to itself).
let dispatcher: Dispatcher | undefined;
const caught = (d: Dispatcher): void => {
  dispatcher ??= d;
};
const handle = Object.getOwnPropertyDescriptor(Dispatcher.prototype, 'handle')?.value as (
  this: Dispatcher,
  inc: Incoming,
) => Outcome | Promise<Outcome>;
Dispatcher.prototype.handle = function (this: Dispatcher, inc: Incoming): Outcome | Promise<Outcome> {
  caught(this);
  return handle.call(this, inc);
};

const h = await bootRedfish({ core: { log: { level: 'error' } }, sections: { responseCacheMs: 0 } });
try {
  await h.addAccount('bench', 'ReadOnly', 'Bench-pass-1234');
  const token = await h.login('bench', 'Bench-pass-1234');
  const ca = await readFile(join(h.agent.dir, 'state', 'plugins', 'redfish', 'tls', 'cert.pem'), 'utf8');
  const cases = await uncachedCases((uri) => get(h.port, ca, token, uri));
  const d = dispatcher;
  if (!d) throw new Error('the dispatcher was not caught');
  const call = async (uri: string): Promise<void> => {
    const out = await d.handle({
      method: 'GET',
      url: uri,
      headers: { 'x-auth-token': token, host: '127.0.0.1' },
      address: '127.0.0.1',
      rawBody: undefined,
    });
    if (out.status !== 200) throw new Error(`GET ${uri}: ${out.status}`);
  };
  const perCall: Record<string, number> = {};
  for (const [name, uris] of Object.entries(cases)) {
    if (only !== undefined && name !== only) continue;
    let best = Infinity;
    for (let b = 0; b < BATCHES; b++) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) await call(uris[i % uris.length] as string);
      const t = process.cpuUsage(t0);
      best = Math.min(best, (t.user + t.system) / CALLS);
    }
    perCall[name] = Math.round(best * 10) / 10;
  }
  process.stdout.write(
    `${JSON.stringify({ benchmark: 'redfish-in-process', usPerCall: perCall, batches: BATCHES, calls: CALLS })}\n`,
  );
} finally {
  await h.stop();
}
