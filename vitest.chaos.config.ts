import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The chaos suite (npm run chaos): attacks replayed against a running agent, one file at a time
// so that floods do not overlap. Same aliases as the main suite, its own files.
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/strict-reporter.ts'],
  },
});
