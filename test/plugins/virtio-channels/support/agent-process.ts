/**
 * vpmd as its own process, started the way an installed `vpmd` starts: the kernel runs the
 * interpreter line of dist/app/vpmd.js (`#!/usr/bin/env -S VAR=value node --flag`), so the
 * agent has the memory and garbage-collector settings users get, and shares no heap or event
 * loop with the test runner. For tests whose assertion is a peer's wall-clock deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ControlClient, type RunReply } from '../../../../core/control/control-client.js';
import { generateSimulatedHost, pollUntil, testAgentConfig, testAgentFiles } from '../../../../testkit/index.js';
import { VPMD } from '../../../support/built-cli.js';

/** A running agent process on a simulated host. */
export interface AgentProcess {
  readonly hostRoot: string;
  /** The agent's process id (its event loop's thread id too). */
  readonly pid: number;
  run(argv: readonly string[]): Promise<RunReply>;
  stop(): Promise<void>;
}

/** The words the kernel passes to the interpreter of `file`: `/usr/bin/env` and its argument. */
async function interpreterOf(file: string): Promise<[string, string[]]> {
  const first = (await readFile(file, 'utf8')).split('\n', 1)[0] ?? '';
  const m = /^#!(\S+)(?:\s+(.*))?$/.exec(first);
  if (!m?.[1]) throw new Error(`${file} has no interpreter line`);
  // Linux passes everything after the interpreter as one argument (env -S splits it).
  return [m[1], m[2] ? [m[2]] : []];
}

/** Starts `vpmd --config` with `plugins` (config sections by plugin name); waits for every plugin. */
export async function startAgentProcess(plugins: Record<string, Record<string, unknown>>): Promise<AgentProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'vpmd-process-'));
  const { hostRoot, socket, configFile } = testAgentFiles(dir);
  await generateSimulatedHost(hostRoot, { profile: 'intel-acpi-cpufreq-8' });
  const config = testAgentConfig(dir, plugins, { log: { level: 'error' } });
  await writeFile(configFile, stringify(config), { mode: 0o600 });
  const [interpreter, args] = await interpreterOf(VPMD);
  const child: ChildProcess = spawn(interpreter, [...args, VPMD, '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const run = async (argv: readonly string[]): Promise<RunReply> => {
    const c = await ControlClient.connect(socket);
    try {
      return await c.run(argv, {});
    } finally {
      c.close();
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await pollUntil({
      peer: 'vpmd',
      what: `every plugin running (${Object.keys(plugins).join(', ')})`,
      timeoutMs: 60_000,
      intervalMs: 100,
      output: () => stderr,
      check: () => {
        if (child.exitCode !== null) throw new Error(`vpmd exited with ${child.exitCode}: ${stderr}`);
      },
      probe: async () => {
        const r = await run(['status']).catch(() => undefined);
        if (r?.type !== 'result') return undefined;
        const list = (r.result as { plugins?: Array<{ name: string; state: string }> }).plugins ?? [];
        return Object.keys(plugins).every((n) => list.some((p) => p.name === n && p.state === 'running'))
          ? true
          : undefined;
      },
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { hostRoot, pid: child.pid ?? 0, run, stop };
}
