/**
 * The core's logind client (host-power@1's LogindManager on the one bounded D-Bus client)
 * against a real private dbus-daemon and python-dbusmock's logind template: Can* answers,
 * *WithFlags with fallback, Inhibit with fd passing, PrepareForSleep, and the bounded behaviour
 * when logind is absent, slow or frozen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listInhibitors, startLogindMock, startPrivateBus } from '../../../testkit/peers/index.js';
import type { BusClient, LogindAnswer, LogindMock, PrivateBus } from '../../../testkit/peers/index.js';
import { LogindManager, LOGIND_VERB_OF, HostPowerService } from '../../../core/host-power/index.js';
import { createLogger } from '../../../core/logger.js';
import { AccessPolicy } from '../../../core/access/access-policy.js';
import { EventBus } from '../../../core/services/event-bus.js';
import type { HostRtc } from '../../../core/host/index.js';

const LOGIND_VERBS = Object.values(LOGIND_VERB_OF);
const connect = (address: string, timeoutMs: number): Promise<LogindManager> =>
  LogindManager.connect(address, timeoutMs, true);

/**
 * A connection whose every exchange is bounded by a short timeout. The bound covers the connect
 * too, which a loaded machine can take longer than 300 ms to finish: those tries are not what the
 * tests below assert, so the connect is tried again (the mock answers it at once).
 */
async function connectShort(timeoutMs: number): Promise<LogindManager> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(bus.address, timeoutMs);
    } catch (e) {
      if (attempt >= 20 || (e as { code?: string }).code !== 'E_HOST_POWER_TIMEOUT') throw e;
    }
  }
}

let bus: PrivateBus;
let logind: LogindMock;
let probe: BusClient;
let client: LogindManager;

beforeAll(async () => {
  bus = await startPrivateBus();
  logind = await startLogindMock(bus);
  probe = await bus.connect();
  client = await connect(bus.address, 20_000);
});
afterAll(async () => {
  client?.close();
  probe?.close();
  await bus?.stop();
});

const ANSWERS: readonly LogindAnswer[] = ['yes', 'no', 'challenge', 'na'];

describe('Can* answers', () => {
  // A Latin square: each verb gets each of the four answers once, in four rounds.
  for (let round = 0; round < ANSWERS.length; round++) {
    const props = Object.fromEntries(
      LOGIND_VERBS.map((v, i) => [`Can${v}`, ANSWERS[(i + round) % ANSWERS.length] as LogindAnswer]),
    );
    it(`reads ${JSON.stringify(props)}`, async () => {
      await logind.setProps(props);
      for (const verb of LOGIND_VERBS) expect(await client.can(verb)).toBe(props[`Can${verb}`]);
    });
  }
});

describe('sleep verbs', () => {
  it('calls SuspendWithFlags with the flags when logind has it', async () => {
    await logind.addSleepWithFlags();
    await logind.clearCalls();
    expect(await client.sleep('Suspend', 1n)).toBe('WithFlags');
    expect((await logind.calls('SuspendWithFlags')).map((c) => c.args)).toEqual([[1n]]);
    expect(await logind.calls('Suspend')).toEqual([]);
  });

  it('falls back to the plain method with interactive=false on an older logind', async () => {
    const b2 = await startPrivateBus();
    try {
      const old = await startLogindMock(b2); // the 0.28 template: no *WithFlags
      const c2 = await connect(b2.address, 20_000);
      try {
        expect(await c2.sleep('Hibernate', 0n)).toBe('plain');
        expect((await old.calls('Hibernate')).map((c) => c.args)).toEqual([[false]]);
      } finally {
        c2.close();
      }
    } finally {
      await b2.stop();
    }
  });
});

describe('Inhibit and PrepareForSleep', () => {
  const inhibitors = (): Promise<unknown[][]> => listInhibitors(probe);

  it('receives the delay lock as a file descriptor and releases it by closing it', async () => {
    const lock = await client.inhibit('sleep', 'vpmd', 'test lock', 'delay');
    expect(lock.fd).toBeGreaterThan(2);
    expect((await inhibitors()).map((r) => r.slice(0, 4))).toContainEqual(['sleep', 'vpmd', 'test lock', 'delay']);
    lock.release();
    lock.release(); // idempotent
    await expect.poll(async () => (await inhibitors()).length, { timeout: 30_000 }).toBe(0);
  });

  it('delivers PrepareForSleep true then false', async () => {
    const seen: boolean[] = [];
    const off = client.onPrepareForSleep((s) => seen.push(s));
    await logind.emitPrepareForSleep(true);
    await logind.emitPrepareForSleep(false);
    await expect.poll(() => seen, { timeout: 30_000 }).toEqual([true, false]);
    off();
  });
});

describe('absent, slow and frozen logind', () => {
  it('reports a bus without logind as unavailable at once', async () => {
    const empty = await startPrivateBus();
    try {
      const c = await connect(empty.address, 20_000);
      try {
        const err = await c.can('Suspend').catch((e: unknown) => e);
        expect(err).toMatchObject({
          code: 'E_HOST_POWER_UNAVAILABLE',
          details: { dbusError: 'org.freedesktop.DBus.Error.ServiceUnknown' },
        });
        expect((err as Error).message).toMatch(/\(nothing owns org\.freedesktop\.login1 on this bus\)$/);
      } finally {
        c.close();
      }
    } finally {
      await empty.stop();
    }
  });

  it('reports a missing bus socket as unavailable, naming the address', async () => {
    const address = `unix:path=${bus.dir}/no-such-socket`;
    const err = await connect(address, 20_000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HOST_POWER_UNAVAILABLE' });
    expect((err as Error).message).toBe(
      `logind connect on ${address}: cannot connect to the bus socket (ENOENT: no socket at that path)`,
    );
  });

  it('honours DBUS_SYSTEM_BUS_ADDRESS without hostPower.busAddress on a real host, never on a simulated one', async () => {
    const saved = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
    const deps = {
      access: new AccessPolicy({ allow: ['127.0.0.0/8'] }),
      bus: new EventBus(createLogger({ level: 'silent' })),
      rtc: {} as HostRtc,
      log: createLogger({ level: 'silent' }),
    };
    try {
      const real = new HostPowerService({ timeoutMs: 2_000, simulated: false }, deps);
      expect(real.bus).toEqual({ address: bus.address });
      const session = await real.openLogind();
      await logind.setProps({ CanSuspend: 'challenge' });
      expect(await session.can('mem')).toBe('challenge');
      session.close();
      const simulated = new HostPowerService({ timeoutMs: 2_000, simulated: true }, deps);
      await logind.clearCalls();
      await expect(simulated.openLogind()).rejects.toMatchObject({
        code: 'E_HOST_POWER_UNAVAILABLE',
        message: 'simulated host: the system logind is not used (set hostPower.busAddress to use one)',
      });
      expect(await logind.calls()).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
      else process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
    }
  });

  it('times out on a slow method with a clear error and keeps working afterwards', async () => {
    const fast = await connectShort(300);
    try {
      await logind.setDelay('CanHibernate', 1_500);
      const err = await fast.can('Hibernate').catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'E_HOST_POWER_TIMEOUT',
        details: { call: 'CanHibernate', timeoutMs: 300 },
      });
      await logind.setDelay('CanHibernate', 0);
      await logind.setProps({ CanHibernate: 'yes' });
      // The same connection answers again; one late answer on a loaded machine is retried.
      const again = await fast.can('Hibernate').catch(() => fast.can('Hibernate'));
      expect(again).toBe('yes');
    } finally {
      fast.close();
    }
  });

  it('times out on a frozen logind instead of hanging', async () => {
    const fast = await connectShort(300);
    logind.freeze();
    try {
      const err = await fast.can('Suspend').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_HOST_POWER_TIMEOUT' });
      expect((err as Error).message).toMatch(/within 300 ms/);
    } finally {
      logind.thaw();
      fast.close();
    }
  });
});
