/**
 * A real hypervisor as a test peer: libvirt's QEMU driver (qemu:///system) running a small guest
 * booted from Debian's kernel and a busybox initramfs, with two DPDK power channels
 * (virtio-serial ports `virtio.serial.port.poweragent.0|1`, unix sockets `CHANNELS/NAME.N` on
 * the host) and its serial console on a unix socket. `scripts/real-vm.sh` does the work
 * (daemons, guest build, domain XML); this module drives it and the guest's console.
 * Needs root, and the packages `scripts/real-vm.sh install` installs.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { onProcessEnd } from './exit-hooks.js';
import { peerFailedError, peerTimeoutError, describe as describeError } from './peer-errors.js';
import { pollUntil } from './wait.js';

const PEER = 'real-vm';
const run = promisify(execFile);
const URI = 'qemu:///system';

/** Options of {@link startRealVm}. */
export interface RealVmOptions {
  /** Domain name (default `vpmd-vm`). */
  readonly name?: string;
  /** The host CPUs vCPU 0 and vCPU 1 are pinned to (default [0, 1]). */
  readonly pins?: readonly [number, number];
  /** Bound for the boot, up to the guest's shell answering (default 240 s: TCG on a busy host). */
  readonly bootTimeoutMs?: number;
}

/** What one guest command printed and how it ended. */
export interface GuestResult {
  readonly output: string;
  readonly status: number;
}

/** A running guest. */
export interface RealVm {
  readonly name: string;
  readonly uuid: string;
  /** The directory holding the domain's files; channel sockets are in `channelDir`. */
  readonly dir: string;
  /** Where QEMU listens for the power channels: `channelDir/NAME.0` and `.1`. */
  readonly channelDir: string;
  /** `kvm` or `tcg` (software emulation), as the script chose. */
  readonly accel: 'kvm' | 'tcg';
  /** Runs a shell command line in the guest and waits for it to end. */
  guest(command: string, timeoutMs?: number): Promise<GuestResult>;
  /** Runs `virsh -c qemu:///system ARGS`; resolves with its standard output. */
  virsh(...args: string[]): Promise<string>;
  /** Waits until the guest's shell answers again (after a reboot or a destroy/start). */
  waitForShell(timeoutMs?: number): Promise<void>;
  /** Destroys and undefines the domain, stops the daemons the script started, removes `dir`. */
  stop(): Promise<void>;
}

/** Finds `scripts/real-vm.sh` above this file (source tree or installed package). */
export function realVmScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'scripts', 'real-vm.sh');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw peerFailedError(PEER, 'scripts/real-vm.sh not found above the test kit');
}

/** The guest's serial console: one connection, commands framed by an end marker. */
class GuestConsole {
  private socket: Socket | undefined;
  private buffer = '';
  private seq = 0;
  private waiter: (() => void) | undefined;

  constructor(private readonly path: string) {}

  private async open(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const s = await new Promise<Socket>((res, rej) => {
      const c = connect(this.path);
      c.once('connect', () => res(c));
      c.once('error', rej);
    });
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
    s.on('error', () => s.destroy());
    s.on('close', () => this.waiter?.());
    this.socket = s;
    this.buffer = '';
    return s;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** Sends `command` followed by an end marker carrying its status; resolves at the marker. */
  async run(command: string, timeoutMs: number): Promise<GuestResult> {
    const s = await this.open();
    const id = ++this.seq;
    const marker = `__VPMD_END_${id}__`;
    const re = new RegExp(`${marker} (\\d+)\\r?\\n`);
    const start = this.buffer.length;
    s.write(`${command}; echo "${marker} $?"\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = re.exec(this.buffer.slice(start));
      if (found) {
        const output = this.buffer.slice(start, start + found.index).replace(/\r/g, '');
        this.buffer = this.buffer.slice(start + found.index + found[0].length);
        return { output, status: Number(found[1]) };
      }
      if (s.destroyed) throw peerFailedError(PEER, `the console closed while '${command}' ran`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw peerTimeoutError(PEER, `guest command '${command}' to end`, timeoutMs, this.buffer.slice(-2000));
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiter = () => {
          clearTimeout(t);
          res();
        };
      });
      this.waiter = undefined;
    }
  }
}

async function script(args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run('bash', [realVmScript(), ...args], { timeout: timeoutMs, maxBuffer: 1 << 22 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    throw peerFailedError(
      PEER,
      `scripts/real-vm.sh ${args[0] ?? ''} failed: ${describeError(e)}`,
      {},
      `${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
  }
}

/**
 * Builds the guest, defines and boots the domain, and waits until its shell answers on the
 * serial console with both power channels present in the guest.
 * @throws VpmdError when not root, a package is missing, or the guest does not answer in time
 */
export async function startRealVm(opts: RealVmOptions = {}): Promise<RealVm> {
  if (process.getuid?.() !== 0) throw peerFailedError(PEER, "libvirt's QEMU driver (qemu:///system) needs root");
  const name = opts.name ?? 'vpmd-vm';
  const pins = opts.pins ?? [0, 1];
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-real-vm-'));
  const bootTimeoutMs = opts.bootTimeoutMs ?? 240_000;
  let stopped: Promise<void> | undefined;
  const down = (): Promise<void> =>
    (stopped ??= (async () => {
      console_.close();
      await script(['down', dir], 120_000).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    })());
  // Last resort when the test process dies: a synchronous teardown of the domain.
  onProcessEnd(() => {
    if (stopped) return;
    try {
      execFileSync('bash', [realVmScript(), 'down', dir], { stdio: 'ignore', timeout: 60_000 });
    } catch {
      // best effort
    }
  });
  const console_ = new GuestConsole(join(dir, 'console.sock'));
  try {
    const out = await script(['up', dir, name, `${pins[0]},${pins[1]}`], 600_000);
    const kv = new Map(out.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
    const vm: RealVm = {
      name,
      uuid: kv.get('uuid') ?? '',
      dir,
      channelDir: kv.get('channels') ?? join(dir, 'channels'),
      accel: kv.get('accel') === 'kvm' ? 'kvm' : 'tcg',
      guest: (command, timeoutMs = 30_000) => console_.run(command, timeoutMs),
      virsh: async (...args) => (await run('virsh', ['-c', URI, ...args], { timeout: 60_000 })).stdout,
      waitForShell: (timeoutMs = bootTimeoutMs) => waitForShell(console_, timeoutMs),
      stop: down,
    };
    await vm.waitForShell();
    return vm;
  } catch (e) {
    await down();
    throw e;
  }
}

/** Polls the console until `ls /dev/virtio-ports` in the guest lists both power ports. */
async function waitForShell(c: GuestConsole, timeoutMs: number): Promise<void> {
  await pollUntil({
    peer: PEER,
    what: 'the guest shell to answer with both power channels in /dev/virtio-ports',
    timeoutMs,
    intervalMs: 500,
    probe: async () => {
      try {
        const r = await c.run('ls /dev/virtio-ports', 3_000);
        return /poweragent\.0/.test(r.output) && /poweragent\.1/.test(r.output) ? true : undefined;
      } catch (e) {
        c.close();
        throw e;
      }
    },
  });
}
