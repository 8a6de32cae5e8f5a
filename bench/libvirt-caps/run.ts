/**
 * bench:libvirt-caps — cost of building the capabilities documents on simulated hosts of 8 and
 * 64 CPUs, against the baseline of reading the host's topology alone (the facts every document
 * needs) in the same run, plus one xmllint validation of the result as an outside reference.
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return Math.round(median(samples) * 100) / 100;
}

async function profile(name: SimProfileName): Promise<Record<string, unknown>> {
  const root = join(dir, name);
  await generateSimulatedHost(root, { profile: name });
  const kernel = await openSimulatedHost(root);
  const host: HostModel = createHostModel(kernel);
  const uuid = await resolveHostUuid(host, new StateStore(join(dir, `${name}-state`)));
  const support = await discoverSleep(host.sleep, undefined, 'bench: no logind');
  const topologyMs = await time(() => host.topology());
  const xmlMs = await time(async () => buildLibvirtCapabilities(await readLibvirtFacts(host, uuid), support));
  const powerMs = await time(() =>
    buildPowerDocument(host, uuid.uuid, support, { port: 9, broadcast: '255.255.255.255' }),
  );
  const xml = buildLibvirtCapabilities(await readLibvirtFacts(host, uuid), support);
  const file = join(dir, `${name}.xml`);
  writeFileSync(file, xml);
  const t0 = process.hrtime.bigint();
  execFileSync('xmllint', ['--noout', '--relaxng', '/usr/share/libvirt/schemas/capability.rng', file], {
    stdio: 'ignore',
  });
  const xmllintMs = Math.round((Number(process.hrtime.bigint() - t0) / 1e6) * 100) / 100;
  return {
    profile: name,
    cpus: (await host.topology()).online.length,
    baselineTopologyMs: topologyMs,
    libvirtXmlMs: xmlMs,
    powerDocumentMs: powerMs,
    xmlBytes: xml.length,
    xmllintValidateMs: xmllintMs,
    ratioXmlToTopology: Math.round((xmlMs / topologyMs) * 100) / 100,
    ratioPowerToTopology: Math.round((powerMs / topologyMs) * 100) / 100,
  };
}

try {
  const results = [];
  for (const name of ['intel-acpi-cpufreq-8', 'amd-pstate-epp-64'] as const) results.push(await profile(name));
  process.stdout.write(`${JSON.stringify({ bench: 'libvirt-caps', runs: RUNS, results }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
