/**
 * bench:libvirt-caps — cost of building the capabilities documents on simulated hosts of 8 and
 * 64 CPUs, against the baseline of reading the host's topology alone (the facts every document
 * needs) in the same run, plus one xmllint validation of the result as an outside reference.
 * The three are timed interleaved (each run calls them in a rotating order); failed calls are
 * counted, and a failed baseline withholds the ratios. `settings` lists every default changed.
 * Prints one JSON summary. Usage: npm run bench:libvirt-caps [-- --runs N]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostModel, type HostModel } from '../../core/host/index.js';
import { generateSimulatedHost, openSimulatedHost, type SimProfileName } from '../../core/sim/index.js';
import { StateStore } from '../../core/state/index.js';
import { readLibvirtFacts, resolveHostUuid } from '../../plugins/libvirt-caps/host-facts.js';
import { buildLibvirtCapabilities } from '../../plugins/libvirt-caps/libvirt-xml.js';
import { buildPowerDocument } from '../../plugins/libvirt-caps/power-document.js';
import { discoverSleep } from '../../plugins/libvirt-caps/sleep-discovery.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;
const dir = mkdtempSync(join(tmpdir(), 'vpmd-bench-libvirt-caps-'));

/** Every setting this benchmark changes from the plugin's defaults. */
const SETTINGS = {
  runs: RUNS,
  profiles: ['intel-acpi-cpufreq-8', 'amd-pstate-epp-64'],
  logind: 'absent: sleep support from the simulated kernel alone',
  wakeOnLan: { port: 9, broadcast: '255.255.255.255' },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

interface Timing {
  medianMs: number;
  maxMs: number;
  errors: number;
}

/**
 * Times every function RUNS times, interleaved: each run calls them all in a rotating order, so
 * that a change in machine load hits each alike. A call that throws is counted, not fatal.
 */
async function timeInterleaved<K extends string>(fns: Record<K, () => Promise<unknown>>): Promise<Record<K, Timing>> {
  const names = Object.keys(fns) as K[];
  for (const n of names) await fns[n](); // warm-up
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  const errors = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  for (let i = 0; i < RUNS; i++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(i + k) % names.length] as K;
      const t0 = process.hrtime.bigint();
      try {
        await fns[n]();
        samples[n].push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch {
        errors[n]++;
      }
    }
  }
  return Object.fromEntries(
    names.map((n) => [n, { medianMs: r2(median(samples[n])), maxMs: r2(Math.max(...samples[n])), errors: errors[n] }]),
  ) as Record<K, Timing>;
}

async function profile(name: SimProfileName): Promise<Record<string, unknown>> {
  const root = join(dir, name);
  await generateSimulatedHost(root, { profile: name });
  const kernel = await openSimulatedHost(root);
  const host: HostModel = createHostModel(kernel);
  const uuid = await resolveHostUuid(host, new StateStore(join(dir, `${name}-state`)));
  const support = await discoverSleep(host.sleep, undefined, 'bench: no logind');
  const t = await timeInterleaved({
    topology: () => host.topology(),
    libvirtXml: async () => buildLibvirtCapabilities(await readLibvirtFacts(host, uuid), support),
    powerDocument: () => buildPowerDocument(host, uuid.uuid, support, SETTINGS.wakeOnLan),
  });
  const xml = buildLibvirtCapabilities(await readLibvirtFacts(host, uuid), support);
  const file = join(dir, `${name}.xml`);
  writeFileSync(file, xml);
  const t0 = process.hrtime.bigint();
  let xmlValid = true;
  try {
    execFileSync('xmllint', ['--noout', '--relaxng', '/usr/share/libvirt/schemas/capability.rng', file], {
      stdio: 'ignore',
    });
  } catch {
    xmlValid = false;
  }
  const xmllintMs = r2(Number(process.hrtime.bigint() - t0) / 1e6);
  // The baseline (topology) must have run cleanly for a ratio against it to mean anything.
  const invalid = t.topology.errors > 0 ? `topology baseline failed ${t.topology.errors} of ${RUNS} runs` : undefined;
  const ratio = (x: Timing): number | null =>
    invalid !== undefined || x.errors > 0 ? null : r2(x.medianMs / t.topology.medianMs);
  return {
    profile: name,
    cpus: (await host.topology()).online.length,
    baselineTopology: t.topology,
    libvirtXml: t.libvirtXml,
    powerDocument: t.powerDocument,
    xmlBytes: xml.length,
    xmlValidAgainstLibvirtSchema: xmlValid,
    xmllintValidateMs: xmllintMs,
    ...(invalid !== undefined ? { ratiosInvalidBecause: invalid } : {}),
    ratioXmlToTopology: ratio(t.libvirtXml),
    ratioPowerToTopology: ratio(t.powerDocument),
  };
}

try {
  const results = [];
  for (const name of ['intel-acpi-cpufreq-8', 'amd-pstate-epp-64'] as const) results.push(await profile(name));
  process.stdout.write(
    `${JSON.stringify({ bench: 'libvirt-caps', runs: RUNS, settings: SETTINGS, results }, null, 2)}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
