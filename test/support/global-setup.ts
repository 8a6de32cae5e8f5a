/**
 * Runs once before any test file: tests spawn the compiled programs in dist/ (`npm test` builds
 * first), so a stale or missing build is rebuilt here, once, instead of in every file.
 */
import { ensureBuilt } from './built-cli.js';

export default function setup(): void {
  ensureBuilt();
}
