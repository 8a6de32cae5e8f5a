import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli, startCli, VPMCTL, VPMD } from '../../support/built-cli.js';
import { generateSimulatedHost } from '../../../core/sim/index.js';

let dir: string;
let socket: string;
let configFile: string;
let agent: ReturnType<typeof startCli>;
const ctl = (args: string[], stdin?: string) =>
  runCli(VPMCTL, ['--socket', socket, ...args], stdin === undefined ? {} : { stdin });

/** Writes a config for an agent whose control socket and state live under `base`. */
async function writeAgentConfig(
  base: string,
  sock = join(base, 'run', 'control.sock'),
): Promise<{ socket: string; configFile: string }> {
  const file = join(base, 'vpmd.yaml');
  const example = join(ROOT, 'dist/examples/plugins/energy-report/index.js');
  await writeFile(
    file,
    [
      'host:',
      `  root: ${join(dir, 'host')}`,
      '  simulated: true',
      '  sampleInterval: 0.2',
      'control:',
      `  socket: ${sock}`,
      'state:',
      `  dir: ${join(base, 'state')}`,
      'management:',
      '  address: 127.0.0.1',
      'plugins:',
      '  energy-report:',
      `    module: ${example}`,
      '    budgetWatts: 1000',
      '    interval: 0.2',
    ].join('\n'),
  );
  return { socket: sock, configFile: file };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-cli-'));
  await generateSimulatedHost(join(dir, 'host'), { profile: 'intel-acpi-cpufreq-8' });
  ({ socket, configFile } = await writeAgentConfig(dir));
  agent = startCli(VPMD, ['--config', configFile]);
  await agent.waitFor(/vpmd started/, 60_000);
}, 90_000);

afterAll(async () => {
  if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('vpmd and vpmctl, as operators run them', () => {
  it('creates the control socket mode 0600', async () => {
    expect((await stat(socket)).mode & 0o777).toBe(0o600);
  });

  it('vpmctl status lists plugins with state and health, in human and JSON form', async () => {
    const human = await ctl(['status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Host:\s+simulated/);
    expect(human.stdout).toMatch(/energy-report\s+1\.0\.0\s+running/);
    const json = await ctl(['--json', 'status']);
    const st = JSON.parse(json.stdout) as { plugins: { name: string; state: string; health?: { status: string } }[] };
    // Built-in plugins without a config section are listed as disabled; only the configured one runs.
    expect(st.plugins.filter((p) => p.state !== 'disabled')).toEqual([
      expect.objectContaining({ name: 'energy-report', state: 'running' }),
    ]);
    expect(st.plugins.filter((p) => p.state === 'disabled').every((p) => p.name !== 'energy-report')).toBe(true);
  });

  it('changes the simulated kernel files through host commands and reports kernel refusals', async () => {
    const ok = await ctl(['host', 'set-governor', '0', 'userspace']);
    expect(ok.code).toBe(0);
    const gov = join(dir, 'host/sys/devices/system/cpu/cpufreq/policy0/scaling_governor');
    expect((await readFile(gov, 'utf8')).trim()).toBe('userspace');
    const bad = await ctl(['host', 'set-governor', '0', 'turbo-boost']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/turbo-boost/);
    expect(bad.stderr).toMatch(/userspace/); // names the governors that are offered
    expect((await readFile(gov, 'utf8')).trim()).toBe('userspace');
  });

  it('serves host telemetry and the external plugin’s command', async () => {
    // Power is a rate: it has a value once two energy samples exist.
    const packagePower = async (): Promise<number | null | undefined> => {
      const t = JSON.parse((await ctl(['--json', 'telemetry', 'list', '--kind', 'power'])).stdout) as {
        id: string;
        value: number | null;
      }[];
      return t.find((m) => m.id.startsWith('host/rapl/') && m.id.includes('package'))?.value;
    };
    await expect.poll(packagePower, { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
    const r = await ctl(['energy', 'report']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Energy:\s+\d+ J/);
  });

  it('exits with codes that mean something', async () => {
    expect((await ctl(['no-such-command'])).code).toBe(4);
    const usage = await ctl(['host', 'cpufreq', 'seven']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('policy');
    const json = await ctl(['--json', 'no-such-command']);
    expect((JSON.parse(json.stdout) as { error: { code: string } }).error.code).toBe('E_COMMAND_UNKNOWN');
    const nowhere = await runCli(VPMCTL, ['--socket', join(dir, 'nope.sock'), 'status']);
    expect(nowhere.code).toBe(9);
    expect(nowhere.stderr).toContain('the agent is not running');
    expect((await runCli(VPMCTL, ['--bogus'])).code).toBe(2);
  });

  it('vpmctl shell runs commands from a pipe', async () => {
    const r = await ctl(['shell'], 'version\nhost cpufreq 0\nquit\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/vpmd \d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(/acpi-cpufreq/);
  });

  it('records privileged actions in the audit log', async () => {
    expect((await ctl(['host', 'set-governor', '1', 'powersave'])).code).toBe(0);
    expect((await ctl(['host', 'set-governor', '1', 'warp-speed'])).code).toBe(2);
    const r = await ctl(['--json', 'audit']);
    const entries = JSON.parse(r.stdout) as { action: string; outcome: string }[];
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'host set-governor', outcome: 'ok' }),
        expect.objectContaining({ action: 'host set-governor', outcome: 'failed' }),
      ]),
    );
  });

  it('refuses to start a second agent on the same socket (with its own state directory)', async () => {
    const other = join(dir, 'second.yaml');
    await writeFile(other, (await readFile(configFile, 'utf8')).replace(join(dir, 'state'), join(dir, 'state2')));
    const second = await runCli(VPMD, ['--config', other]);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain('another agent is listening');
  });

  it('refuses to start a second agent on the same state directory, naming the first', async () => {
    const second = await runCli(VPMD, ['--config', configFile]);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain(`in use by another vpmd (pid ${agent.child.pid}`);
  });

  it('stops cleanly on SIGTERM and removes its socket', async () => {
    // An agent of its own, so that the shared one keeps serving the other tests in any order.
    const own = await writeAgentConfig(await mkdtemp(join(dir, 'own-')));
    const stopping = startCli(VPMD, ['--config', own.configFile]);
    try {
      await stopping.waitFor(/vpmd started/, 60_000);
      stopping.child.kill('SIGTERM');
      expect(await stopping.exited).toBe(0);
      await expect(stat(own.socket)).rejects.toThrow(/ENOENT/);
      expect(stopping.output()).toMatch(/plugin energy-report started/);
      expect(stopping.output()).toMatch(/vpmd stopped/);
    } finally {
      if (stopping.child.exitCode === null) stopping.child.kill('SIGKILL');
    }
  });
});

describe('vpmd check-config', () => {
  it('accepts the shipped example and reports every problem with path and line', async () => {
    const ok = await runCli(VPMD, ['check-config', join(ROOT, 'config/vpmd.example.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('valid');
    const f = join(dir, 'bad.yaml');
    await writeFile(
      f,
      [
        'management:',
        '  address: 10.0.0.1',
        '  allow: [10.0.0.0/40]',
        'plugins:',
        '  ipmy: {}',
        'kernel:',
        '  startTimeout: 0',
      ].join('\n'),
    );
    const bad = await runCli(VPMD, ['check-config', f]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${f}:7: kernel.startTimeout: must be 0.1-600`);
    expect(bad.stderr).toContain(`${f}:3: management.allow[0]: '10.0.0.0/40' is not a CIDR`);
    // The agent's own plugins are named, and the near one suggested (once 'built-in: none').
    expect(bad.stderr).toContain(
      "plugins.ipmy: unknown plugin 'ipmy' (did you mean 'ipmi'?): the built-in plugins are energy, ipmi, libvirt-caps, libvirt-domains, power, profiles, prometheus, redfish, snmp, virtio-channels;",
    );
    expect(bad.stderr).toContain('3 problem(s)');
  });

  it('exits 1 for a file that does not exist, naming it', async () => {
    const missing = join(dir, 'absent.yaml');
    const r = await runCli(VPMD, ['check-config', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${missing}: cannot read configuration (ENOENT)`);
  });

  it('runs each plugin’s own checks: two IPMI targets on one BMC, a passwordFile that does not exist', async () => {
    const f = join(dir, 'ipmi.yaml');
    const pw = join(dir, 'nowhere.pw');
    await writeFile(
      f,
      [
        'management:',
        '  address: 127.0.0.1',
        'plugins:',
        '  ipmi:',
        '    targets:',
        '      - { name: a, host: 10.0.0.5, username: u, password: pw }',
        '      - { name: b, host: 10.0.0.5, username: u, password: pw }',
        `      - { name: c, host: 10.0.0.6, username: u, passwordFile: ${pw} }`,
      ].join('\n'),
    );
    const r = await runCli(VPMD, ['check-config', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${f}:7: plugins.ipmi.targets[1].host: target b: another target polls the same BMC 10.0.0.5:623 (a); give each BMC one target`,
    );
    expect(r.stderr).toContain(
      `${f}:8: plugins.ipmi.targets[2].passwordFile: target c: ${pw} does not exist; give a file holding the secret on its first line, mode 0600`,
    );
    expect(r.stderr).toContain('2 problem(s)');
  });

  it('checks an external plugin’s manifest and section as the agent would', async () => {
    const f = join(dir, 'ext.yaml');
    await writeFile(
      f,
      [
        'plugins:',
        '  energy-report:',
        `    module: ${join(ROOT, 'dist/examples/plugins/energy-report/index.js')}`,
        '    budgetWatts: -5',
        '  ghost:',
        '    module: ./nowhere.js',
      ].join('\n'),
    );
    const r = await runCli(VPMD, ['check-config', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('plugins.energy-report.budgetWatts: must be 1-100000');
    expect(r.stderr).toContain("plugins.ghost.module: cannot load plugin module './nowhere.js'");
  });
});
