/**
 * The simulated host: generated `sys/` and `proc/` trees for several realistic machines, and a
 * simulated kernel that reproduces the kernel behaviours plain files cannot (EINVAL, EBUSY,
 * EACCES, clamping, counters that advance and wrap, thermal inertia).
 */
export type {
  SimProfile,
  SimProfileName,
  SimCpufreqMode,
  SimCpufreqSpec,
  SimIdleState,
  SimCache,
  SimPowerSpec,
  SimPlatformSpec,
  SimCpuIdentity,
  SimPlacement,
} from './sim-profile.js';
export { cpuCount, allCpus, placement, threadSiblings } from './sim-profile.js';
export { SIM_PROFILES, getSimProfile, type SimProfileInfo } from './sim-profiles.js';
export {
  SIM_MARKER,
  SIM_MARKER_FORMAT,
  type SimMarker,
  type SimState,
  type SimSleepRecord,
  type SimFreqRequest,
} from './sim-state.js';
export { SIM_MAX_ENERGY_RANGE_UJ, raplZones, thermalZones, hwmonChips } from './build-platform-tree.js';
export type { SimRaplZone, SimThermalZone, SimHwmonChip } from './build-platform-tree.js';
export type { SimPower } from './sim-physics.js';
export {
  generateSimulatedHost,
  buildSimulatedTree,
  createTemporarySimulatedHost,
  type GenerateSimulatedHostOptions,
  type TemporarySimulatedHost,
  type TemporarySimulatedHostOptions,
} from './generate.js';
export type { SimVmSpec, SimThreadSpec, SimLoad, SimLoadPattern } from './sim-vms.js';
export { SimVms, type SimVmInfo } from './sim-vm-control.js';
export { DOMAINS_FILE as SIM_DOMAINS_FILE, DOMAINS_FORMAT as SIM_DOMAINS_FORMAT } from './sim-vm-files.js';
export { SimulatedKernel, openSimulatedHost, type OpenSimulatedHostOptions } from './simulated-kernel.js';
