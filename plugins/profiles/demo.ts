/**
 * What `vpmd --demo` runs: a latency-critical profile on the pCPUs of the demo's VMs (vm1 and
 * vm2 of virtio-channels run on pCPUs 2-3) and a bulk profile on the rest of the upper CPUs.
 * The latency profile sets no governor, so guests keep driving their pCPUs' frequency inside it.
 */
import type { ProfilesConfig } from './config.js';

export const DEMO_PROFILES: ProfilesConfig = {
  profiles: {
    'latency-critical': {
      description: 'VMs that answer within microseconds: no deep C-states, a high floor, turbo on',
      minKHz: 2_000_000,
      turbo: true,
      resumeLatencyUs: 10,
    },
    bulk: {
      description: 'Batch work: on-demand frequency, capped below turbo, deepest C-states, slow uncore',
      governor: 'ondemand',
      maxKHz: 2_800_000,
      turbo: false,
      uncore: { maxKHz: 1_600_000 },
    },
    night: {
      description: 'Everything slow at night',
      governor: 'powersave',
      uncore: { maxKHz: 1_200_000 },
    },
  },
  pools: [
    { name: 'realtime', cpus: '2-3', profile: 'latency-critical' },
    { name: 'bulk', cpus: '4-7', profile: 'bulk' },
  ],
  schedules: [
    {
      pool: 'bulk',
      timeZone: 'UTC',
      dwellSeconds: 300,
      switches: [
        { at: '07:00', profile: 'bulk' },
        { at: '22:00', profile: 'night' },
      ],
    },
  ],
  powerModes: {
    MaximumPerformance: { realtime: 'latency-critical', bulk: 'latency-critical' },
    BalancedPerformance: { realtime: 'latency-critical', bulk: 'bulk' },
    PowerSaving: { realtime: 'bulk', bulk: 'night' },
  },
  restoreOnStop: true,
  driftCheckSeconds: 30,
  correctDrift: false,
};
