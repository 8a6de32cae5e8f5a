/**
 * The demo's simulated VMs: three guests whose vCPU threads burn simulated CPU on pinned host
 * CPUs with loads that move, so that `vpmctl vm energy` (and `vpmctl domains list`) show
 * something within seconds. They live in the simulated host's marker, before the agent opens it.
 */
import { openSimulatedHost } from '../core/sim/index.js';

/** Starts the demo VMs on the simulated host in `hostRoot` (every profile has at least 8 CPUs). */
export async function startDemoVms(hostRoot: string): Promise<void> {
  const k = await openSimulatedHost(hostRoot);
  const web = { mean: 0.5, amplitude: 0.3, periodS: 120 };
  const db = { mean: 0.3, amplitude: 0.1, periodS: 300 };
  const batch = { mean: 0.7, amplitude: 0.25, periodS: 600 };
  k.vms.start({
    uuid: '6f1c0c52-3c1e-4d6a-9b7e-2a52f1d0a001',
    name: 'web-1',
    vcpus: [
      { pins: [0], load: web },
      { pins: [1], load: web },
    ],
    novaProjectId: 'demo-project',
  });
  k.vms.start({
    uuid: '6f1c0c52-3c1e-4d6a-9b7e-2a52f1d0a002',
    name: 'db-1',
    vcpus: [
      { pins: [2], load: db },
      { pins: [3], load: db },
    ],
  });
  k.vms.start({
    uuid: '6f1c0c52-3c1e-4d6a-9b7e-2a52f1d0a003',
    name: 'batch-1',
    vcpus: [4, 5, 6, 7].map((cpu) => ({ pins: [cpu], load: batch })),
  });
  k.vms.setHostLoad('all', 0.03);
  await k.sync();
}
