/**
 * An energy@1 stand-in for agent-level power tests: one VM drawing a fixed power that the test
 * changes (`vm.watts = 5`), its joules integrated over wall-clock time between reads.
 */
import { ENERGY, type EnergyAccounting } from '../../../core/contracts/energy.js';
import type { PluginManifest } from '../../../core/kernel/plugin-contract.js';
import { testPlugin } from '../../../testkit/test-plugin.js';

/** The VM, and the plugin providing energy@1 for it. */
export interface FixedPowerVm {
  /** The power the VM draws from now on, in watts. */
  watts: number;
  readonly plugin: PluginManifest;
}

/** A VM `name` (`uuid`) drawing `watts` until the test says otherwise. */
export function fixedPowerVm(uuid: string, name: string, watts: number): FixedPowerVm {
  let joules = 0;
  let last = Date.now();
  const vm = { watts } as FixedPowerVm;
  const energy: EnergyAccounting = {
    vms: () => [],
    vm: (id) => {
      if (id !== uuid && id !== name) return undefined;
      const now = Date.now();
      joules += (vm.watts * (now - last)) / 1000;
      last = now;
      const fig = { joules, watts: vm.watts, source: 'rapl' as const, model: 'fixed', origin: 'test' };
      return { uuid, name, running: true, rapl: fig, zones: {} };
    },
    host: () => ({ zones: [], idleFloor: {}, sampledAt: Date.now(), intervalMs: 1000 }),
    history: () => [],
  };
  const plugin = testPlugin({
    name: 'test-energy',
    description: 'a VM drawing a fixed power',
    provides: [ENERGY.id],
    register: (ctx) => ({ start: () => ctx.capabilities.provide(ENERGY, energy), stop: () => undefined }),
  });
  return Object.assign(vm, { plugin });
}
