/** Two agents, one state directory: the second refuses to start and names the first. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, startCli, VPMD } from '../../support/built-cli.js';
import { generateSimulatedHost } from '../../../core/sim/index.js';

let dir: string;
const config = (name: string): string =>
  [
    'host:',
    `  root: ${join(dir, 'host')}`,
    '  simulated: true',
    'control:',
    `  socket: ${join(dir, `${name}.sock`)}`,
    'state:',
    `  dir: ${join(dir, 'state')}`,
    'management:',
    '  address: 127.0.0.1',
  ].join('\n');

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'vpmd-lock-cli-'));
  await generateSimulatedHost(join(dir, 'host'), { profile: 'intel-acpi-cpufreq-8' });
  await writeFile(join(dir, 'a.yaml'), config('a'));
  await writeFile(join(dir, 'b.yaml'), config('b'));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('one agent per state directory', () => {
  it('refuses a second agent with exit 5 and the holder’s pid; after the first is killed, starts', async () => {
    const first = startCli(VPMD, ['--config', join(dir, 'a.yaml')]);
    try {
      await first.waitFor(/vpmd started/);
      const second = await runCli(VPMD, ['--config', join(dir, 'b.yaml')]);
      expect(second.code).toBe(5);
      expect(second.stderr).toContain(`in use by another vpmd (pid ${first.child.pid}`);
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    // SIGKILL left the lock file behind: its process is gone, so the next agent takes it over.
    const third = startCli(VPMD, ['--config', join(dir, 'b.yaml')]);
    try {
      await third.waitFor(/vpmd started/);
    } finally {
      third.child.kill('SIGTERM');
      await third.exited;
    }
  }, 60_000);
});
