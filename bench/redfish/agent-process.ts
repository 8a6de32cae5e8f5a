/**
 * The agent side of the Redfish benchmark, in its own process so that its CPU, event loop and
 * memory are its own: boots the agent with the Redfish service on the simulated host, creates a
 * ReadOnly account, logs in, and prints one JSON line (port, token, the benchmarked URIs with
 * their bodies and headers, the certificate directory). Runs until stdin closes.
 *
 * Usage: agent-process.ts [--response-cache-ms N] (default: the plugin's default)
 *          [--cpu-profile FILE --cpu-profile-interval US]: a CPU profile of the agent from the
 *          moment it is ready to stdin's end (boot and module loading left out), written to FILE,
 *          and the garbage collections of the same span (count and milliseconds by kind) to
 *          FILE.gc.json.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { join } from 'node:path';
import { bootRedfish } from '../../test/plugins/redfish/support.js';

/** What the parent reads from the first line of stdout. */
export interface AgentInfo {
  readonly port: number;
  readonly token: string;
  readonly tlsDir: string;
  readonly resources: Record<'sensor' | 'system', { uri: string; body: string; headers: Record<string, string> }>;
}

const i = process.argv.indexOf('--response-cache-ms');
const cacheMs = i >= 0 ? Number(process.argv[i + 1]) : undefined;
const argOf = (name: string): string | undefined => {
  const k = process.argv.indexOf(name);
  return k >= 0 ? process.argv[k + 1] : undefined;
};
const profileFile = argOf('--cpu-profile');
const h = await bootRedfish({
  core: { log: { level: 'error' } },
  ...(cacheMs !== undefined ? { sections: { responseCacheMs: cacheMs } } : {}),
});
await h.addAccount('bench', 'ReadOnly', 'Bench-pass-1234');
const token = await h.login('bench', 'Bench-pass-1234');
const sensors = await h.rf('GET', '/redfish/v1/Chassis/host/Sensors', { token });
const members = sensors.json.Members;
const sensorUri = (members.find((m) => m['@odata.id'].includes('rapl')) ?? members[0])?.['@odata.id'];
if (!sensorUri) throw new Error('the simulated host has no sensors');
const fetchOne = async (uri: string): Promise<{ uri: string; body: string; headers: Record<string, string> }> => {
  const r = await h.rf('GET', uri, { token });
  const keep = ['odata-version', 'cache-control', 'x-frame-options', 'content-type', 'etag', 'link', 'allow'];
  return {
    uri,
    body: r.text,
    headers: Object.fromEntries(keep.filter((k) => r.headers[k] !== undefined).map((k) => [k, String(r.headers[k])])),
  };
};
const info: AgentInfo = {
  port: h.port,
  token,
  tlsDir: join(h.agent.dir, 'state', 'plugins', 'redfish', 'tls'),
  resources: { sensor: await fetchOne(sensorUri), system: await fetchOne('/redfish/v1/Systems/host') },
};
/** Garbage collections by kind: how many, their pauses in ms, and the longest. */
const gcs: Record<string, { count: number; ms: number; maxMs: number }> = {};
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const detail = (e as unknown as { detail?: { kind?: number } }).detail;
    const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
    const g = (gcs[kind] ??= { count: 0, ms: 0, maxMs: 0 });
    g.count++;
    g.ms += e.duration;
    g.maxMs = Math.max(g.maxMs, e.duration);
  }
});
let profiler: Session | undefined;
if (profileFile) {
  gcObserver.observe({ entryTypes: ['gc'] });
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: Number(argOf('--cpu-profile-interval') ?? 100) });
  await profiler.post('Profiler.start');
}
process.stdout.write(`${JSON.stringify(info)}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void (async () => {
    if (profiler && profileFile) {
      const { profile } = await profiler.post('Profiler.stop');
      gcObserver.disconnect();
      await writeFile(profileFile, JSON.stringify(profile));
      await writeFile(`${profileFile}.gc.json`, JSON.stringify(gcs));
    }
    await h.stop();
    process.exit(0);
  })();
});
