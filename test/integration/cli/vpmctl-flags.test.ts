/** vpmctl's options anywhere on the line (as git and kubectl take theirs), and its error output. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, runCli, startCli, VPMCTL, VPMD } from '../../support/built-cli.js';
import { generateSimulatedHost } from '../../../core/sim/index.js';

let dir: string;
let socket: string;
let agent: ReturnType<typeof startCli>;

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'vpmctl-flags-'));
  await generateSimulatedHost(join(dir, 'host'), { profile: 'intel-acpi-cpufreq-8' });
  socket = join(dir, 'control.sock');
  const config = join(dir, 'vpmd.yaml');
  await writeFile(
    config,
    [
      'host:',
      `  root: ${join(dir, 'host')}`,
      '  simulated: true',
      'control:',
      `  socket: ${socket}`,
      'state:',
      `  dir: ${join(dir, 'state')}`,
      'management:',
      '  address: 127.0.0.1',
    ].join('\n'),
  );
  agent = startCli(VPMD, ['--config', config]);
  await agent.waitFor(/vpmd started/);
}, 60_000);

afterAll(async () => {
  if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('vpmctl options anywhere on the line', () => {
  it('takes --json and --socket before, between and after the command words', async () => {
    const lines = [
      ['--json', '--socket', socket, 'host', 'cpufreq', '0'],
      ['host', '--json', 'cpufreq', '0', '--socket', socket],
      ['host', 'cpufreq', '0', `--socket=${socket}`, '-j'],
      ['-s', socket, 'host', 'cpufreq', '-j', '0'],
    ];
    const outputs = await Promise.all(lines.map((args) => runCli(VPMCTL, args)));
    for (const r of outputs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject([{ id: 0, driver: 'acpi-cpufreq' }]);
    }
    const human = await runCli(VPMCTL, ['status', '--socket', socket]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Host:\s+simulated/);
    const json = await runCli(VPMCTL, ['status', '--json', '--socket', socket]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toHaveProperty('plugins');
  });

  it('never reads a word after -- as an option: the command gets it', async () => {
    const r = await runCli(VPMCTL, ['--socket', socket, 'host', 'cpufreq', '--', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: host cpufreq: policy: must be a policy number or all\n');
  });

  it('COMMAND --help describes the command; --version anywhere prints the version', async () => {
    const help = await runCli(VPMCTL, ['host', 'cpufreq', '--help', '--socket', socket]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/host cpufreq/);
    expect(help.stdout).not.toMatch(/^status/m);
    const version = await runCli(VPMCTL, ['status', '-V']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^vpmctl \d+\.\d+\.\d+\n$/);
  });

  it('takes the options on shell lines too', async () => {
    const r = await runCli(VPMCTL, ['shell', '--socket', socket], { stdin: 'host cpufreq 0 --json\nquit\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"driver": ?"acpi-cpufreq"/);
  });

  it('ends every error message with a newline', async () => {
    const errors = await Promise.all([
      runCli(VPMCTL, ['--bogus', 'status']),
      runCli(VPMCTL, ['status', '--socket']),
      runCli(VPMCTL, ['--socket', join(dir, 'nowhere.sock'), 'status']),
      runCli(VPMCTL, ['--socket', socket, 'no-such-command']),
      runCli(VPMCTL, ['--socket', socket, 'host', 'cpufreq', 'seven']),
      runCli(VPMCTL, ['--socket', socket, 'shell'], { stdin: 'host --socket /x cpufreq\n"unterminated\nquit\n' }),
    ]);
    expect(errors.map((r) => r.code)).toEqual([2, 2, 9, 4, 2, 2]); // the shell exits with its last command's code
    for (const r of errors) {
      expect(r.stderr).not.toBe('');
      expect(r.stderr.endsWith('\n')).toBe(true);
    }
    expect(errors[0]?.stderr).toMatch(/^vpmctl: unknown option '--bogus'/);
    expect(errors[5]?.stderr).toContain('error: this shell is connected to');
    expect(errors[5]?.stderr).toContain('error: unterminated " quote\n');
  });
});
