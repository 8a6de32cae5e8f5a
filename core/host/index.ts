/**
 * The host model: typed reads and verified writes of the host's power knobs (cpufreq, cpuidle,
 * RAPL, thermal, sleep, RTC, topology) over a {@link SysfsBackend}, plus host telemetry.
 */
export * from './sysfs-backend.js';
export * from './host-errors.js';
export * from './real-sysfs.js';
export * from './sysfs-read.js';
export * from './host-faults.js';
export * from './sysfs-attr.js';
export * from './cpu-ranges.js';
export * from './proc-files.js';
export * from './thread-cpu.js';
export * from './kept-open-files.js';
export * from './topology.js';
export * from './cpufreq.js';
export * from './cpufreq-writers.js';
export * from './turbo.js';
export * from './cpuidle.js';
export * from './rapl.js';
export * from './energy-counter.js';
export * from './thermal.js';
export * from './sleep.js';
export * from './rtc.js';
export * from './dmi.js';
export * from './host-model.js';
export * from './host-telemetry.js';
export * from './fault-injecting-sysfs.js';
export * from './pass-through-sysfs.js';
