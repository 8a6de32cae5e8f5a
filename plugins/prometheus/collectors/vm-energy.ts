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

/**
 * A VM's rendered label sets, kept from one scrape to the next (a VM's identity rarely changes:
 * rendering and escaping 500 VMs' labels on every scrape was most of its garbage). Rebuilt when
 * the name or the Nova ids change; dropped when the VM is no longer listed.
 */
interface VmLabels {
  readonly key: string;
  readonly uuid: string;
  readonly id: string;
  readonly info: string;
  readonly zones: Map<string, string>;
  round: number;
}

interface LabelCache {
  readonly vms: Map<string, VmLabels>;
  /** `source="rapl",model="..."` by source and model. */
  readonly figures: Map<string, string>;
  round: number;
}

const caches = new WeakMap<EnergyAccounting, LabelCache>();

function labelsOf(cache: LabelCache, v: VmEnergy): VmLabels {
  const key = `${v.name}\0${v.novaInstanceId ?? ''}\0${v.novaProjectId ?? ''}`;
  let l = cache.vms.get(v.uuid);
  if (l === undefined || l.key !== key) {
    const uuid = renderLabels([['domain_uuid', v.uuid]]);
    const id = `${uuid},${renderLabels([['domain_name', v.name]])}`;
    const info = `${id},${renderLabels([
      ['nova_instance_id', v.novaInstanceId ?? ''],
      ['nova_project_id', v.novaProjectId ?? ''],
    ])}`;
    l = { key, uuid, id, info, zones: new Map(), round: cache.round };
    cache.vms.set(v.uuid, l);
  }
  l.round = cache.round;
  return l;
}

function figure(w: ExpositionWriter, cache: LabelCache, id: string, f: EnergyFigure): void {
  const key = `${f.source}\0${f.model}`;
  let rendered = cache.figures.get(key);
  if (rendered === undefined) {
    rendered = renderLabels([
      ['source', f.source],
      ['model', f.model],
    ]);
    cache.figures.set(key, rendered);
  }
  const labels = `${id},${rendered}`;
  w.addUnique(VM_ENERGY, labels, f.joules);
  if (f.watts !== null) w.addUnique(VM_POWER, labels, f.watts);
}

function vm(w: ExpositionWriter, cache: LabelCache, v: VmEnergy): void {
  const l = labelsOf(cache, v);
  figure(w, cache, l.id, v.rapl);
  if (v.wall) figure(w, cache, l.id, v.wall);
  for (const zone in v.zones) {
    let labels = l.zones.get(zone);
    if (labels === undefined) {
      labels = `${l.uuid},${renderLabels([['zone', zone]])}`;
      l.zones.set(zone, labels);
    }
    w.addUnique(VM_ZONE_ENERGY, labels, v.zones[zone] as number);
  }
  w.addUnique(VM_INFO, l.info, 1);
  w.addUnique(VM_RUNNING, l.uuid, v.running ? 1 : 0);
}

/** Adds the VMs' and the host's energy account to `w`. */
export function collectVmEnergy(w: ExpositionWriter, energy: EnergyAccounting): void {
  for (const f of [VM_ENERGY, VM_POWER, VM_ZONE_ENERGY, VM_INFO, VM_RUNNING]) w.family(f);
  for (const f of [ZONE_SHARE, ZONE_MEASURED, IDLE_FLOOR, WALL_POWER, WALL_DIVERGENCE, SAMPLED_AT]) w.family(f);
  // One row per UUID: a provider that repeats a VM (it should not) gets its first entry
  // exported, which keeps every per-VM sample unique without checking each one.
  let cache = caches.get(energy);
  if (cache === undefined) {
    cache = { vms: new Map(), figures: new Map(), round: 0 };
    caches.set(energy, cache);
  }
  const round = ++cache.round;
  const seen = new Set<string>();
  for (const v of energy.vms()) {
    if (seen.has(v.uuid)) continue;
    seen.add(v.uuid);
    vm(w, cache, v);
  }
  for (const [uuid, l] of cache.vms) if (l.round !== round) cache.vms.delete(uuid);
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
