/** Helpers for the SNMP plugin tests: free UDP ports and the net-snmp command-line tools. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { bootAgent, pollUntil } from 'vpmd/testkit';
import snmp from '../../../plugins/snmp/index.js';

/** A private persistent directory for the tools (they write engine boots and caches there). */
const PERSIST = mkdtempSync(join(tmpdir(), 'vpmd-snmp-tools-'));
mkdirSync(join(PERSIST, 'cert_indexes'));

/** The directory holding VPMD-MIB.txt. */
export const MIB_DIR = fileURLToPath(new URL('../../../plugins/snmp/mib/mibs', import.meta.url));

/** Arguments that load the shipped VPMD-MIB (and the IETF MIBs it imports) into a net-snmp tool. */
export const LOAD_VPMD_MIB: readonly string[] = ['-M', `+${MIB_DIR}:${MIB_DIR}/ietf`, '-m', 'VPMD-MIB'];

/** A request's arguments (from {@link v3}) that print names from the shipped VPMD-MIB, not numeric OIDs. */
export function withVpmdMib(requestArgs: readonly string[]): string[] {
  return [...requestArgs.filter((a) => a !== '-On'), ...LOAD_VPMD_MIB];
}

/** A free UDP port on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Result of a tool run. */
export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a net-snmp tool (no config files read from the user's home, no MIBs unless asked). */
export function tool(cmd: string, args: readonly string[], env: Record<string, string> = {}): Promise<ToolResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      cmd,
      [...args],
      {
        timeout: 20_000,
        env: {
          PATH: process.env.PATH ?? '',
          MIBS: '',
          SNMPCONFPATH: '/nonexistent',
          HOME: '/nonexistent',
          SNMP_PERSISTENT_DIR: PERSIST,
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - t0 });
      },
    );
  });
}

/** Arguments of an authPriv SHA-256/AES request for `user`. */
export function v3(
  user: string,
  authPass: string,
  privPass: string,
  opts: { auth?: string; priv?: string; level?: string } = {},
): string[] {
  return [
    '-v3',
    '-l',
    opts.level ?? 'authPriv',
    '-u',
    user,
    '-a',
    opts.auth ?? 'SHA-256',
    '-A',
    authPass,
    '-x',
    opts.priv ?? 'AES',
    '-X',
    privPass,
    '-t',
    '3',
    '-r',
    '0',
    '-On',
  ];
}

/** Arguments of a noAuthNoPriv request as `user`: the user name only, no keys. */
export function v3NoAuth(user: string): string[] {
  return ['-v3', '-l', 'noAuthNoPriv', '-u', user];
}

/** Arguments of an authNoPriv request as `user` (SHA-256, not encrypted); the caller adds timeouts. */
export function v3AuthOnly(user: string, authPass: string): string[] {
  return ['-v3', '-l', 'authNoPriv', '-u', user, '-a', 'SHA-256', '-A', authPass];
}

/** A UDP relay between a tool and the agent that records what the tool sent (for replays). */
export class Relay {
  readonly sent: Buffer[] = [];
  private readonly sock = createSocket('udp4');
  private client: { address: string; port: number } | undefined;
  port = 0;

  constructor(private readonly agentPort: number) {}

  /** Binds the relay. */
  async start(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    this.port = this.sock.address().port;
    this.sock.on('message', (buf, rinfo) => {
      if (rinfo.port === this.agentPort) {
        if (this.client) this.sock.send(buf, this.client.port, this.client.address);
        return;
      }
      this.client = { address: rinfo.address, port: rinfo.port };
      this.sent.push(Buffer.from(buf));
      this.sock.send(buf, this.agentPort, '127.0.0.1');
    });
  }

  /** Closes the relay. */
  close(): void {
    this.sock.close();
  }
}

/** Sends one datagram to the agent and returns the first reply, or null after `ms`. */
export async function exchange(port: number, buf: Buffer, ms = 1000): Promise<Buffer | null> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      s.once('message', (b) => {
        clearTimeout(timer);
        resolve(b);
      });
      s.send(buf, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

/** One line of `snmpwalk -On` output. */
export interface WalkRow {
  readonly type: string;
  readonly value: string;
}

/** Parses `snmpwalk -On -Oe -Ot`-style output into OID → typed value (quotes stripped). */
export function parseWalk(stdout: string): Map<string, WalkRow> {
  const out = new Map<string, WalkRow>();
  for (const line of stdout.split('\n')) {
    const m = /^\.?([\d.]+) = (?:([A-Za-z0-9-]+): )?(.*)$/.exec(line);
    if (!m) continue;
    out.set(m[1] as string, { type: m[2] ?? '', value: (m[3] ?? '').replace(/^"(.*)"$/, '$1') });
  }
  return out;
}

/** Rows of `walk` under `prefix` whose OID is `prefix.col.index`, as index → value, for one column. */
export function column(walk: Map<string, WalkRow>, prefix: string, col: number): Map<string, WalkRow> {
  const out = new Map<string, WalkRow>();
  const p = `${prefix}.${col}.`;
  for (const [oid, row] of walk) if (oid.startsWith(p)) out.set(oid.slice(p.length), row);
  return out;
}

/**
 * Starts a private snmpd (net-snmp's agent, in the foreground) in `dir`: `config` is its
 * snmpd.conf, its persistent files go to `dir/persist`, no MIBs are loaded, and it logs to
 * `dir/snmpd.log`. Resolves once `ready()` says a request was answered (20 s at most); stops it
 * again when it never is.
 */
export async function startSnmpd(
  dir: string,
  config: readonly string[],
  ready: () => Promise<boolean>,
): Promise<ChildProcess> {
  await mkdir(join(dir, 'persist'));
  await writeFile(join(dir, 'snmpd.conf'), [...config, ''].join('\n'));
  const log = join(dir, 'snmpd.log');
  const snmpd = spawn('snmpd', ['-f', '-Lf', log, '-C', '-c', join(dir, 'snmpd.conf'), '-p', join(dir, 'pid')], {
    env: { PATH: process.env.PATH ?? '', MIBS: '', SNMP_PERSISTENT_DIR: join(dir, 'persist'), HOME: dir },
    stdio: 'ignore',
  });
  try {
    await pollUntil({
      peer: 'snmpd',
      what: 'snmpd answering',
      timeoutMs: 20_000,
      intervalMs: 100,
      probe: async () => ((await ready()) ? true : undefined),
      check: () => {
        if (snmpd.exitCode !== null) throw new Error(`snmpd exited with ${snmpd.exitCode}: ${readLog(log)}`);
      },
      output: () => readLog(log),
    });
  } catch (e) {
    await stopPeer(snmpd);
    throw e;
  }
  return snmpd;
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Stops a peer we started and waits for it to exit (it writes its persistent files on the way out). */
export async function stopPeer(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
}

/**
 * Boots an agent with only the SNMP plugin and `section`, expects the plugin to fail to start,
 * and returns its error as `CODE: message`.
 */
export async function startError(section: Record<string, unknown>): Promise<string> {
  const agent = await bootAgent({ plugins: [snmp], sections: { snmp: { port: await freeUdpPort(), ...section } } });
  try {
    const s = (await agent.status()).find((p) => p.name === 'snmp');
    expect(s?.state).toBe('failed');
    return `${s?.error?.code ?? ''}: ${s?.error?.message ?? ''}`;
  } finally {
    await agent.stop();
  }
}
