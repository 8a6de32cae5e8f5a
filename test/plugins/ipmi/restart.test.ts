/**
 * What survives an agent restart: the SEL entries already turned into events are not emitted
 * again (marks in the plugin's state), and the new agent closes its sessions like the first.
 */
import { testPlugin } from '../../../testkit/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bootAgent, startIpmiSim, type IpmiSimPeer, type IpmiSimTarget } from 'vpmd/testkit';
import { type VpmdEventMap } from '../../../core/index.js';
import ipmi from '../../../plugins/ipmi/index.js';
import { openSessions } from './support/reference-tools.js';

let sim: IpmiSimPeer;
let stateDir: string;
const seen: VpmdEventMap['hw.log.v1'][] = [];
const recorder = testPlugin({
  name: 'hw-log-recorder',
  description: 'test consumer of hw.log.v1',
  register(ctx) {
    ctx.events.on('hw.log.v1', (e) => void seen.push(e));
    return { start() {}, stop() {} };
  },
});

beforeAll(async () => {
  sim = await startIpmiSim({ bmcs: 1 });
  stateDir = await mkdtemp(join(tmpdir(), 'vpmd-ipmi-state-'));
});
afterAll(async () => {
  await sim?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

const boot = () => {
  const t = sim.targets[0];
  if (t === undefined) throw new Error('no BMC');
  return bootAgent({
    plugins: [ipmi, recorder],
    core: { state: { dir: stateDir } },
    sections: {
      ipmi: {
        interval: 3600,
        targets: [{ name: 'bmc0', host: t.host, port: t.port, username: t.username, password: t.password }],
      },
    },
  });
};

it('emits each SEL entry once across a restart and closes its sessions each time', async () => {
  const first = await boot();
  await first.json(['ipmi', 'poll']);
  await first.stop();
  expect(seen).toHaveLength(3);
  expect(await openSessions(sim.targets[0] as IpmiSimTarget)).toBe(0);
  const second = await boot();
  await second.json(['ipmi', 'poll']);
  await second.stop();
  expect(seen).toHaveLength(3);
  expect(await openSessions(sim.targets[0] as IpmiSimTarget)).toBe(0);
});
