/**
 * Simulated BMCs: OpenIPMI's ipmi_sim serving IPMI 2.0 / RMCP+ on loopback UDP ports, each
 * port its own controller with its own sensors, SEL and chassis power state. One process serves
 * up to {@link MAX_BMCS_PER_PROCESS} BMCs; more BMCs start more processes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freeTcpPorts, freeUdpPorts } from './free-ports.js';
import {
  CHASSIS_SCRIPT,
  DEFAULT_SIM_USERS,
  checkConfigPath,
  checkUsers,
  ipmbOf,
  renderEmu,
  renderLanConf,
  type SimBmcLayout,
  type SimUser,
} from './ipmi-sim-files.js';
import { awaitPresence, consoleCommand, runIpmitool } from './ipmi-sim-net.js';
import { holdsUdpPorts, udpBindCounts } from './udp-sockets.js';
import {
  DEFAULT_SIM_SEL,
  DEFAULT_SIM_SENSORS,
  checkSel,
  checkSensors,
  hex,
  renderSdrSource,
  type SimSelEntry,
  type SimSensorSpec,
} from './ipmi-sim-sensors.js';
import { describe, peerFailedError, peerOptionsError } from './peer-errors.js';
import { PeerProcess } from './peer-process.js';
import { createWorkDir, removeWorkDir } from './peer-workdir.js';
import { requireProgram } from './program-lookup.js';
import { pollUntil } from './wait.js';

const PEER = 'ipmi_sim';

/** BMCs per ipmi_sim process (IPMB addresses 0x20..0xe6). */
export const MAX_BMCS_PER_PROCESS = 100;
/** Upper bound on BMCs per peer, to catch runaway loops in tests. */
export const MAX_SIM_BMCS = 2_000;

/** Options for {@link startIpmiSim}. */
export interface IpmiSimOptions {
  /** Number of BMCs; default 1. */
  readonly bmcs?: number;
  /** BMC i listens on UDP basePort+i (>= 1024); default: free ports chosen by the kernel. */
  readonly basePort?: number;
  /** Accounts on every BMC; default {@link DEFAULT_SIM_USERS}. Targets log in as the first admin. */
  readonly users?: readonly SimUser[];
  /** Sensors of every BMC; default {@link DEFAULT_SIM_SENSORS}. */
  readonly sensors?: readonly SimSensorSpec[];
  /** SEL at start: true (default) = {@link DEFAULT_SIM_SEL}, false = empty, or explicit entries. */
  readonly sel?: boolean | readonly SimSelEntry[];
  /** Chassis power of every BMC at start; default 1 (on). */
  readonly power?: 0 | 1;
  /** Bound for all BMCs to answer; default 20 s. */
  readonly startTimeoutMs?: number;
}

/** One simulated BMC, as an IPMI client needs it. */
export interface IpmiSimTarget {
  /** "bmc0", "bmc1", ... */
  readonly name: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** The controller's IPMB address inside its process (0x20, 0x22, ...). */
  readonly ipmb: number;
}

/** Running simulated BMCs. Indexes are positions in `targets`. */
export interface IpmiSimPeer {
  readonly targets: readonly IpmiSimTarget[];
  /** Pids (and process groups) of the ipmi_sim processes. */
  readonly pids: readonly number[];
  /** The temp directory holding configuration, state and power files; removed by stop(). */
  readonly dir: string;
  /** Chassis power of BMC `index` as the chassis-control program last stored it. */
  powerState(index: number): Promise<0 | 1>;
  /** Changes the chassis power behind the BMC's back (the host turned itself off, say). */
  setPowerState(index: number, state: 0 | 1): Promise<void>;
  /** Chassis-control requests BMC `index` received, oldest first ("power 1", "reset 1", ...). */
  chassisLog(index: number): Promise<string[]>;
  /** Sets the raw reading of sensor `sensorNumber` on BMC `index` through ipmi_sim's console. */
  setSensor(index: number, sensorNumber: number, raw: number): Promise<void>;
  /** Stops every ipmi_sim process and removes `dir`. */
  stop(): Promise<void>;
}

interface SimProcess {
  readonly proc: PeerProcess;
  readonly consolePort: number;
  readonly bmcs: readonly SimBmcLayout[];
}

function checkOptions(opts: IpmiSimOptions, bmcs: number): void {
  if (!Number.isInteger(bmcs) || bmcs < 1 || bmcs > MAX_SIM_BMCS)
    throw peerOptionsError(PEER, 'bmcs', bmcs, `an integer from 1 to ${MAX_SIM_BMCS}`);
  const base = opts.basePort;
  if (base !== undefined && (!Number.isInteger(base) || base < 1024 || base + bmcs - 1 > 65535)) {
    throw peerOptionsError(PEER, 'basePort', base, `an integer from 1024 to ${65536 - bmcs} (no privileged ports)`);
  }
  if (opts.power !== undefined && opts.power !== 0 && opts.power !== 1)
    throw peerOptionsError(PEER, 'power', opts.power, '0 or 1');
}

function compileSdr(sdrcomp: string, source: string, output: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile(sdrcomp, ['-o', output, source], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err === null) resolve();
      else
        reject(
          peerFailedError(
            'sdrcomp',
            `cannot compile ${source}: ${describe(err)}`,
            { source },
            `${stderr}${stdout}`,
            err,
          ),
        );
    });
  });
}

/**
 * Writes the configuration of every process, compiles the SDRs, starts ipmi_sim, and waits
 * until every port answers an RMCP presence ping and the first and last BMC of each process
 * answer `ipmitool mc info` with the target's credentials.
 * @throws VpmdError: a program missing (names scripts/setup-peers.sh), invalid options, a
 *   process that exited (with its output), or BMCs not ready in time
 */
export async function startIpmiSim(opts: IpmiSimOptions = {}): Promise<IpmiSimPeer> {
  // Free ports are probed, then bound by ipmi_sim: another process can take one in between.
  // With ports of our choosing that is a race to retry on other ports, not a failure.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startIpmiSimOnce(opts);
    } catch (e) {
      const raced = e instanceof Error && /Address already in use/.test(e.message);
      if (!raced || opts.basePort !== undefined || attempt >= PORT_RACE_ATTEMPTS) throw e;
    }
  }
}

/**
 * ipmi_sim binds its LAN port with SO_REUSEADDR, so a second ipmi_sim (another test worker that
 * probed the same free port) binds it too without an error, and each then answers the other's
 * requests. Counting the sockets bound to each port after start turns that silent share into
 * the same "Address already in use" race the caller retries on other ports.
 */
async function refuseSharedPorts(ports: readonly number[]): Promise<void> {
  const counts = await udpBindCounts(ports);
  const shared = ports.filter((port) => (counts.get(port) ?? 0) > 1);
  if (shared.length > 0)
    throw peerFailedError(PEER, `Address already in use: UDP ${shared.join(', ')} also bound by another process`);
}

/** Starts with ports picked free at most this many times before a port race is reported. */
const PORT_RACE_ATTEMPTS = 5;

async function startIpmiSimOnce(opts: IpmiSimOptions): Promise<IpmiSimPeer> {
  const count = opts.bmcs ?? 1;
  checkOptions(opts, count);
  const users = opts.users ?? DEFAULT_SIM_USERS;
  const sensors = opts.sensors ?? DEFAULT_SIM_SENSORS;
  const sel = opts.sel === false ? [] : opts.sel === true || opts.sel === undefined ? DEFAULT_SIM_SEL : opts.sel;
  checkUsers(users);
  checkSensors(sensors);
  checkSel(sel);
  const login = users.find((u) => u.privilege === 'admin') ?? users[0];
  if (login === undefined) throw peerOptionsError(PEER, 'users', users, 'at least one account');
  const ipmiSim = await requireProgram(PEER, 'ipmi_sim', 'openipmi');
  const sdrcomp = await requireProgram(PEER, 'sdrcomp', 'openipmi');
  await requireProgram(PEER, 'ipmitool', 'ipmitool'); // the readiness check logs in with it

  const dir = await createWorkDir(PEER);
  const processes: SimProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.proc.stop()));
    await removeWorkDir(dir);
  };
  try {
    checkConfigPath(dir);
    const ports =
      opts.basePort === undefined
        ? await freeUdpPorts(count)
        : Array.from({ length: count }, (_, i) => (opts.basePort ?? 0) + i);
    const processCount = Math.ceil(count / MAX_BMCS_PER_PROCESS);
    const consolePorts = await freeTcpPorts(processCount);
    const layouts = await writeConfiguration(dir, {
      count,
      ports,
      consolePorts,
      users,
      sensors,
      sel,
      power: opts.power ?? 1,
      sdrcomp,
    });
    for (const [p, bmcs] of layouts.entries()) {
      const procDir = join(dir, `sim${p}`);
      const proc = await PeerProcess.spawn({
        peer: PEER,
        program: ipmiSim,
        args: ['-n', '-c', join(procDir, 'lan.conf'), '-f', join(procDir, 'bmc.emu'), '-s', join(procDir, 'state')],
        cwd: procDir,
      });
      processes.push({ proc, consolePort: consolePorts[p] ?? 0, bmcs });
    }
    const targets: IpmiSimTarget[] = layouts.flat().map((b) => ({
      name: `bmc${b.index}`,
      host: '127.0.0.1',
      port: b.port,
      username: login.name,
      password: login.password,
      ipmb: b.ipmb,
    }));
    await Promise.all(processes.map((p) => awaitReady(p, targets, opts.startTimeoutMs ?? 20_000)));
    await refuseSharedPorts(ports);
    return makePeer(dir, processes, targets, stopAll);
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** What {@link writeConfiguration} writes. */
interface SimPlan {
  readonly count: number;
  readonly ports: readonly number[];
  readonly consolePorts: readonly number[];
  readonly users: readonly SimUser[];
  readonly sensors: readonly SimSensorSpec[];
  readonly sel: readonly SimSelEntry[];
  readonly power: 0 | 1;
  readonly sdrcomp: string;
}

/**
 * Writes the chassis script, the power files and, per process `simP`, lan.conf, bmc.emu and the
 * compiled SDRs of each controller. Returns the BMCs of each process.
 */
async function writeConfiguration(dir: string, plan: SimPlan): Promise<SimBmcLayout[][]> {
  const chassisScript = join(dir, 'chassis-control.sh');
  await writeFile(chassisScript, CHASSIS_SCRIPT);
  await chmod(chassisScript, 0o755);
  await mkdir(join(dir, 'power'));
  // Every BMC has the same SDRs (owner 0x20, see BMC_ADDRESS): compile once, copy per BMC.
  // They go into the persisted repository because sensors must find their SDRs when added.
  const sdrSource = join(dir, 'sdr.txt');
  const sdrCompiled = join(dir, 'sdr.main');
  await writeFile(sdrSource, renderSdrSource(plan.sensors));
  await compileSdr(plan.sdrcomp, sdrSource, sdrCompiled);
  const guidPrefix = randomBytes(8).toString('hex');
  const layouts: SimBmcLayout[][] = [];
  for (let p = 0; p * MAX_BMCS_PER_PROCESS < plan.count; p++) {
    const name = `sim${p}`;
    const stateDir = join(dir, name, 'state', 'ipmi_sim', name);
    await mkdir(stateDir, { recursive: true });
    const bmcs: SimBmcLayout[] = [];
    for (let n = 0; n < MAX_BMCS_PER_PROCESS && p * MAX_BMCS_PER_PROCESS + n < plan.count; n++) {
      const index = p * MAX_BMCS_PER_PROCESS + n;
      const bmc: SimBmcLayout = {
        index,
        ipmb: ipmbOf(n),
        port: plan.ports[index] ?? 0,
        powerFile: join(dir, 'power', `bmc${index}`),
      };
      bmcs.push(bmc);
      await writeFile(bmc.powerFile, `${plan.power}\n`);
      await copyFile(sdrCompiled, join(stateDir, `sdr.${bmc.ipmb.toString(16).padStart(2, '0')}.main`));
    }
    layouts.push(bmcs);
    await writeFile(
      join(dir, name, 'lan.conf'),
      renderLanConf(name, bmcs, plan.users, chassisScript, plan.consolePorts[p] ?? 0, guidPrefix),
    );
    await writeFile(join(dir, name, 'bmc.emu'), renderEmu(bmcs, plan.sensors, plan.sel));
  }
  return layouts;
}

async function awaitReady(p: SimProcess, targets: readonly IpmiSimTarget[], timeoutMs: number): Promise<void> {
  const started = Date.now();
  const check = (): void => p.proc.assertRunning('starting');
  const output = (): string => p.proc.output();
  // Another process on the same port (see refuseSharedPorts) would answer the checks below for
  // this one: first wait until this process has bound its own ports.
  const ports = p.bmcs.map((b) => b.port);
  await pollUntil({
    peer: PEER,
    what: `ipmi_sim (pid ${p.proc.pid}) binding UDP ${ports.join(', ')}`,
    timeoutMs,
    intervalMs: 50,
    check,
    output,
    probe: async () => ((await holdsUdpPorts(p.proc.pid, ports)) ? true : undefined),
  });
  await awaitPresence(ports, timeoutMs, check, output);
  const ends = [p.bmcs[0], p.bmcs[p.bmcs.length - 1]].filter(
    (b, i, all): b is SimBmcLayout => b !== undefined && all.indexOf(b) === i,
  );
  for (const bmc of ends) {
    const target = targets[bmc.index];
    if (target === undefined) continue;
    await pollUntil({
      peer: PEER,
      what: `ipmitool mc info on UDP ${bmc.port}`,
      timeoutMs: Math.max(1_000, timeoutMs - (Date.now() - started)),
      intervalMs: 100,
      check,
      output,
      probe: async () => (await runIpmitool(target, ['mc', 'info'], 5_000)).stdout,
    });
  }
}

function makePeer(
  dir: string,
  processes: readonly SimProcess[],
  targets: readonly IpmiSimTarget[],
  stopAll: () => Promise<void>,
): IpmiSimPeer {
  const bmcAt = (index: number): { bmc: SimBmcLayout; process: SimProcess } => {
    for (const process of processes) {
      const bmc = process.bmcs.find((b) => b.index === index);
      if (bmc !== undefined) return { bmc, process };
    }
    throw peerOptionsError(PEER, 'index', index, `a BMC index from 0 to ${targets.length - 1}`);
  };
  let stopping: Promise<void> | undefined;
  return {
    targets,
    pids: processes.map((p) => p.proc.pid),
    dir,
    powerState: async (index) => {
      const text = await readFile(bmcAt(index).bmc.powerFile, 'utf8');
      return text.trim() === '1' ? 1 : 0;
    },
    setPowerState: async (index, state) => {
      if (state !== 0 && state !== 1) throw peerOptionsError(PEER, 'state', state, '0 or 1');
      await writeFile(bmcAt(index).bmc.powerFile, `${state}\n`);
    },
    chassisLog: async (index) => {
      try {
        const text = await readFile(`${bmcAt(index).bmc.powerFile}.log`, 'utf8');
        return text.split('\n').filter((line) => line !== '');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    },
    setSensor: async (index, sensorNumber, raw) => {
      const { bmc, process } = bmcAt(index);
      if (!Number.isInteger(raw) || raw < 0 || raw > 255)
        throw peerOptionsError(PEER, 'raw', raw, 'an integer from 0 to 255');
      if (!Number.isInteger(sensorNumber) || sensorNumber < 1 || sensorNumber > 254)
        throw peerOptionsError(PEER, 'sensorNumber', sensorNumber, 'an integer from 1 to 254');
      await consoleCommand(process.consolePort, `sensor_set_value ${hex(bmc.ipmb)} 0 ${sensorNumber} ${raw} 0`);
    },
    stop: () => {
      stopping ??= stopAll();
      return stopping;
    },
  };
}
