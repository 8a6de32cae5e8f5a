/**
 * Finds the programs peers need, failing with a message that names the Debian package and
 * scripts/setup-peers.sh instead of a bare ENOENT from spawn.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { peerMissingError } from './peer-errors.js';

/**
 * Debian's python3. A pyenv or venv `python3` earlier on PATH cannot import Debian's
 * dist-packages (python3-dbusmock, python3-dbus, python3-gi), so the kit never uses PATH for it.
 */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** Several peers (libvirt-dbus, snmpd, ipmi-sensors) live in sbin, often absent from PATH. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

const resolved = new Map<string, string>();
const pythonModules = new Map<string, Promise<boolean>>();

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `program` (searched on PATH, then in the sbin directories).
 * @param peer - the peer that needs it, for the error message
 * @param program - a bare name or an absolute path
 * @param debianPackage - the package that provides it
 * @throws VpmdError (missing program) naming the package and scripts/setup-peers.sh
 */
export async function requireProgram(peer: string, program: string, debianPackage: string): Promise<string> {
  const cached = resolved.get(program);
  if (cached !== undefined) return cached;
  const candidates = isAbsolute(program)
    ? [program]
    : [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...SBIN_DIRS].map((dir) =>
        join(dir, program),
      );
  for (const candidate of candidates) {
    if (await isExecutable(candidate)) {
      resolved.set(program, candidate);
      return candidate;
    }
  }
  throw peerMissingError(peer, program, debianPackage);
}

/**
 * Checks that Debian's python3 can import `module` (checked once per process).
 * @throws VpmdError (missing program) naming the package and scripts/setup-peers.sh
 */
export async function requirePythonModule(peer: string, module: string, debianPackage: string): Promise<void> {
  await requireProgram(peer, DEBIAN_PYTHON, 'python3');
  let check = pythonModules.get(module);
  if (check === undefined) {
    check = new Promise<boolean>((resolve) => {
      execFile(DEBIAN_PYTHON, ['-c', `import ${module}`], { timeout: 15_000 }, (err) => resolve(err === null));
    });
    pythonModules.set(module, check);
  }
  if (!(await check)) throw peerMissingError(peer, `python module ${module} (for ${DEBIAN_PYTHON})`, debianPackage);
}
