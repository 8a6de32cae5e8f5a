/**
 * Per-VM energy and power from `energy@1`, and the host side of the account: each RAPL zone's
 * split (idle, host processes, VMs, unattributed), the idle floor, and the wall-power source
 * with its divergence from RAPL. The VM's identity label is `domain_uuid`; every figure names
 * its `source` (rapl or wall) and `model`.
 */
import type { EnergyAccounting, EnergyFigure, VmEnergy } from 'vpmd';
import { renderLabels, type ExpositionWriter, type Family, type Labels } from '../exposition/families.js';

const VM_ENERGY: Family = {
  name: 'vpmd_vm_energy_joules',
  type: 'counter',
  unit: 'joules',
  help: 'Energy accounted to the VM (monotonic, kept across agent and VM restarts), by source (rapl, wall) and model',
};
const VM_POWER: Family = {
  name: 'vpmd_vm_power_watts',
  type: 'gauge',
  unit: 'watts',
  help: "The VM's average power over the last accounting interval, by source and model",
};
const VM_ZONE_ENERGY: Family = {
  name: 'vpmd_vm_zone_energy_joules',
  type: 'counter',
  unit: 'joules',
  help: 'RAPL energy accounted to the VM per zone (package-0, package-0/dram...)',
};
const VM_INFO: Family = {
  name: 'vpmd_vm',
  type: 'info',
  help: "The VM's name and Nova ids (empty when the domain's metadata has none), by domain UUID",
};
const VM_RUNNING: Family = {
  name: 'vpmd_vm_running',
  type: 'gauge',
  help: '1 while the domain runs; 0 for a stopped domain whose counters are kept',
};
const ZONE_SHARE: Family = {
  name: 'vpmd_zone_energy_joules',
  type: 'counter',
  unit: 'joules',
  help: "A RAPL zone's energy split into shares (idle, host, vms, unattributed); the shares sum to the zone's measured energy",
};
const ZONE_MEASURED: Family = {
  name: 'vpmd_zone_measured_energy_joules',
  type: 'counter',
  unit: 'joules',
  help: 'Energy the RAPL zone measured (wraps of max_energy_range_uj undone)',
};
const IDLE_FLOOR: Family = {
  name: 'vpmd_zone_idle_floor_watts',
  type: 'gauge',
  unit: 'watts',
  help: "The zone's measured idle floor, labelled with how it was found",
};
const WALL_POWER: Family = {
  name: 'vpmd_wall_power_watts',
  type: 'gauge',
  unit: 'watts',
  help: "The host's wall power as the source measuring it reads it (BMC DCMI, Redfish, PDU outlet)",
};
const WALL_DIVERGENCE: Family = {
  name: 'vpmd_wall_divergence_watts',
  type: 'gauge',
  unit: 'watts',
  help: 'Wall power minus the RAPL total over the same interval (what RAPL does not see)',
};
const SAMPLED_AT: Family = {
  name: 'vpmd_energy_last_sample_timestamp_seconds',
  type: 'gauge',
  unit: 'seconds',
  help: 'When the last accounting interval ended, seconds since the epoch',
};

function figure(w: ExpositionWriter, id: string, f: EnergyFigure): void {
  const labels = `${id},${renderLabels([
    ['source', f.source],
    ['model', f.model],
  ])}`;
  w.addUnique(VM_ENERGY, labels, f.joules);
  if (f.watts !== null) w.addUnique(VM_POWER, labels, f.watts);
}

function vm(w: ExpositionWriter, v: VmEnergy): void {
  // Rendered once per VM and reused by each of its samples.
  const uuid = renderLabels([['domain_uuid', v.uuid]]);
  const id = `${uuid},${renderLabels([['domain_name', v.name]])}`;
  figure(w, id, v.rapl);
  if (v.wall) figure(w, id, v.wall);
  for (const [zone, joules] of Object.entries(v.zones))
    w.addUnique(VM_ZONE_ENERGY, `${uuid},${renderLabels([['zone', zone]])}`, joules);
  w.addUnique(
    VM_INFO,
    `${id},${renderLabels([
      ['nova_instance_id', v.novaInstanceId ?? ''],
      ['nova_project_id', v.novaProjectId ?? ''],
    ])}`,
    1,
  );
  w.addUnique(VM_RUNNING, uuid, v.running ? 1 : 0);
}

/** Adds the VMs' and the host's energy account to `w`. */
export function collectVmEnergy(w: ExpositionWriter, energy: EnergyAccounting): void {
  for (const f of [VM_ENERGY, VM_POWER, VM_ZONE_ENERGY, VM_INFO, VM_RUNNING]) w.family(f);
  for (const f of [ZONE_SHARE, ZONE_MEASURED, IDLE_FLOOR, WALL_POWER, WALL_DIVERGENCE, SAMPLED_AT]) w.family(f);
  // One row per UUID: a provider that repeats a VM (it should not) gets its first entry
  // exported, which keeps every per-VM sample unique without checking each one.
  const seen = new Set<string>();
  for (const v of energy.vms()) {
    if (seen.has(v.uuid)) continue;
    seen.add(v.uuid);
    vm(w, v);
  }
  const host = energy.host();
  for (const z of host.zones) {
    const zone: Labels = [['zone', z.zone]];
    w.add(ZONE_MEASURED, zone, z.totalJoules);
    w.add(ZONE_SHARE, [...zone, ['share', 'idle']], z.idleJoules);
    w.add(ZONE_SHARE, [...zone, ['share', 'host']], z.hostJoules);
    w.add(ZONE_SHARE, [...zone, ['share', 'vms']], z.vmJoules);
    w.add(ZONE_SHARE, [...zone, ['share', 'unattributed']], z.unattributedJoules);
  }
  for (const [zone, floor] of Object.entries(host.idleFloor))
    w.add(
      IDLE_FLOOR,
      [
        ['zone', zone],
        ['method', floor.method],
      ],
      floor.watts,
    );
  if (host.wall) {
    const origin: Labels = [['origin', host.wall.origin]];
    if (host.wall.watts !== null) w.add(WALL_POWER, origin, host.wall.watts);
    if (host.wall.divergenceWatts !== null) w.add(WALL_DIVERGENCE, origin, host.wall.divergenceWatts);
  }
  if (host.sampledAt > 0) w.add(SAMPLED_AT, [], host.sampledAt / 1000);
}
