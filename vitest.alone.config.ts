import { defineConfig } from 'vitest/config';
import base, { ALONE } from './vitest.config.js';

// Tests whose assertion is a peer's wall-clock deadline (a DPDK guest reads ONE reply within
// 10 ms): they start their own CPU hogs where the contract says "with cores busy", so the rest of
// the suite must not add load of its own. One file at a time, after the main suite.
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ALONE,
    globalSetup: ['./test/support/global-setup.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 300_000,
    hookTimeout: 900_000,
    reporters: ['default', './test/support/strict-reporter.ts'],
  },
});
