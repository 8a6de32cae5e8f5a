/**
 * Runs the real DPDK guest (librte_power, KVM_VM environment) behind a socat pty at
 * /dev/virtio-ports/virtio.serial.port.poweragent.N inside a private mount namespace, with socat
 * listening on DIR/VM.N where the agent connects, as QEMU would.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildC, C_DIR } from './build-c.js';

/** What one guest run printed. */
export interface GuestRun {
  readonly code: number | null;
  /** One line per word (see c/dpdk-guest.c). */
  readonly lines: string[];
  readonly stderr: string;
}

/**
 * Runs `words` in a DPDK guest on lcore `lcore` of VM `vm`. With `fifoPriority`, the guest and
 * socat (QEMU's stand-in) run under SCHED_FIFO, as the vCPU and I/O threads of a DPDK VM do on
 * a host tuned for it.
 */
export async function runDpdkGuest(
  dir: string,
  vm: string,
  lcore: number,
  words: readonly string[],
  timeoutMs = 30_000,
  fifoPriority = 0,
): Promise<GuestRun> {
  const guest = await buildC('dpdk-guest');
  // Root may unshare the mount namespace directly; others need a user namespace for it.
  const unshare = process.getuid?.() === 0 ? ['-m'] : ['-r', '-m'];
  const command = ['unshare', ...unshare, 'sh', join(C_DIR, 'run-guest.sh'), dir, vm, String(lcore), guest, ...words];
  const argv = fifoPriority > 0 ? ['chrt', '-f', String(fifoPriority), ...command] : command;
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `DPDK guest ${words.join(' ')} did not finish within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`,
        ),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  return { code, lines: out.trim().split('\n').filter(Boolean), stderr: err };
}
