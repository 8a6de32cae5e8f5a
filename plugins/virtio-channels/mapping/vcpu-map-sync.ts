/**
 * Gives the VMs vpmd manages their vCPU map from the running domains; other running domains
 * count as foreign occupants of their pCPUs (the precedence policy shares a pCPU with them).
 */
import type { DomainInfo } from 'vpmd';
import type { VmRecord } from '../vm-registry.js';

/** What {@link syncVcpuMaps} found. */
export interface VcpuMapSync {
  /** A managed VM's map or activity, or the foreign occupancy, changed: re-apply. */
  readonly changed: boolean;
  /** Foreign running domains per pCPU. */
  readonly foreign: Map<number, number>;
}

/**
 * Updates each managed VM's `vcpuMap`, `active` and `uuid` from `running`; a VM that was not
 * active and now is gets `onStarted` (its channels reconnect at once, not after their backoff).
 */
export function syncVcpuMaps(
  running: Iterable<DomainInfo>,
  vms: ReadonlyMap<string, VmRecord>,
  previousForeign: ReadonlyMap<number, number>,
  onStarted: (vm: VmRecord) => void,
): VcpuMapSync {
  const foreign = new Map<number, number>();
  let changed = false;
  const seen = new Set<string>();
  for (const d of running) {
    const vm = vms.get(d.name);
    if (!vm) {
      for (const p of new Set(d.vcpus.flatMap((v) => v.pins))) foreign.set(p, (foreign.get(p) ?? 0) + 1);
      continue;
    }
    seen.add(d.name);
    const map = d.vcpus.map((v) => [...v.pins]);
    if (JSON.stringify(map) !== JSON.stringify(vm.vcpuMap) || !vm.active) changed = true;
    if (!vm.active) onStarted(vm);
    vm.vcpuMap = map;
    vm.active = true;
    vm.uuid = d.uuid;
  }
  for (const vm of vms.values()) {
    if (!seen.has(vm.name) && (vm.vcpuMap || vm.active)) {
      vm.vcpuMap = undefined;
      vm.active = false;
      changed = true;
    }
  }
  if (JSON.stringify([...foreign]) !== JSON.stringify([...previousForeign])) changed = true;
  return { changed, foreign };
}
