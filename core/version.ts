/** vpmd's version, read from package.json at run time (one source of truth). */
import { readFileSync } from 'node:fs';

function findVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'vpmd' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next location (source tree vs dist/)
    }
  }
  return '0.0.0-unknown';
}

/** The package version. */
export const VPMD_VERSION: string = findVersion();
