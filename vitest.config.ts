import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: {
    alias: {
      'vpmd/testkit': fileURLToPath(new URL('./testkit/index.ts', import.meta.url)),
      vpmd: fileURLToPath(new URL('./core/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real peers (dbus-daemon, ipmi_sim ...); two cores: keep it modest.
    maxWorkers: 2,
    reporters: ['default', './test/support/strict-reporter.ts'],
  },
});
