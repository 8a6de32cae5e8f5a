import { defineConfig } from 'vitest/config';
import base, { MOCKUP } from './vitest.config.js';

// Tests against DMTF's Redfish Mockup Server, which is not in this repository (it lives in
// ../shared/tools/redfish-mockup-server or $VPMD_REDFISH_MOCKUP): their own stage in .ci/run.
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: MOCKUP,
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default', './test/support/strict-reporter.ts'],
  },
});
