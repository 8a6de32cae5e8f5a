/**
 * Crash safety: a child process writes successive ~300 KB generations of one key as fast as it
 * can and is SIGKILLed at random moments. After every kill a fresh store must read exactly the
 * last generation the child reported as written, or the one it was writing: never a parse
 * error, never a mix.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from '../../../core/state/index.js';
import { GENERATION_KEY, generationSpec, makeGeneration } from './fixtures/generation.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const ROUNDS = 20;
/** Upper bound of the random delay between the child's `ready` and the kill. */
const MAX_KILL_DELAY_MS = 150;

interface RoundResult {
  /** The last generation the child printed (it was committed), or undefined if none. */
  readonly lastCommitted: number | undefined;
}

/** Starts the writer, kills it `delayMs` after it is ready, and reports what it committed. */
function runAndKill(dir: string, delayMs: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => child.kill('SIGKILL'), 10_000); // the child never got ready
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (killTimer === undefined && stdout.includes('ready\n')) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(giveUp);
      clearTimeout(killTimer);
      if (signal !== 'SIGKILL' || killTimer === undefined) {
        reject(new Error(`writer ended without being killed at a random moment (signal ${signal}): ${stderr}`));
        return;
      }
      const numbers = stdout
        .split('\n')
        .filter((line) => /^\d+$/.test(line))
        .map(Number);
      resolve({ lastCommitted: numbers.at(-1) });
    });
  });
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-state-crash-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StateStore crash safety', () => {
  it(`reads the old or the new generation after each of ${ROUNDS} SIGKILLs`, { timeout: 60_000 }, async () => {
    let previous: number | undefined; // generation on disk before the round
    let totalCommitted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const delayMs = Math.floor(Math.random() * MAX_KILL_DELAY_MS);
      const { lastCommitted } = await runAndKill(dir, delayMs);
      const committed = lastCommitted ?? previous;
      if (lastCommitted !== undefined) totalCommitted += lastCommitted - (previous ?? -1);

      const value = await new StateStore(dir).read(GENERATION_KEY, generationSpec);

      // The file holds the last committed generation or the one in flight when the kill hit.
      const candidates = committed === undefined ? [undefined, 0] : [committed, committed + 1];
      expect(candidates, `round ${round}, killed ${delayMs} ms after ready`).toContain(value?.generation);
      if (value !== undefined) expect(value).toEqual(makeGeneration(value.generation));
      previous = value?.generation;
    }
    // The kills must have landed among real writes for the test to mean anything.
    expect(totalCommitted).toBeGreaterThan(ROUNDS);
    // Each start cleans the temp file the previous kill may have left: at most one remains.
    const temps = (await readdir(dir)).filter((name) => name.endsWith('.tmp'));
    expect(temps.length).toBeLessThanOrEqual(1);
  });
});
