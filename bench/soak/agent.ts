/**
 * The agent under soak: `vpmd --demo` once to generate a host, a configuration with every plugin
 * and the accounts (its printed credentials are read), then `vpmd --config` on that configuration
 * in a process of its own, so that its RSS is the agent's alone (no in-process demo VMs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VPMD = fileURLToPath(new URL('../../dist/app/vpmd.js', import.meta.url));

/** What the demo printed that the load needs. */
export interface DemoCredentials {
  readonly dir: string;
  readonly socket: string;
  readonly redfish: { port: number; username: string; password: string };
  readonly snmp: { port: number; user: string; auth: string; priv: string };
  readonly prometheus: { url: string; ca: string };
}

const need = (text: string, re: RegExp, what: string): RegExpExecArray => {
  const m = re.exec(text);
  if (m === null) throw new Error(`vpmd --demo printed no ${what}; its output:\n${text}`);
  return m;
};

/** Runs `vpmd --demo --dir DIR` until it is ready, reads its credentials, stops it. */
export async function prepareDemo(dir: string): Promise<DemoCredentials> {
  const child = spawn(process.execPath, [VPMD, '--demo', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.resume();
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (out.includes('Ctrl-C stops the agent')) resolve();
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`vpmd --demo exited (${code}) before it was ready:\n${out}`)));
  });
  await stop(child);
  const rf = need(out, /Redfish: https:\/\/127\.0\.0\.1:(\d+)\//, 'Redfish URL');
  const account = need(out, /account (\S+) \/ (\S+) \(Administrator\)/, 'Redfish account');
  const snmp = need(out, /SNMPv3 agent on udp 127\.0\.0\.1:(\d+), user '([^']+)'/, 'SNMP agent');
  const keys = need(out, /-A '([^']+)' -x AES -X '([^']+)'/, 'SNMP passphrases');
  const prom = need(out, /Prometheus metrics: (https:\/\/\S+)/, 'Prometheus URL');
  const ca = need(out, /--cacert (\S+)/, 'Prometheus certificate');
  return {
    dir,
    socket: join(dir, 'control.sock'),
    redfish: { port: Number(rf[1]), username: account[1] ?? '', password: account[2] ?? '' },
    snmp: { port: Number(snmp[1]), user: snmp[2] ?? '', auth: keys[1] ?? '', priv: keys[2] ?? '' },
    prometheus: { url: prom[1] ?? '', ca: await readFile(ca[1] ?? '', 'utf8') },
  };
}

/** SIGTERM, then waits for the exit. */
export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** RSS of a process in MiB, from /proc (NaN once it is gone). */
export async function rssMiB(pid: number | undefined): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return NaN;
  }
}

/**
 * RSS of a process in MiB and its two parts: anonymous (heap, malloc, stacks: what the process
 * allocated) and file-backed (the mapped node binary and libraries, faulted in as code runs,
 * shared with other processes and reclaimable). NaN once the process is gone.
 */
export async function rssPartsMiB(pid: number | undefined): Promise<{ rss: number; anon: number; file: number }> {
  const field = (status: string, name: string): number =>
    Math.round((Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]) / 1024) * 10) / 10;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return { rss: field(status, 'VmRSS'), anon: field(status, 'RssAnon'), file: field(status, 'RssFile') };
  } catch {
    return { rss: NaN, anon: NaN, file: NaN };
  }
}

/** One control-socket command on a fresh connection; resolves with the reply's type. */
export function controlRun(socket: string, argv: readonly string[]): Promise<'result' | 'error'> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    s.setTimeout(30_000, () => s.destroy(new Error(`control socket: no reply to ${argv.join(' ')} in 30 s`)));
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const reply = JSON.parse(line) as { type: string };
        if (reply.type === 'result' || reply.type === 'error') {
          s.end();
          resolve(reply.type);
          return;
        }
      }
    });
    s.on('connect', () => s.write(`${JSON.stringify({ id: 1, type: 'run', argv })}\n`));
  });
}

/** A running agent: its process and when every plugin was running. */
export interface SoakAgent {
  readonly child: ChildProcess;
  /** From spawn until `status` showed every plugin running. */
  readonly allRunningMs: number;
  readonly plugins: number;
  stderrTail(): string;
}

/** Starts `vpmd --config DIR/vpmd.yaml` with `nodeFlags` and `env`; waits until every plugin is running. */
export async function startAgent(
  creds: DemoCredentials,
  nodeFlags: readonly string[],
  env: Record<string, string>,
): Promise<SoakAgent> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, VPMD, '--config', join(creds.dir, 'vpmd.yaml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let tail = '';
  child.stderr.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
  const stderrTail = (): string => tail;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vpmd exited (${child.exitCode}) while starting:\n${tail}`);
    const rows = await statusRows(creds.socket).catch(() => undefined);
    if (rows !== undefined && rows.length > 0 && rows.every((r) => r.state === 'running'))
      return { child, allRunningMs: Math.round(performance.now() - t0), plugins: rows.length, stderrTail };
    if (performance.now() - t0 > 60_000) throw new Error(`plugins not all running after 60 s:\n${tail}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `status` plugin rows over the control socket. */
function statusRows(socket: string): Promise<Array<{ name: string; state: string }>> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    s.on('error', reject);
    s.on('data', (d: Buffer) => (buf += d.toString()));
    s.on('end', () => {
      try {
        const reply = JSON.parse(buf.split('\n')[0] ?? '') as {
          type: string;
          result?: { plugins?: Array<{ name: string; state: string }> };
        };
        resolve(reply.result?.plugins ?? []);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    s.on('connect', () => s.end(`${JSON.stringify({ id: 1, type: 'run', argv: ['status'] })}\n`));
  });
}

/** Where `controlRun` and the load find the program. */
export const VPMD_PROGRAM = VPMD;

/**
 * How vpmd's interpreter line (`#!/usr/bin/env -S [NAME=VALUE...] node FLAGS`) runs Node: the
 * environment and flags a user running `vpmd` gets, for the agent and its baselines alike.
 * `override` (a benchmark's `--node-flags`) replaces both: those flags and no environment.
 */
export function vpmdInvocation(override?: string): { env: Record<string, string>; flags: string[] } {
  const split = (s: string): string[] => s.split(/\s+/).filter((w) => w !== '');
  if (override !== undefined) return { env: {}, flags: split(override) };
  const line = existsSync(VPMD_PROGRAM) ? (readFileSync(VPMD_PROGRAM, 'utf8').split('\n')[0] ?? '') : '';
  const words = split(line.replace(/^#!\S*env\s+(-S\s+)?/, ''));
  const nodeAt = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  const env = Object.fromEntries(
    words.slice(0, Math.max(0, nodeAt)).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
  );
  return { env, flags: words.slice(nodeAt + 1) };
}
