/**
 * `vpmctl suspend` and the HOST_SLEEP capability against dbusmock's logind on a private bus and
 * the simulated host: RTC alarm written and read back, delay inhibitor, *WithFlags and the
 * fallback, PrepareForSleep recorded, in-flight refusal, bad wake times, rollback, privileges.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bootAgent, type BootedAgent } from '../../../testkit/index.js';
import { listInhibitors, startLogindMock, startPrivateBus } from '../../../testkit/peers/index.js';
import type { BusClient, LogindMock, PrivateBus } from '../../../testkit/peers/index.js';
import type { RtcState, SuspendOutcome } from '../../../core/index.js';
import plugin from '../../../plugins/libvirt-caps/index.js';
import observer, { type Seen } from './observer-plugin.js';

interface Status {
  state: string;
  delayInhibitor: boolean;
  inFlight: { state: string } | null;
  last: {
    target: string;
    state: string;
    requestedBy: string;
    wakeAlarm?: number;
    wentDownAt?: number;
    resumedAt?: number;
    detail?: string;
  } | null;
}

let bus: PrivateBus;
let logind: LogindMock;
let probe: BusClient;
let agent: BootedAgent;

const inhibitors = (): Promise<unknown[][]> => listInhibitors(probe);
const status = (): Promise<Status> => agent.json<Status>(['sleep', 'status']);
const rtc = (): Promise<RtcState> => agent.json<RtcState>(['observer', 'rtc']);
const fail = async (argv: string[]): Promise<{ code: string; message: string }> => {
  const r = await agent.run(argv);
  if (r.type !== 'error') throw new Error(`expected ${argv.join(' ')} to fail`);
  return r.error;
};

beforeAll(async () => {
  bus = await startPrivateBus();
  logind = await startLogindMock(bus, { CanHybridSleep: 'na' });
  await logind.addSleepWithFlags();
  probe = await bus.connect();
  agent = await bootAgent({
    plugins: [plugin, observer],
    sections: { 'libvirt-caps': { prepareTimeout: 2 } },
    core: { hostPower: { busAddress: bus.address } },
  });
});
afterAll(async () => {
  await agent?.stop();
  probe?.close();
  await bus?.stop();
});
/** Stands for "20 seconds from now" in the refusal table. */
const IN_20_SECONDS = 'now+20s';

beforeEach(async () => {
  await logind.clearCalls();
});

describe('a full suspend and resume', () => {
  it('holds a delay inhibitor while running', async () => {
    expect((await inhibitors()).map((r) => r.slice(0, 4))).toEqual([
      ['sleep', 'vpmd', 'vpmd records the suspend before the host sleeps', 'delay'],
    ]);
    expect((await status()).delayInhibitor).toBe(true);
  });

  it('--dry-run lists the steps and changes nothing', async () => {
    const out = await agent.json<SuspendOutcome>(['suspend', 'mem', '--wake-after', '120', '--dry-run']);
    expect(out.dryRun).toBe(true);
    expect(out.steps.join('\n')).toMatch(/wake alarm.*clear, write .* read back[\s\S]*SuspendWithFlags\(1\)/);
    expect((await rtc()).wakeAlarm).toBeUndefined();
    expect(await logind.calls()).toEqual([]);
    expect((await status()).state).toBe('on');
  });

  it('arms the RTC, calls SuspendWithFlags(1), refuses a second request, and records down and up', async () => {
    const before = Math.floor(Date.now() / 1000);
    const out = await agent.json<SuspendOutcome>(['suspend', 'mem', '--wake-after', '120']);
    expect(out.wakeAlarm).toBeGreaterThanOrEqual(before + 120);
    expect((await rtc()).wakeAlarm).toBe(out.wakeAlarm);
    expect((await logind.calls('SuspendWithFlags')).map((c) => c.args)).toEqual([[1n]]);
    expect((await status()).state).toBe('suspending');

    const busy = await fail(['suspend', 'disk']);
    expect(busy.code).toBe('E_LIBVIRT_CAPS_SUSPEND_BUSY');
    expect(busy.message).toMatch(/Suspend operation already in progress \(mem requested by .*@control-socket/);
    expect(await logind.calls('HibernateWithFlags')).toEqual([]);

    await logind.emitPrepareForSleep(true);
    await expect.poll(async () => (await status()).state, { timeout: 30_000 }).toBe('suspended');
    // The delay lock is released once vpmd has persisted its record: logind may proceed.
    await expect.poll(async () => (await inhibitors()).length, { timeout: 30_000 }).toBe(0);
    expect((await status()).last).toMatchObject({ state: 'suspended', target: 'mem' });

    await logind.emitPrepareForSleep(false);
    await expect.poll(async () => (await status()).state, { timeout: 30_000 }).toBe('on');
    const s = await status();
    expect(s.last).toMatchObject({ state: 'resumed', target: 'mem', wakeAlarm: out.wakeAlarm });
    expect(s.last?.resumedAt).toBeGreaterThanOrEqual(s.last?.wentDownAt ?? Infinity);
    expect(s.inFlight).toBeNull();
    // Resumed before the alarm fired (here: by the test): the stale alarm is cleared.
    expect((await rtc()).wakeAlarm).toBeUndefined();
    await expect.poll(async () => (await inhibitors()).length, { timeout: 30_000 }).toBe(1);

    const seen = await agent.json<Seen>(['observer', 'events']);
    expect(seen.power.slice(-4).map((e) => e.state)).toEqual(['suspending', 'suspended', 'resuming', 'on']);
    expect(
      seen.power
        .slice(-4)
        .every((e) => e.target === 'mem' && e.requestedBy?.includes('@control-socket') && e.timestamp > 0),
    ).toBe(true);
    const audit = await agent.json<Array<{ action: string; outcome: string; origin: string }>>([
      'audit',
      '--limit',
      '20',
    ]);
    const actions = audit.map((a) => `${a.action}:${a.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining(['suspend:ok', 'suspend:failed', 'host suspend:ok', 'host resume:ok']),
    );
  });

  it('lets exactly one of two simultaneous requests through', async () => {
    const [a, b] = await Promise.all([agent.run(['suspend', 'mem']), agent.run(['suspend', 'mem'])]);
    const codes = [a, b].map((r) => (r?.type === 'error' ? r.error.code : 'ok')).sort();
    expect(codes).toEqual(['E_LIBVIRT_CAPS_SUSPEND_BUSY', 'ok']);
    expect(await logind.calls('SuspendWithFlags')).toHaveLength(1);
    await logind.emitPrepareForSleep(true);
    await logind.emitPrepareForSleep(false);
    await expect.poll(async () => (await status()).last?.state, { timeout: 30_000 }).toBe('resumed');
    expect((await status()).state).toBe('on');
  });

  it.each([
    ['disk', 'HibernateWithFlags'],
    ['suspend-then-hibernate', 'SuspendThenHibernateWithFlags'],
  ] as const)('suspend %s calls %s', async (target, method) => {
    await agent.json(['suspend', target]);
    expect((await logind.calls(method)).map((c) => c.args)).toEqual([[1n]]);
    await logind.emitPrepareForSleep(true);
    await logind.emitPrepareForSleep(false);
    await expect
      .poll(async () => (await status()).last, { timeout: 30_000 })
      .toMatchObject({ target, state: 'resumed' });
  });

  it('keeps the record across a restart: a new agent on a copy of the state directory reports it', async () => {
    // Its own operation to remember (not the previous test's).
    await agent.json(['suspend', 'suspend-then-hibernate']);
    await logind.emitPrepareForSleep(true);
    await logind.emitPrepareForSleep(false);
    await expect
      .poll(async () => (await status()).last, { timeout: 30_000 })
      .toMatchObject({ target: 'suspend-then-hibernate', state: 'resumed' });
    // A copy without the running agent's lock: one agent per state directory, and this one keeps running.
    const copy = await mkdtemp(join(tmpdir(), 'vpmd-state-copy-'));
    await cp(join(agent.dir, 'state'), copy, { recursive: true, filter: (src) => basename(src) !== 'vpmd.lock' });
    const again = await bootAgent({
      plugins: [plugin],
      sections: { 'libvirt-caps': {} },
      core: { state: { dir: copy }, hostPower: { busAddress: bus.address } },
    }).catch(async (e: unknown) => {
      await rm(copy, { recursive: true, force: true });
      throw e;
    });
    try {
      const human = await again.run(['sleep', 'status']);
      expect(human.type === 'result' ? human.human : '').toMatch(
        /Last operation:\s+suspend-then-hibernate by .*: resumed/,
      );
      expect(human.type === 'result' ? human.human : '').toMatch(/State:\s+on/);
    } finally {
      await again.stop();
      await rm(copy, { recursive: true, force: true });
    }
  });
});

describe('refusals change nothing', () => {
  it.each([
    [['suspend', 'mem', '--wake-after', '30'], 'E_LIBVIRT_CAPS_WAKE_TIME', /too short, must be at least 60 seconds/],
    [
      ['suspend', 'mem', '--wake-at', new Date(Date.now() - 3_600_000).toISOString()],
      'E_LIBVIRT_CAPS_WAKE_TIME',
      /in the past/,
    ],
    [
      // Resolved when the test runs (not when the table is built): a busy machine may take
      // longer than 20 s to get from collection to this test.
      ['suspend', 'mem', '--wake-at', IN_20_SECONDS],
      'E_LIBVIRT_CAPS_WAKE_TIME',
      /at least 60 seconds from now/,
    ],
    [
      ['suspend', 'mem', '--wake-at', 'tomorrow'],
      'E_LIBVIRT_CAPS_WAKE_TIME',
      /epoch seconds or an ISO 8601 time with a zone/,
    ],
    [
      ['suspend', 'mem', '--wake-after', '120', '--wake-at', '2099-01-01T00:00:00Z'],
      'E_COMMAND_USAGE',
      /either --wake-after or --wake-at/,
    ],
    [
      ['suspend', 'hybrid'],
      'E_LIBVIRT_CAPS_SLEEP_UNSUPPORTED',
      /Hybrid-Suspend is not supported by this host: logind CanHybridSleep answers na/,
    ],
    [['suspend', 'standby'], 'E_COMMAND_USAGE', /mem/],
  ] as const)('%j', async (argv, code, message) => {
    const err = await fail(argv.map((a) => (a === IN_20_SECONDS ? String(Math.floor(Date.now() / 1000) + 20) : a)));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect((await rtc()).wakeAlarm).toBeUndefined();
    expect(await logind.calls()).toEqual([]);
    expect((await status()).state).toBe('on');
  });

  it('clears the RTC alarm again when logind does not answer the suspend call', async () => {
    const slow = await bootAgent({
      plugins: [plugin, observer],
      sections: { 'libvirt-caps': {} },
      core: { hostPower: { busAddress: bus.address, timeout: 0.5 } },
    });
    await logind.setDelay('SuspendWithFlags', 1_500);
    try {
      const r = await slow.run(['suspend', 'mem', '--wake-after', '300']);
      expect(r.type === 'error' ? r.error.code : r.type).toBe('E_HOST_POWER_TIMEOUT');
      expect((await slow.json<RtcState>(['observer', 'rtc'])).wakeAlarm).toBeUndefined();
      expect((await slow.json<Status>(['sleep', 'status'])).state).toBe('on');
      expect((await slow.json<Status>(['sleep', 'status'])).last).toMatchObject({ state: 'failed' });
    } finally {
      await logind.setDelay('SuspendWithFlags', 0);
      await slow.stop();
    }
  });

  it('maps a polkit refusal to a denied error and clears the alarm', async () => {
    // What logind answers an unauthorised caller.
    await logind.addMethod(
      'SuspendWithFlags',
      't',
      '',
      "raise dbus.exceptions.DBusException('Access denied', name='org.freedesktop.DBus.Error.AccessDenied')",
    );
    try {
      const err = await fail(['suspend', 'mem', '--wake-after', '300']);
      expect(err.code).toBe('E_HOST_POWER_REFUSED');
      expect(err.message).toMatch(
        /logind SuspendWithFlags on \S+: org\.freedesktop\.DBus\.Error\.AccessDenied: Access denied \(refused by polkit or the bus policy\)/,
      );
      expect((await rtc()).wakeAlarm).toBeUndefined();
      expect((await status()).state).toBe('on');
    } finally {
      await logind.addSleepWithFlags();
    }
  });

  it('gives up when logind accepted but PrepareForSleep never comes, and clears the alarm', async () => {
    await agent.json(['suspend', 'disk', '--wake-after', '600']);
    expect((await rtc()).wakeAlarm).toBeDefined();
    await expect.poll(async () => (await status()).state, { timeout: 30_000 }).toBe('on');
    expect((await status()).last).toMatchObject({
      target: 'disk',
      state: 'failed',
      detail: expect.stringMatching(/no PrepareForSleep within 2000 ms/),
    });
    expect((await rtc()).wakeAlarm).toBeUndefined();
  });
});

describe('the HOST_SLEEP capability', () => {
  it('refuses a ReadOnly caller and audits who asked from where', async () => {
    const err = await fail(['observer', 'suspend', 'ReadOnly', 'mem', '--dry-run']);
    expect(err.code).toBe('E_ACCESS_DENIED');
    const audit = await agent.json<
      Array<{ action: string; outcome: string; principal: string; origin: string; address?: string }>
    >(['audit', '--limit', '5']);
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'host suspend',
          outcome: 'denied',
          principal: 'snmp-user',
          origin: 'snmp',
          address: '192.0.2.9',
        }),
      ]),
    );
  });

  it('lets an Operator dry-run a suspend', async () => {
    const out = await agent.json<SuspendOutcome>(['observer', 'suspend', 'Operator', 'mem', '--dry-run']);
    expect(out).toMatchObject({ target: 'mem', dryRun: true });
  });
});

describe('an older logind', () => {
  it('falls back to Suspend(false) without *WithFlags', async () => {
    const b2 = await startPrivateBus();
    const old = await startLogindMock(b2);
    const a2 = await bootAgent({
      plugins: [plugin],
      sections: { 'libvirt-caps': {} },
      core: { hostPower: { busAddress: b2.address } },
    });
    try {
      const out = await a2.json<SuspendOutcome>(['suspend', 'mem']);
      expect(out.steps.join('\n')).toContain('logind Suspend(false) accepted (no WithFlags method)');
      expect((await old.calls('Suspend')).map((c) => c.args)).toEqual([[false]]);
    } finally {
      await a2.stop();
      await b2.stop();
    }
  });
});
