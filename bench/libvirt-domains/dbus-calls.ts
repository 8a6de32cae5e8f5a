/**
 * bench:libvirt-domains-dbus — what a steady `domains@1` `list()` of the libvirt source costs:
 * D-Bus calls and wall time per call, for this checkout's provider and for a baseline checkout
 * (`--baseline DIR`, a checkout from before the /proc change, e.g. b22c624) measured in the same run against the
 * same libvirt-dbus. Calls are counted by wrapping each checkout's `LibvirtBus.prototype.call`.
 * Failed lists are counted (a failed baseline withholds the ratios).
 *
 * Usage (root; real QEMU guest through libvirtd and libvirt-dbus, run under the bench lock):
 *   flock /tmp/vpmd-bench.lock npx tsx bench/libvirt-domains/dbus-calls.ts --real-vm [--baseline DIR] [--runs N]
 * Without --real-vm: libvirt's Test driver (no QEMU process: CPU times fall back to GetStats).
 */
import { resolve } from 'node:path';
import { numberOption } from '../options.js';
import type { CoreSettings, Logger, ScopedEventBus } from '../../core/index.js';
import { startLibvirtDbus, startPrivateBus, startRealVm, type PrivateBus, type RealVm } from '../../testkit/index.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = numberOption('runs', 50);
const REAL_VM = process.argv.includes('--real-vm');
const BASELINE = arg('--baseline');

interface Provider {
  list(): Promise<readonly unknown[]>;
  close?(): void;
}
interface BusLike {
  subscribe(): Promise<void>;
  close(): void;
}
interface Impl {
  LibvirtBus: new (s: CoreSettings['libvirt'], on: (s: unknown) => void) => BusLike;
  LibvirtDomains: new (lv: BusLike, events: ScopedEventBus, log: Logger) => Provider;
}

/** A checkout's provider, its bus's calls counted. */
async function load(dir: string): Promise<{ impl: Impl; calls: () => number }> {
  const bus = (await import(resolve(dir, 'libvirt-bus.ts'))) as { LibvirtBus: Impl['LibvirtBus'] };
  const domains = (await import(resolve(dir, 'libvirt-domains.ts'))) as { LibvirtDomains: Impl['LibvirtDomains'] };
  let calls = 0;
  const proto = bus.LibvirtBus.prototype as unknown as { call: (...a: unknown[]) => Promise<unknown> };
  const call = proto.call;
  proto.call = function (this: unknown, ...a: unknown[]) {
    calls++;
    return call.apply(this, a);
  };
  return { impl: { LibvirtBus: bus.LibvirtBus, LibvirtDomains: domains.LibvirtDomains }, calls: () => calls };
}

const quiet = { emit: () => undefined } as unknown as ScopedEventBus;
const noLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

async function measure(dir: string, settings: CoreSettings['libvirt']) {
  const { impl, calls } = await load(dir);
  const lv = new impl.LibvirtBus(settings, () => undefined);
  const provider = new impl.LibvirtDomains(lv, quiet, noLog as unknown as Logger);
  await lv.subscribe();
  let failures = 0;
  const c0 = calls();
  const domains = (await provider.list()).length;
  const firstListCalls = calls() - c0;
  const ms: number[] = [];
  const c1 = calls();
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await provider.list().catch(() => failures++);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const perList = (calls() - c1) / RUNS;
  provider.close?.();
  lv.close();
  ms.sort((a, b) => a - b);
  const pick = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? NaN;
  return {
    impl: dir,
    domains,
    firstListCalls,
    dbusCallsPerSteadyList: perList,
    listMs: { p50: pick(0.5), p999: pick(0.999), max: ms[ms.length - 1] },
    failures,
  };
}

let vm: RealVm | undefined;
let bus: PrivateBus | undefined;
try {
  if (REAL_VM) vm = await startRealVm({ name: 'vpmd-bench-vm', pins: [0, 1] });
  bus = await startPrivateBus();
  await startLibvirtDbus(bus, { mode: REAL_VM ? 'system' : 'session' });
  process.env[REAL_VM ? 'DBUS_SYSTEM_BUS_ADDRESS' : 'DBUS_SESSION_BUS_ADDRESS'] = bus.address;
  const settings = REAL_VM
    ? ({ bus: 'system', driver: 'QEMU' } as CoreSettings['libvirt'])
    : ({ bus: 'session', driver: 'Test' } as CoreSettings['libvirt']);
  const baseline =
    BASELINE === undefined ? undefined : await measure(resolve(BASELINE, 'plugins/libvirt-domains'), settings);
  const current = await measure(resolve(import.meta.dirname, '../../plugins/libvirt-domains'), settings);
  const ok = baseline !== undefined && baseline.failures === 0 && current.failures === 0;
  console.log(
    JSON.stringify(
      {
        bench: 'libvirt-domains-dbus',
        settings: { runs: RUNS, driver: settings.driver, realVm: REAL_VM, subscribed: true },
        baseline,
        current,
        ratios: ok
          ? {
              dbusCallsPerSteadyList:
                baseline.dbusCallsPerSteadyList === 0
                  ? null
                  : current.dbusCallsPerSteadyList / baseline.dbusCallsPerSteadyList,
              listMsP50: current.listMs.p50 / baseline.listMs.p50,
            }
          : null,
      },
      null,
      2,
    ),
  );
} finally {
  await bus?.stop();
  await vm?.stop();
}
