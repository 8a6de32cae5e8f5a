/**
 * Fails the run when any test was skipped or marked todo (a skipped test is a failure in CI),
 * and prints a plain closing line "tests: N passed, N failed" that CI can read.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class StrictReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped.push(`${mod.moduleId}: ${test.fullName}`);
      }
      if (mod.state() === 'failed' && mod.children.size === 0) failed++;
    }
    if (skipped.length > 0) {
      process.stdout.write(`\nSkipped tests are failures:\n${skipped.map((s) => `  - ${s}`).join('\n')}\n`);
      process.exitCode = 1;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed + skipped.length} failed\n`);
  }
}
