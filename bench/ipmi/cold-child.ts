/**
 * One cold sweep in a fresh process (see cold-repeat.ts): boots an agent with the ipmi plugin on
 * the targets in argv[2] and the state directory argv[3], sweeps once, prints what it cost.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import ipmi from '../../plugins/ipmi/index.js';
import { bootAgent, type IpmiSimTarget } from '../../testkit/index.js';
import { benchIpmiSection } from './bench-section.js';
import { mainThreadCpuMs, threadsCpuDelta, threadsCpuMs } from './cold-bounds.js';

const [targetsFile, stateDir] = process.argv.slice(2);
if (targetsFile === undefined || stateDir === undefined) throw new Error('usage: cold-child TARGETS.json STATE_DIR');
// IPMI_COLD_SLICE=i/k: this process polls every k-th target from the i-th (cold-repeat's split).
const [slice, slices] = (process.env.IPMI_COLD_SLICE ?? '0/1').split('/').map(Number) as [number, number];
const targets = (JSON.parse(await readFile(targetsFile, 'utf8')) as IpmiSimTarget[]).filter(
  (_, i) => i % slices === slice,
);
const booted = await bootAgent({
  plugins: [ipmi],
  startTimeout: 60,
  core: { state: { dir: stateDir } },
  sections: {
    // As bench:ipmi (FreeIPMI's --fanout); IPMI_COLD_CONCURRENCY / IPMI_COLD_MAX_IN_FLIGHT to try others.
    ipmi: benchIpmiSection(targets, {
      concurrency: Number(process.env.IPMI_COLD_CONCURRENCY ?? 1024),
      maxInFlight: Number(process.env.IPMI_COLD_MAX_IN_FLIGHT ?? 1024),
    }),
  },
});
// IPMI_COLD_PROFILE=file: a CPU profile (file.cpuprofile) and a sampling heap profile
// (file.heapprofile) of the sweep.
const profile = process.env.IPMI_COLD_PROFILE;
const inspector = profile === undefined ? undefined : new Session();
if (inspector !== undefined) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
  if (process.env.IPMI_COLD_PROFILE_CPU !== '0') await inspector.post('Profiler.start');
  await inspector.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}
if (process.env.IPMI_COLD_SLICE !== undefined) {
  // Split runs start together: say "ready", then wait for the go line.
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  process.stdin.pause();
}
try {
  const mainBefore = await mainThreadCpuMs();
  const threadsBefore = await threadsCpuMs();
  const c = process.cpuUsage();
  const t = performance.now();
  const result = await booted.json<{ successes: number; failures: number }>(['ipmi', 'poll']);
  const wallMs = performance.now() - t;
  const cpu = process.cpuUsage(c);
  const mainCpu = (await mainThreadCpuMs()) - mainBefore;
  const threads = threadsCpuDelta(threadsBefore, await threadsCpuMs());
  if (inspector !== undefined && profile !== undefined) {
    if (process.env.IPMI_COLD_PROFILE_CPU !== '0') {
      const cpu = await inspector.post('Profiler.stop');
      await writeFile(`${profile}.cpuprofile`, JSON.stringify(cpu.profile));
    }
    const heap = await inspector.post('HeapProfiler.stopSampling');
    await writeFile(`${profile}.heapprofile`, JSON.stringify(heap.profile));
    inspector.disconnect();
  }
  const rows = await booted.json<Array<{ session: { sent: number; rounds: number } | null }>>(['ipmi', 'targets']);
  process.stdout.write(
    '\n' +
      JSON.stringify({
        wallMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
        mainThreadCpuMs: mainCpu,
        threadsCpuMs: threads,
        requests: rows.reduce((a, r) => a + (r.session?.sent ?? 0), 0),
        rounds: Math.max(...rows.map((r) => r.session?.rounds ?? 0)),
        successes: result.successes,
        failures: result.failures,
      }),
  );
} finally {
  await booted.stop();
}
