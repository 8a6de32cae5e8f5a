import { configDefaults, defineConfig } from 'vitest/config';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Files that assert a peer's wall-clock deadline: run one at a time, nothing else running. */
export const ALONE = ['test/integration/real-vm/**', 'test/plugins/virtio-channels/dpdk-contract.test.ts'];
/** Files that need DMTF's Redfish Mockup Server (not in this repository): vitest.mockup.config.ts. */
export const MOCKUP = ['test/integration/redfish-mockup/**'];

export default defineConfig({
  resolve: {
    alias: {
      'vpmd/testkit': fileURLToPath(new URL('./testkit/index.ts', import.meta.url)),
      vpmd: fileURLToPath(new URL('./core/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Wall-clock contracts (DPDK's 10 ms reply) run alone, after this suite: see vitest.alone.config.ts.
    exclude: [...configDefaults.exclude, ...ALONE, ...MOCKUP],
    // Builds dist/ once if it is stale: tests spawn the compiled programs.
    globalSetup: ['./test/support/global-setup.ts'],
    // Bounds, not speed requirements: the suite must pass with a CPU hog on every core.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration files mostly wait on their peers (dbus-daemon, ipmi_sim, snmpd ...): two files
    // per core keep the CPUs busy. A worker runs file after file in one process (no isolation):
    // re-importing the core for each of ~100 files cost more than the tests on a loaded machine.
    // Files share no state through it: every agent, peer, timer and directory is a file's own.
    maxWorkers: Math.max(2, 2 * availableParallelism()),
    isolate: false,
    reporters: ['default', './test/support/strict-reporter.ts'],
  },
});
