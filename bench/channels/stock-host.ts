/**
 * DPDK's stock VM power host (`vm_power_mgr`, built by `scripts/build-dpdk-host.sh` from Debian's
 * `dpdk-doc` sources) run without VMs, root privileges on the real host or a libvirtd, so the
 * channel benchmark can measure it against vpmd on the same machine in the same run.
 *
 * What it needs and how it gets it, without touching the machine:
 * - libvirt: the only patch to DPDK's sources reads the URI from `VM_POWER_MGR_LIBVIRT_URI`; it
 *   points at libvirt's Test driver with a node XML defining the VMs (8 vCPUs each, pinned), so
 *   `add_vm` finds the domains and their pins as it would with QEMU.
 * - sysfs: a private mount namespace (`unshare -m`) binds a simulated acpi-cpufreq tree over
 *   `/sys/devices/system/cpu`; librte_power switches its governors and writes its setspeed files.
 * - channels: `/tmp/powermonitor` is hard-coded; inside the namespace a private tmpfs covers
 *   `/tmp` and the benchmark's socket directory is bound at `/tmp/powermonitor`.
 * - CPUs: DPDK needs one EAL lcore pinned to each core it scales, and refuses an lcore spanning
 *   several CPUs. The tree therefore has as many CPUs as this process may run on (0..N-1, at
 *   most 8), lcore i runs on CPU i, and a third lcore for DPDK's core monitor shares the last CPU
 *   when N < 3 (it is not a power-managed lcore because it is not below the CPU count).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSimulatedHost } from '../../core/sim/index.js';

/** The profile of the simulated tree the stock host scales (DPDK's acpi-cpufreq path). */
export const STOCK_PROFILE = 'intel-acpi-cpufreq-8';
const PROFILE_CPUS = 8;
const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-dpdk-host.sh', import.meta.url));
const PROMPT = 'vmpower> ';

/** Options of {@link startStockHost}. */
export interface StockHostOptions {
  /** Directory holding the channel sockets `VM.N` that the guests (QEMU's side) listen on. */
  readonly dir: string;
  /** VMs to define in libvirt's Test driver and add with `add_vm` + `add_channels VM all`. */
  readonly vmNames: readonly string[];
  /** vCPUs per VM (one channel per vCPU is expected in `dir`, but `all` adds whatever is there). */
  readonly channelsPerVm: number;
  /** The physical CPU of vCPU `vcpu` of the VM at `vmIndex` (must be below {@link usableCpus}). */
  readonly pin: (vmIndex: number, vcpu: number) => number;
  /**
   * A CPU tree made by {@link makeCpuTree}, bound over /sys/devices/system/cpu. The Test
   * driver's XML is written next to it (`vpmd-test-node.xml` in the same parent directory).
   */
  readonly cpuTree: string;
  /** The binary printed by the build script (see {@link buildStockHost}). */
  readonly binary: string;
  /** Milliseconds to wait for the prompt and for each command (default 30,000). */
  readonly timeoutMs?: number;
}

/** A running stock host. */
export interface StockHost {
  /** Process id of `vm_power_mgr` (unshare and sh exec into it). */
  readonly pid: number;
  /** Channels `add_channels VM all` added, per VM. */
  readonly channels: Readonly<Record<string, number>>;
  /** Runs one CLI line and returns what it printed up to the next prompt. */
  command(line: string): Promise<string>;
  /** CPU seconds (user + system) the stock host has used so far, from /proc. */
  cpuSeconds(): Promise<number>;
  /** Quits through the CLI (which restores the original governors), killing it if it hangs. */
  stop(): Promise<void>;
}

/**
 * Builds (or finds the cached build of) the stock host with `scripts/build-dpdk-host.sh`.
 *
 * @returns the absolute path of `vm_power_mgr`.
 * @throws Error naming the script and its last output lines when it fails (no apt, no root, a
 *   failed build): the comparison is never skipped silently.
 */
export async function buildStockHost(): Promise<string> {
  const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      err += String(e);
      resolve(-1);
    });
    child.on('exit', resolve);
  });
  const bin = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !bin.startsWith('/')) {
    const tail = err.trim().split('\n').slice(-8).join('\n');
    throw new Error(
      `DPDK's stock host is not available: ${BUILD_SCRIPT} exited with ${code}. Run it by hand (it needs apt and root to install dpdk-doc and libvirt-dev). Its last output:\n${tail}`,
    );
  }
  return bin;
}

/**
 * How many CPUs the simulated host gets: the CPUs 0, 1, ... this process may run on without a
 * gap, at most the profile's 8 (DPDK pins lcore i to CPU i, which must exist).
 */
export async function usableCpus(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? '0';
  const allowed = new Set<number>();
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let c = a; c <= (b ?? a); c++) allowed.add(c);
  }
  let n = 0;
  while (n < PROFILE_CPUS && allowed.has(n)) n++;
  if (n === 0)
    throw new Error(
      `this process may not run on CPU 0 (Cpus_allowed_list ${list}); DPDK's lcore layout here needs CPUs 0..N-1`,
    );
  return n;
}

/**
 * Lays out `dir/host` (a full simulated host of {@link STOCK_PROFILE}, which vpmd can use as its
 * root) and `dir/cpu`, its `sys/devices/system/cpu` cut down to CPUs 0..cpus-1 for the stock
 * host. In both, `scaling_setspeed` shows the current frequency instead of `<unsupported>`:
 * the kernel shows it once the governor is `userspace`, and librte_power reads it right after
 * switching the governor (plain files cannot change on a governor write).
 *
 * @returns the two directories.
 */
export async function makeCpuTree(dir: string, cpus: number): Promise<{ hostRoot: string; cpuTree: string }> {
  const hostRoot = join(dir, 'host');
  const cpuTree = join(dir, 'cpu');
  await mkdir(dir, { recursive: true });
  await generateSimulatedHost(hostRoot, { profile: STOCK_PROFILE });
  const cpuDir = join(hostRoot, 'sys/devices/system/cpu');
  for (const policy of await readdir(join(cpuDir, 'cpufreq'))) {
    if (!policy.startsWith('policy')) continue;
    const p = join(cpuDir, 'cpufreq', policy);
    await writeFile(join(p, 'scaling_setspeed'), (await readFile(join(p, 'scaling_cur_freq'), 'utf8')).trim());
  }
  await cp(cpuDir, cpuTree, { recursive: true, verbatimSymlinks: true });
  for (let c = cpus; c < PROFILE_CPUS; c++) {
    await rm(join(cpuTree, `cpu${c}`), { recursive: true, force: true });
    await rm(join(cpuTree, 'cpufreq', `policy${c}`), { recursive: true, force: true });
  }
  const range = cpus === 1 ? '0' : `0-${cpus - 1}`;
  for (const f of ['online', 'possible', 'present']) await writeFile(join(cpuTree, f), `${range}\n`);
  return { hostRoot, cpuTree };
}

/** libvirt Test driver node: the VMs, running, with `channelsPerVm` vCPUs pinned one CPU each. */
export function testDriverXml(
  cpus: number,
  vmNames: readonly string[],
  vcpus: number,
  pin: (vm: number, vcpu: number) => number,
): string {
  const domains = vmNames.map((name, i) => {
    const pins = Array.from({ length: vcpus }, (_, v) => `<vcpupin vcpu='${v}' cpuset='${pin(i, v)}'/>`).join('');
    return `  <domain type='test'><name>${name}</name><memory>1048576</memory><vcpu placement='static'>${vcpus}</vcpu><cputune>${pins}</cputune><os><type>hvm</type></os></domain>`;
  });
  const cpu = `<cpu><mhz>3800</mhz><model>x86_64</model><active>${cpus}</active><nodes>1</nodes><sockets>1</sockets><cores>${cpus}</cores><threads>1</threads></cpu>`;
  return `<node>\n  ${cpu}\n  <memory>8388608</memory>\n${domains.join('\n')}\n</node>\n`;
}

/**
 * Inside the private mount namespace: bind the CPU tree, cover /var/run with a tmpfs (EAL makes
 * its runtime directory there even with --no-shconf), cover /tmp with a tmpfs (the socket
 * directory stays reachable through the working directory, taken before), bind it at
 * /tmp/powermonitor, write the Test driver XML there, then exec the stock host.
 */
const NAMESPACE_SCRIPT = `set -eu
dir=$1 cpu=$2 xml=$3 bin=$4
shift 4
mount --make-rprivate /
mount --bind "$cpu" /sys/devices/system/cpu
mount -t tmpfs -o mode=0755 vpmd-stock-run /var/run
node=$(cat "$xml")
cd "$dir"
mount -t tmpfs -o mode=1777 vpmd-stock-tmp /tmp
mkdir /tmp/powermonitor
mount --no-canonicalize --bind . /tmp/powermonitor
cd /
printf '%s\\n' "$node" > /tmp/vpmd-test-node.xml
export VM_POWER_MGR_LIBVIRT_URI=test:///tmp/vpmd-test-node.xml
exec "$bin" "$@"
`;

/** EAL flags: no hugepages, no PCI scan, no shared config files, lcore i on CPU i. */
function ealArgs(cpus: number): string[] {
  const lcores = Array.from({ length: Math.max(cpus, 3) }, (_, l) => `${l}@${Math.min(l, cpus - 1)}`);
  return ['--lcores', lcores.join(','), '--no-huge', '-m', '64', '--no-pci', '--no-shconf', '--no-telemetry'];
}

/** The CLI of a running `vm_power_mgr`, over its stdin and stdout. */
class Cli {
  private buffer = '';
  private wake: (() => void) | undefined;
  exited = false;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly timeoutMs: number,
  ) {
    const onData = (d: Buffer): void => {
      this.buffer += d.toString();
      this.wake?.();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => {
      this.exited = true;
      this.wake?.();
    });
    child.on('error', (e) => {
      this.buffer += `\ncannot run unshare: ${e.message}`;
      this.exited = true;
      this.wake?.();
    });
  }

  /** Everything printed so far that no command consumed (for error messages). */
  get pending(): string {
    return this.buffer;
  }

  /** Waits for the next prompt and returns the text before it. */
  async untilPrompt(what: string): Promise<string> {
    const end = Date.now() + this.timeoutMs;
    for (;;) {
      const i = this.buffer.indexOf(PROMPT);
      if (i !== -1) {
        const text = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + PROMPT.length);
        return text;
      }
      if (this.exited)
        throw new Error(`DPDK's stock host exited during ${what}; it printed:\n${this.buffer.slice(-4000)}`);
      if (Date.now() > end)
        throw new Error(
          `DPDK's stock host: no prompt within ${this.timeoutMs} ms during ${what}; it printed:\n${this.buffer.slice(-4000)}`,
        );
      await new Promise<void>((res) => {
        this.wake = res;
        setTimeout(res, 50);
      });
    }
  }

  async command(line: string): Promise<string> {
    this.child.stdin.write(`${line}\n`);
    return (await this.untilPrompt(`'${line}'`)).replace(line, '').trim();
  }
}

/**
 * CPU seconds (user + system) from a /proc `stat` file: `/proc/PID/stat` for a process,
 * `/proc/self/task/TID/stat` for one thread.
 */
export async function cpuSecondsOf(statFile: string): Promise<number> {
  const stat = await readFile(statFile, 'utf8');
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/**
 * Starts the stock host in a private mount namespace, adds every VM and its channels, and
 * resolves once each VM's channels are connected (the guests must already be listening).
 *
 * @throws Error when it does not start, or a VM or its channels cannot be added, with its
 *   output; the process is killed then.
 */
export async function startStockHost(options: StockHostOptions): Promise<StockHost> {
  const cpus = (await readdir(options.cpuTree)).filter((e) => /^cpu\d+$/.test(e)).length;
  const xml = join(dirname(options.cpuTree), 'vpmd-test-node.xml');
  await writeFile(xml, testDriverXml(cpus, options.vmNames, options.channelsPerVm, options.pin));
  // Root may unshare the mount namespace directly; others need a user namespace for it.
  const unshare = process.getuid?.() === 0 ? ['-m'] : ['-r', '-m'];
  const args = [
    ...unshare,
    'sh',
    '-c',
    NAMESPACE_SCRIPT,
    'vpmd-stock-ns',
    options.dir,
    options.cpuTree,
    xml,
    options.binary,
    ...ealArgs(cpus),
  ];
  const child = spawn('unshare', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const cli = new Cli(child, options.timeoutMs ?? 30_000);
  const kill = async (): Promise<void> => {
    if (cli.exited) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  const channels: Record<string, number> = {};
  try {
    await cli.untilPrompt('start-up');
    for (const vm of options.vmNames) {
      const added = await cli.command(`add_vm ${vm}`);
      if (/Unable/.test(added)) throw new Error(`stock host: ${added}`);
      const out = await cli.command(`add_channels ${vm} all`);
      const n = new RegExp(`Added (\\d+) channels for VM '${vm}'`).exec(out)?.[1];
      if (n === undefined) throw new Error(`stock host: add_channels ${vm} all printed: ${out}`);
      channels[vm] = Number(n);
    }
  } catch (e) {
    await kill();
    throw e;
  }
  const pid = child.pid ?? -1;
  return {
    pid,
    channels,
    command: (line) => cli.command(line),
    cpuSeconds: () => cpuSecondsOf(`/proc/${pid}/stat`),
    stop: async () => {
      if (cli.exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.stdin.write('quit\n');
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
