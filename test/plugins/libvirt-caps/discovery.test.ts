/**
 * Sleep-state discovery through the running agent: every Can* answer against dbusmock's logind,
 * the kernel's view from the simulated host, re-discovery on request and on resume with a
 * host.sleep.v1 event only when the result changes, and an absent or slow logind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import {
  startLogindMock,
  startPrivateBus,
  type LogindAnswer,
  type LogindMock,
  type PrivateBus,
} from '../../../testkit/peers/index.js';
import type { SleepSupport } from '../../../core/index.js';
import plugin from '../../../plugins/libvirt-caps/index.js';
import observer, { earlyListener, type Seen } from './observer-plugin.js';
import type { VpmdEventMap } from '../../../core/index.js';

const ANSWERS: readonly LogindAnswer[] = ['yes', 'no', 'challenge', 'na'];
const VERBS = ['Suspend', 'Hibernate', 'HybridSleep', 'SuspendThenHibernate'] as const;
const TARGETS = ['mem', 'disk', 'hybrid', 'suspend-then-hibernate'] as const;

describe('with a logind', () => {
  let bus: PrivateBus;
  let logind: LogindMock;
  let agent: BootedAgent;
  beforeAll(async () => {
    bus = await startPrivateBus();
    logind = await startLogindMock(bus);
    agent = await bootAgent({
      plugins: [earlyListener, plugin, observer],
      sections: { 'libvirt-caps': {} },
      core: { hostPower: { busAddress: bus.address } },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await bus?.stop();
  });

  it('emits host.sleep.v1 at start with every supported state', async () => {
    const seen = await agent.json<VpmdEventMap['host.sleep.v1'][]>(['early', 'events']);
    expect(seen[0]).toMatchObject({ reason: 'start', supported: [...TARGETS], changed: [...TARGETS] });
  });

  // Latin square: each verb meets each answer once over four rounds.
  for (let round = 0; round < ANSWERS.length; round++) {
    const answers = VERBS.map((_, i) => ANSWERS[(i + round) % ANSWERS.length] as LogindAnswer);
    it(`decides as libvirt for ${answers.join('/')} (yes and challenge supported)`, async () => {
      await logind.setProps(Object.fromEntries(VERBS.map((v, i) => [`Can${v}`, answers[i]])));
      const s = await agent.json<SleepSupport>(['sleep', 'states', '--refresh']);
      expect(s.targets.map((t) => t.logind)).toEqual(answers);
      expect(s.targets.map((t) => t.supported)).toEqual(answers.map((a) => a === 'yes' || a === 'challenge'));
      const { xml } = await agent.json<{ xml: string }>(['capabilities']);
      expect(xml.includes('<suspend_mem/>')).toBe(answers[0] === 'yes' || answers[0] === 'challenge');
      expect(xml.includes('<suspend_disk/>')).toBe(answers[1] === 'yes' || answers[1] === 'challenge');
      expect(xml.includes('<suspend_hybrid/>')).toBe(answers[2] === 'yes' || answers[2] === 'challenge');
    });
  }

  it('emits an event only when the result changes, naming what changed', async () => {
    await logind.setProps({
      CanSuspend: 'yes',
      CanHibernate: 'yes',
      CanHybridSleep: 'yes',
      CanSuspendThenHibernate: 'yes',
    });
    await agent.run(['sleep', 'states', '--refresh']);
    const before = (await agent.json<Seen>(['observer', 'events'])).sleep.length;
    await agent.run(['sleep', 'states', '--refresh']);
    expect((await agent.json<Seen>(['observer', 'events'])).sleep.length).toBe(before);
    await logind.setProps({ CanHibernate: 'na' });
    await agent.run(['sleep', 'states', '--refresh']);
    const after = (await agent.json<Seen>(['observer', 'events'])).sleep;
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)).toMatchObject({
      reason: 'request',
      changed: ['disk'],
      supported: ['mem', 'hybrid', 'suspend-then-hibernate'],
    });
  });

  // Each test sets the logind answers it starts from: the Latin square leaves others behind.
  const answerAll = async (props: Record<string, LogindAnswer> = {}): Promise<void> => {
    const all: Record<string, LogindAnswer> = {
      CanSuspend: 'yes',
      CanHibernate: 'yes',
      CanHybridSleep: 'yes',
      CanSuspendThenHibernate: 'yes',
    };
    await logind.setProps({ ...all, ...props });
    await agent.run(['sleep', 'states', '--refresh']);
  };

  it('re-discovers on resume (PrepareForSleep false)', async () => {
    await answerAll({ CanHibernate: 'na' });
    const powerBefore = (await agent.json<Seen>(['observer', 'events'])).power.length;
    await logind.emitPrepareForSleep(true);
    await logind.setProps({ CanHibernate: 'yes' });
    await logind.emitPrepareForSleep(false);
    await expect
      .poll(async () => (await agent.json<Seen>(['observer', 'events'])).sleep.at(-1), { timeout: 30_000 })
      .toMatchObject({ reason: 'resume', changed: ['disk'] });
    // Nobody asked vpmd: the sleep is recorded all the same, as logind's.
    await expect
      .poll(async () => (await agent.json<{ last: unknown }>(['sleep', 'status'])).last, { timeout: 30_000 })
      .toMatchObject({
        requestedBy: 'logind@internal',
        external: true,
        state: 'resumed',
      });
    const power = (await agent.json<Seen>(['observer', 'events'])).power.slice(powerBefore).map((e) => e.state);
    expect(power).toEqual(['suspended', 'resuming', 'on']);
  });

  it('explains the kernel view beside the logind answer', async () => {
    await answerAll();
    const s = await agent.json<SleepSupport>(['sleep', 'states']);
    expect(s.kernel).toMatchObject({
      states: ['freeze', 'mem', 'disk'],
      memSleep: { options: ['s2idle', 'deep'], selected: 'deep' },
      s3: true,
      s4: true,
    });
    expect(s.targets[0]?.kernel).toContain('mem_sleep: s2idle [deep]: S3');
    const human = await agent.run(['sleep', 'states']);
    expect(human.type === 'result' ? human.human : '').toMatch(/mem\s+yes\s+yes\s+mem offered/);
  });
});

describe('kernel views of other hosts', () => {
  it.each([
    ['amd-pstate-epp-64', /S3 available but s2idle is selected/],
    ['arm-cppc-8', /mem_sleep: \[s2idle\] only: not S3/],
  ] as const)('%s', async (profile, pattern) => {
    const agent = await bootAgent({
      plugins: [plugin],
      profile,
      sections: { 'libvirt-caps': {} },
    });
    try {
      const s = await agent.json<SleepSupport>(['sleep', 'states']);
      expect(s.targets[0]?.kernel).toMatch(pattern);
    } finally {
      await agent.stop();
    }
  });
});

describe('without a usable logind', () => {
  it('runs degraded with logind marked unavailable when the bus has no logind', async () => {
    const bus = await startPrivateBus();
    const agent = await bootAgent({
      plugins: [plugin],
      sections: { 'libvirt-caps': {} },
      core: { hostPower: { busAddress: bus.address } },
    });
    try {
      const s = await agent.json<SleepSupport>(['sleep', 'states']);
      expect(s.logindProblem).toMatch(/ServiceUnknown|not available/);
      expect(s.targets.every((t) => t.logind === 'unavailable' && !t.supported)).toBe(true);
      expect(s.targets[0]?.kernelOffers).toBe(true);
      const status = (await agent.status()).find((p) => p.name === 'libvirt-caps');
      expect(status).toMatchObject({ state: 'running', health: { status: 'degraded' } });
      expect((await agent.json<{ xml: string }>(['capabilities'])).xml).toContain('<power_management/>');
    } finally {
      await agent.stop();
      await bus.stop();
    }
  });

  it('reports a bus that went away instead of hanging, and stays degraded but running', async () => {
    const bus = await startPrivateBus();
    await startLogindMock(bus);
    const agent = await bootAgent({
      plugins: [plugin],
      sections: { 'libvirt-caps': {} },
      core: { hostPower: { busAddress: bus.address, timeout: 1 } },
    });
    try {
      expect((await agent.json<SleepSupport>(['sleep', 'states'])).logindProblem).toBeUndefined();
      await bus.stop();
      // The first refresh may still wait out one call timeout on the dead connection; the next
      // one reconnects and fails at once on the missing socket.
      await agent.run(['sleep', 'states', '--refresh']);
      const s = await agent.json<SleepSupport>(['sleep', 'states', '--refresh']);
      expect(s.logindProblem).toMatch(
        /logind connect on \S+: cannot connect to the bus socket \(ENOENT: no socket at that path\)/,
      );
      expect(s.targets.every((t) => !t.supported)).toBe(true);
      expect((await agent.status()).find((p) => p.name === 'libvirt-caps')).toMatchObject({
        state: 'running',
        health: { status: 'degraded' },
      });
    } finally {
      await agent.stop();
      await bus.stop();
    }
  });

  it('bounds a slow logind: the agent starts and reports the timeout', async () => {
    const bus = await startPrivateBus();
    const logind = await startLogindMock(bus);
    await logind.setDelay('CanSuspend', 4_000);
    const agent = await bootAgent({
      plugins: [plugin],
      sections: { 'libvirt-caps': {} },
      core: { hostPower: { busAddress: bus.address, timeout: 0.5 } },
    });
    try {
      const s = await agent.json<SleepSupport>(['sleep', 'states']);
      expect(s.logindProblem).toMatch(/logind CanSuspend on \S+: no answer within 500 ms/);
      expect(s.targets.every((t) => !t.supported)).toBe(true);
    } finally {
      await agent.stop();
      await bus.stop();
    }
  });
});
