/**
 * Runs the real DPDK guest (librte_power, KVM_VM environment) with QEMU's end of the channel
 * listening on DIR/VM.N, where the agent connects. Two transports:
 * - `pty` (default): a socat pty at /dev/virtio-ports/virtio.serial.port.poweragent.N inside a
 *   private mount namespace, the setup of DPDK's docs;
 * - `direct`: the guest's open() of that port returns the accepted unix socket itself
 *   (c/direct-port.c, LD_PRELOAD). Used where the assertion is DPDK's 10 ms: socat and the
 *   pty's kernel worker are four extra wake-ups of ordinary tasks per round trip that a real
 *   virtio-serial port does not have, and on a saturated machine they alone exceed 10 ms.
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

/** How the guest's port reaches the agent (see the module comment). */
export type GuestTransport = 'pty' | 'direct';

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
  transport: GuestTransport = 'pty',
): Promise<GuestRun> {
  const guest = await buildC('dpdk-guest');
  let command: string[];
  let env: NodeJS.ProcessEnv = process.env;
  if (transport === 'direct') {
    command = [guest, String(lcore), ...words];
    env = { ...process.env, LD_PRELOAD: await buildC('direct-port'), VPMD_PORT_DIR: dir, VPMD_PORT_VM: vm };
  } else {
    // Root may unshare the mount namespace directly; others need a user namespace for it.
    const unshare = process.getuid?.() === 0 ? ['-m'] : ['-r', '-m'];
    command = ['unshare', ...unshare, 'sh', join(C_DIR, 'run-guest.sh'), dir, vm, String(lcore), guest, ...words];
  }
  // Explicit either way: a child of a thread under SCHED_FIFO inherits it unless told otherwise.
  const argv = ['chrt', ...(fifoPriority > 0 ? ['-f', String(fifoPriority)] : ['-o', '0']), ...command];
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
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
