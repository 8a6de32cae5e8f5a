/**
 * `vpmctl wake`: the Wake-on-LAN magic packet received on a loopback UDP socket, and IPMI
 * chassis power-on through the BMCS capability, provided here by a test plugin that drives
 * real BMCs (ipmi_sim) with ipmitool, as the ipmi plugin does over its own stack.
 */
import { testPlugin } from '../../../testkit/index.js';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPMI_BMC_DRIVER, VpmdError, type BmcTarget } from '../../../core/index.js';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import { runIpmitool, startIpmiSim, type IpmiSimPeer } from '../../../testkit/peers/index.js';
import ipmiPlugin from '../../../plugins/ipmi/index.js';
import plugin from '../../../plugins/libvirt-caps/index.js';
import { magicPacket, parseMac } from '../../../plugins/libvirt-caps/wake.js';

describe('MAC parsing and the packet', () => {
  it('accepts the usual notations and refuses multicast and junk', () => {
    expect(parseMac('52:54:00:AB:cd:01')?.toString('hex')).toBe('525400abcd01');
    expect(parseMac('52-54-00-ab-cd-01')?.toString('hex')).toBe('525400abcd01');
    expect(parseMac('5254.00ab.cd01')?.toString('hex')).toBe('525400abcd01');
    expect(parseMac('ff:ff:ff:ff:ff:ff')).toBeUndefined();
    expect(parseMac('01:00:5e:00:00:01')).toBeUndefined();
    expect(parseMac('52:54:00:ab:cd')).toBeUndefined();
    expect(magicPacket(parseMac('52:54:00:ab:cd:01') as Buffer).length).toBe(102);
  });
});

describe('Wake-on-LAN', () => {
  let agent: BootedAgent;
  let rx: Socket;
  let port: number;
  const received: Buffer[] = [];
  beforeAll(async () => {
    rx = createSocket('udp4');
    rx.on('message', (m) => received.push(m));
    await new Promise<void>((r) => rx.bind({ address: '127.0.0.1', port: 0 }, () => r()));
    port = rx.address().port;
    agent = await bootAgent({
      plugins: [plugin],
      sections: {
        'libvirt-caps': {
          wakeOnLan: { broadcast: '127.0.0.1', port },
        },
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    rx?.close();
  });

  it('sends 6 x 0xFF and the MAC 16 times from the management address', async () => {
    const r = await agent.json<{ method: string; target: string; detail: string }>(['wake', '52:54:00:AB:CD:01']);
    expect(r).toMatchObject({ method: 'wake-on-lan', target: '52:54:00:ab:cd:01' });
    expect(r.detail).toContain('from 127.0.0.1');
    await expect.poll(() => received.length, { timeout: 30_000 }).toBe(1);
    const pkt = received[0] as Buffer;
    expect(pkt.length).toBe(102);
    expect(pkt.subarray(0, 6).equals(Buffer.alloc(6, 0xff))).toBe(true);
    for (let i = 0; i < 16; i++) expect(pkt.subarray(6 + i * 6, 12 + i * 6).toString('hex')).toBe('525400abcd01');
  });

  it('says clearly that a BMC wake needs a configured BMC when the target is not a MAC', async () => {
    const r = await agent.run(['wake', 'bmc0']);
    expect(r.type === 'error' ? r.error.code : r.type).toBe('E_LIBVIRT_CAPS_WAKE_TARGET');
    expect(r.type === 'error' ? r.error.message : '').toMatch(
      /not a MAC address nor a known BMC \(BMCs: none configured: add plugins.ipmi.targets or plugins.redfish.targets\)/,
    );
  });

  it('refuses an IPv6 or malformed broadcast address', async () => {
    const r = await agent.run(['wake', '52:54:00:ab:cd:01', '--broadcast', 'ff02::1']);
    expect(r.type === 'error' ? r.error.code : r.type).toBe('E_COMMAND_USAGE');
  });
});

describe('IPMI through the BMCS capability', () => {
  let sim: IpmiSimPeer;
  let agent: BootedAgent;
  beforeAll(async () => {
    sim = await startIpmiSim({ bmcs: 2, power: 0 });
    const targets = sim.targets;
    // Stands in for the ipmi plugin: the same contract, chassis control through real ipmitool.
    const provider = testPlugin({
      name: 'test-bmcs',
      description: 'BMCS over ipmitool for tests',
      provides: ['bmc-driver.ipmi@1'],
      register(ctx) {
        ctx.capabilities.provide(IPMI_BMC_DRIVER, {
          protocol: 'ipmi',
          targets: (): BmcTarget[] =>
            targets.map((t) => ({ name: t.name, protocol: 'ipmi', host: t.host, port: t.port, state: 'ok' })),
          chassis: async (name, action, by) => {
            ctx.access.require(by, 'ConfigureComponents', `ipmi chassis ${action}`);
            const t = targets.find((x) => x.name === name);
            if (t === undefined) throw new VpmdError('E_HOST_NOT_FOUND', `no BMC ${name}`);
            await runIpmitool(t, ['chassis', 'power', action === 'on' ? 'on' : action]);
          },
        });
        return { start() {}, stop() {} };
      },
    });
    agent = await bootAgent({
      plugins: [provider, plugin],
      sections: { 'libvirt-caps': {} },
    });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
  });

  it('powers the named host on through its BMC', async () => {
    const name = sim.targets[1]?.name as string;
    const r = await agent.json<{ method: string; target: string }>(['wake', name]);
    expect(r).toMatchObject({ method: 'ipmi', target: name });
    expect(await sim.powerState(1)).toBe(1);
    expect(await sim.powerState(0)).toBe(0);
  });

  it('names the known BMCs for an unknown target', async () => {
    const r = await agent.run(['wake', 'nosuchhost']);
    expect(r.type === 'error' ? r.error.code : r.type).toBe('E_LIBVIRT_CAPS_WAKE_TARGET');
    expect(r.type === 'error' ? r.error.message : '').toContain(sim.targets.map((t) => t.name).join(', '));
  });
});

describe('IPMI through the real ipmi plugin', () => {
  let sim: IpmiSimPeer;
  let agent: BootedAgent;
  beforeAll(async () => {
    sim = await startIpmiSim({ bmcs: 1, power: 0 });
    const targets = sim.targets.map((t) => ({
      name: t.name,
      host: t.host,
      port: t.port,
      username: t.username,
      password: t.password,
      interval: 3600,
    }));
    agent = await bootAgent({
      plugins: [ipmiPlugin, plugin],
      sections: { ipmi: { targets }, 'libvirt-caps': {} },
    });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
  });

  it('finds bmcs@1 at call time and powers the host on through it', async () => {
    const name = sim.targets[0]?.name as string;
    const r = await agent.json<{ method: string; target: string }>(['wake', name]);
    expect(r).toMatchObject({ method: 'ipmi', target: name });
    await expect.poll(() => sim.powerState(0), { timeout: 30_000 }).toBe(1);
    expect(await sim.chassisLog(0)).toContain('power 1');
  });
});
