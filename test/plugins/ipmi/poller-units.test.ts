/**
 * Configuration checks (bad input gets a specific error and changes nothing), secret files,
 * keepalive on an idle session and backoff, on one real ipmi_sim BMC.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, startIpmiSim, type IpmiSimPeer, type IpmiSimTarget } from 'vpmd/testkit';
import { Value } from '@sinclair/typebox/value';
import ipmi from '../../../plugins/ipmi/index.js';
import { IpmiConfigSchema, checkTargets, resolveTarget, type IpmiConfig } from '../../../plugins/ipmi/config.js';
import { TargetPoller } from '../../../plugins/ipmi/poller/target-poller.js';
import { UdpEndpoint } from '../../../plugins/ipmi/session/udp-endpoint.js';
import { openSessions } from './support/reference-tools.js';

const cfg = (targets: unknown[]): IpmiConfig => Value.Default(IpmiConfigSchema, { targets }) as IpmiConfig;
const base = { host: '127.0.0.1', username: 'admin', password: 'password' };

describe('configuration', () => {
  it('names the target and field of a cross-field mistake', () => {
    expect(() =>
      checkTargets(
        cfg([
          { ...base, name: 'a' },
          { ...base, name: 'a', port: 700 },
        ]),
      ),
    ).toThrow(/targets\[a\]\.name: another target has the same name/);
    expect(() =>
      checkTargets(
        cfg([
          { ...base, name: 'a' },
          { ...base, name: 'b' },
        ]),
      ),
    ).toThrow(/targets\[b\]\.host: another target polls the same BMC 127\.0\.0\.1:623/);
    expect(() => checkTargets(cfg([{ name: 'a', host: 'h', username: 'u' }]))).toThrow(
      /targets\[a\]\.password: give exactly one of password and passwordFile/,
    );
    expect(() => checkTargets(cfg([{ ...base, name: 'a', cipherSuite: 0 }]))).toThrow(
      /targets\[a\]\.cipherSuite: suite 0 is below cipherFloor 'confidentiality'/,
    );
    expect(() => checkTargets(cfg([{ ...base, name: 'a', cipherSuite: 0, cipherFloor: 'none' }]))).not.toThrow();
  });

  it('reads a password file, refuses one other users can read, and an empty or missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vpmd-ipmi-cfg-'));
    try {
      const file = join(dir, 'pw');
      await writeFile(file, 'secret\n');
      await chmod(file, 0o600);
      const c = cfg([{ name: 'a', host: 'h', username: 'u', passwordFile: file }]);
      const t = c.targets[0];
      if (t === undefined) throw new Error('no target');
      expect(await resolveTarget(c, t)).toMatchObject({
        password: 'secret',
        port: 623,
        privilege: 'operator',
        cipherFloor: 'confidentiality',
        intervalMs: 30_000,
      });
      await chmod(file, 0o644);
      await expect(resolveTarget(c, t)).rejects.toMatchObject({
        code: 'E_IPMI_CONFIG',
        message: expect.stringMatching(/readable by every user/),
      });
      await writeFile(file, '\n');
      await chmod(file, 0o600);
      await expect(resolveTarget(c, t)).rejects.toThrow(/is empty/);
      await expect(resolveTarget(c, { ...t, passwordFile: join(dir, 'missing') })).rejects.toThrow(
        /missing does not exist; give a file holding the secret/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an agent with a bad ipmi section keeps running; the plugin is failed with the error', async () => {
    const booted = await bootAgent({
      plugins: [ipmi],
      sections: {
        ipmi: {
          targets: [
            { ...base, name: 'x' },
            { ...base, name: 'x', port: 624 },
          ],
        },
      },
    });
    try {
      const status = await booted.status();
      expect(status.find((s) => s.name === 'ipmi')).toMatchObject({
        state: 'failed',
        error: { code: 'E_IPMI_CONFIG', message: 'plugins.ipmi.targets[x].name: another target has the same name' },
      });
    } finally {
      await booted.stop();
    }
  });
});

describe('keepalive and backoff on a real BMC', () => {
  let sim: IpmiSimPeer;
  let target: IpmiSimTarget;
  let endpoint: UdpEndpoint;
  beforeAll(async () => {
    sim = await startIpmiSim({ bmcs: 1, sel: false });
    target = sim.targets[0] as IpmiSimTarget;
    endpoint = await UdpEndpoint.open('127.0.0.1');
  });
  afterAll(async () => {
    await endpoint?.close();
    await sim?.stop();
  });

  it('keeps an idle session alive and leaves a busy one alone', async () => {
    const tp = new TargetPoller(
      { ...target, privilege: 'operator', cipherFloor: 'confidentiality', intervalMs: 30_000 },
      endpoint,
      { timeoutMs: 500, retries: 1 },
      { minMs: 100, maxMs: 1000 },
    );
    try {
      await tp.poll();
      const sent = tp.sessionStats()?.sent ?? 0;
      expect(await tp.keepalive(25_000)).toBe(false);
      expect(await tp.keepalive(25_000, Date.now() + 26_000)).toBe(true);
      expect(tp.sessionStats()?.sent).toBe(sent + 1);
      expect(tp.hasSession).toBe(true);
    } finally {
      await tp.close();
    }
    expect(await openSessions(target)).toBe(0);
  });

  it('reads chassis power with the first poll, then every chassisMs; with chassis off, never', async () => {
    // One socket holds one session per BMC: the second poller gets its own.
    const second = await UdpEndpoint.open('127.0.0.1');
    const make = (chassis: boolean, ep: UdpEndpoint): TargetPoller =>
      new TargetPoller(
        { ...target, privilege: 'operator', cipherFloor: 'confidentiality', intervalMs: 30_000 },
        ep,
        { timeoutMs: 500, retries: 1 },
        { minMs: 100, maxMs: 1000 },
        { sdrCheckMs: 60_000, chassisMs: 60_000, chassis },
      );
    const on = make(true, endpoint);
    const off = make(false, second);
    try {
      expect((await on.poll()).power).toBe('on');
      expect((await off.poll()).power).toBeUndefined();
      expect(off.describe().power).toBeUndefined();
      // The same poll minus one Get Chassis Status.
      expect(off.sessionStats()?.sent).toBe((on.sessionStats()?.sent ?? 0) - 1);
      const [a, b] = [on.sessionStats()?.sent ?? 0, off.sessionStats()?.sent ?? 0];
      await on.poll();
      await off.poll();
      // Warm polls: the five readings only (chassis not due for 60 s).
      expect([(on.sessionStats()?.sent ?? 0) - a, (off.sessionStats()?.sent ?? 0) - b]).toEqual([5, 5]);
    } finally {
      await on.close();
      await off.close();
      await second.close();
    }
    expect(await openSessions(target)).toBe(0);
  });

  it('backs off exponentially with jitter, bounded, and resets on success', async () => {
    const tp = new TargetPoller(
      { ...target, port: 9, privilege: 'operator', cipherFloor: 'confidentiality', intervalMs: 30_000 },
      endpoint,
      { timeoutMs: 50, retries: 0 },
      { minMs: 1000, maxMs: 4000 },
      undefined,
      () => 0.5,
    );
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      await tp.poll().catch(() => undefined);
      waits.push(Math.round((tp.retryAt - Date.now()) / 100) * 100);
    }
    expect(tp.state).toBe('degraded');
    expect(tp.lastError?.code).toBe('E_IPMI_TIMEOUT');
    expect(waits).toEqual([1000, 2000, 4000, 4000]);
    expect(tp.inBackoff()).toBe(true);
    tp.succeed('on');
    expect(tp.inBackoff()).toBe(false);
    await tp.close();
  });
});
