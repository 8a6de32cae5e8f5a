/**
 * Crash safety: a child process writes successive ~300 KB generations of one key as fast as it
 * can and is SIGKILLed at random moments (after a random number of its writes, plus a random
 * few milliseconds). After every kill a fresh store must read exactly the
 * last generation the child reported as written, or the one it was writing: never a parse
 * error, never a mix.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from '../../../core/state/index.js';
import { compiledFixture } from '../../support/compiled-fixture.js';
import { GENERATION_KEY, generationSpec, makeGeneration } from './fixtures/generation.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The writer as plain JavaScript: twenty `node --import tsx` start-ups take a minute on a busy machine. */
let writer: string;
const ROUNDS = 20;
/** Upper bound of the random number of writes the child completes before the kill is armed. */
const MAX_WRITES_BEFORE_KILL = 3;
/** Upper bound of the random delay between arming and the kill: it lands inside the next write. */
const MAX_KILL_DELAY_MS = 20;

/** When one round's kill happens, counted in the child's progress rather than in time. */
interface KillPoint {
  /** Generations the child must report committed (in this round) before the kill is armed. */
  readonly afterWrites: number;
  /** Delay after arming. */
  readonly delayMs: number;
}

interface RoundResult {
  /** The last generation the child printed (it was committed), or undefined if none. */
  readonly lastCommitted: number | undefined;
}

/**
 * Starts the writer and kills it at `at`, and reports what it committed. The kill point is
 * counted in completed writes so that it lands among real writes however slow the machine is.
 */
function runAndKill(dir: string, at: KillPoint): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const committed = (): number[] =>
      stdout
        .split('\n')
        .filter((line) => /^\d+$/.test(line))
        .map(Number);
    // Only a round that makes no progress at all is given up on, saying where it stood.
    const giveUp = setTimeout(() => {
      reject(
        new Error(
          `writer made no progress in 120 s (kill armed: ${killTimer !== undefined}); stdout: ${stdout.slice(-200)}; stderr: ${stderr}`,
        ),
      );
      child.kill('SIGKILL');
    }, 120_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (killTimer === undefined && stdout.includes('ready\n') && committed().length >= at.afterWrites) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), at.delayMs);
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
      resolve({ lastCommitted: committed().at(-1) });
    });
  });
}

let dir: string;

beforeAll(async () => {
  writer = await compiledFixture(new URL('./fixtures/crash-writer.ts', import.meta.url));
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-state-crash-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StateStore crash safety', () => {
  it(`reads the old or the new generation after each of ${ROUNDS} SIGKILLs`, { timeout: 600_000 }, async () => {
    let previous: number | undefined; // generation on disk before the round
    let totalCommitted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const at: KillPoint = {
        afterWrites: Math.floor(Math.random() * (MAX_WRITES_BEFORE_KILL + 1)),
        delayMs: Math.floor(Math.random() * MAX_KILL_DELAY_MS),
      };
      const { lastCommitted } = await runAndKill(dir, at);
      const committed = lastCommitted ?? previous;
      if (lastCommitted !== undefined) totalCommitted += lastCommitted - (previous ?? -1);

      const value = await new StateStore(dir).read(GENERATION_KEY, generationSpec);

      // The file holds the last committed generation or the one in flight when the kill hit.
      const candidates = committed === undefined ? [undefined, 0] : [committed, committed + 1];
      expect(candidates, `round ${round}, killed ${at.delayMs} ms after write ${at.afterWrites}`).toContain(
        value?.generation,
      );
      if (value !== undefined) expect(value).toEqual(makeGeneration(value.generation));
      previous = value?.generation;
    }
    // The kills must have landed among real writes for the test to mean anything (rounds armed
    // after zero writes may commit none; the others commit at least the writes they waited for).
    expect(totalCommitted).toBeGreaterThan(0);
    // Each start cleans the temp file the previous kill may have left: at most one remains.
    const temps = (await readdir(dir)).filter((name) => name.endsWith('.tmp'));
    expect(temps.length).toBeLessThanOrEqual(1);
  });
});
