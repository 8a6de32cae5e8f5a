/**
 * Builds the C helpers of the virtio-channels tests against Debian's DPDK (libdpdk-dev): the
 * layout printer and the real DPDK guest. Binaries are cached by a hash of their source in the
 * temp directory, so each suite compiles at most once.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Directory of the C sources and the guest wrapper script. */
export const C_DIR = fileURLToPath(new URL('../c/', import.meta.url));

async function pkgConfig(flag: '--cflags' | '--libs'): Promise<string[]> {
  try {
    const { stdout } = await run('pkg-config', [flag, 'libdpdk']);
    return stdout.trim().split(/\s+/).filter(Boolean);
  } catch (e) {
    throw new Error(`pkg-config libdpdk failed (Debian package libdpdk-dev; run scripts/setup-peers.sh): ${String(e)}`);
  }
}

/** Compiles `name.c` (cached) and returns the binary's path; `direct-port` is a shared library. */
export async function buildC(name: 'layout' | 'dpdk-guest' | 'direct-port'): Promise<string> {
  const src = join(C_DIR, `${name}.c`);
  const text = await readFile(src);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'vpmd-virtio-channels-c');
  await mkdir(dir, { recursive: true });
  const out = join(dir, `${name}-${hash}${name === 'direct-port' ? '.so' : ''}`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}`;
  if (name === 'direct-port') await run('gcc', ['-Wall', '-O1', '-shared', '-fPIC', '-o', tmp, src, '-ldl']);
  else {
    const cflags = await pkgConfig('--cflags');
    const libs = name === 'dpdk-guest' ? ['-lrte_power', '-lrte_eal'] : [];
    await run('gcc', ['-Wall', '-O1', '-DALLOW_EXPERIMENTAL_API', ...cflags, '-o', tmp, src, ...libs]);
  }
  await run('mv', ['-f', tmp, out]);
  return out;
}
