import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SETUP_PEERS_SCRIPT } from '../../../testkit/peers/index.js';
import { requireProgram } from '../../../testkit/peers/program-lookup.js';
import { compiledFixture } from '../../support/compiled-fixture.js';
import { isRunning } from './process-state.js';

/** The fixture as plain JavaScript (no tsx start-up in every child). */
let fixture: string;
beforeAll(async () => {
  fixture = await compiledFixture(new URL('./fixtures/peer-child.ts', import.meta.url));
});
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface ChildRun {
  /** The JSON line the child printed. */
  readonly report: { pids?: number[]; dirs?: string[]; errors?: { code: string; message: string }[] };
  /** Resolves with the child's exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly kill: (signal: NodeJS.Signals) => void;
  readonly stderr: () => string;
}

/** Runs the fixture in a separate node process and waits for its JSON line. */
function runChild(mode: string, env: NodeJS.ProcessEnv = process.env): Promise<ChildRun> {
  const child = spawn(process.execPath, [fixture, mode], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise<ChildRun>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined) {
        resolve({
          report: JSON.parse(line) as ChildRun['report'],
          exited,
          kill: (s) => child.kill(s),
          stderr: () => stderr,
        });
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`fixture exited (${String(code ?? signal)}) before reporting:\n${stderr}`)),
    );
  });
}

async function expectAllGone(pids: readonly number[], dirs: readonly string[]): Promise<void> {
  await expect.poll(() => pids.filter(isRunning), { timeout: 20_000, interval: 50 }).toEqual([]);
  // Temp directories go with a clean exit or a handled signal; after SIGKILL nothing can run.
  for (const dir of dirs) expect(existsSync(dir)).toBe(false);
}

describe('peers outlive no test process', () => {
  it('an uncaught error in the test process ends its peers and removes their temp directories', async () => {
    const run = await runChild('crash');
    const { pids = [], dirs = [] } = run.report;
    expect(pids.length).toBe(3); // dbus-daemon, the logind mock, one ipmi_sim
    expect((await run.exited).code).not.toBe(0);
    expect(run.stderr()).toContain('deliberate crash');
    await expectAllGone(pids, dirs);
  });

  it('SIGTERM to the test process ends its peers and removes their temp directories', async () => {
    const run = await runChild('hang');
    const { pids = [], dirs = [] } = run.report;
    expect(pids.every(isRunning)).toBe(true);
    run.kill('SIGTERM');
    expect((await run.exited).signal).toBe('SIGTERM');
    await expectAllGone(pids, dirs);
  });

  it('SIGKILL to the test process still ends its peers (parent-death signal)', async () => {
    const run = await runChild('hang');
    const { pids = [], dirs = [] } = run.report;
    run.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    await expect.poll(() => pids.filter(isRunning), { timeout: 20_000, interval: 50 }).toEqual([]);
    // Nothing ran in the killed process to remove its temp directories: do it here.
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });
});

describe('a missing peer program', () => {
  it('fails with the package name and the setup script, not a bare ENOENT', async () => {
    await expect(requireProgram('ipmi_sim', 'vpmd-no-such-program', 'openipmi')).rejects.toMatchObject({
      code: 'E_PEER_MISSING',
      message: expect.stringContaining(`run ${SETUP_PEERS_SCRIPT}`),
      details: { package: 'openipmi', setup: SETUP_PEERS_SCRIPT },
    });
  });

  it('makes startIpmiSim and startPrivateBus fail with that message when PATH lacks the programs', async () => {
    const run = await runChild('absent', { ...process.env, PATH: '/nonexistent' });
    expect(run.report.errors).toEqual([
      {
        code: 'E_PEER_MISSING',
        message: expect.stringMatching(
          /ipmi_sim is not installed \(Debian package openipmi\); run scripts\/setup-peers\.sh/,
        ),
      },
      {
        code: 'E_PEER_MISSING',
        message: expect.stringMatching(
          /dbus-daemon is not installed \(Debian package dbus\); run scripts\/setup-peers\.sh/,
        ),
      },
    ]);
  });
});
