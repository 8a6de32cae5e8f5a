import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOGIND_BUS_NAME,
  LOGIND_MANAGER_IFACE,
  LOGIND_PATH,
  startLogindMock,
  startPrivateBus,
  type BusClient,
  type LogindMock,
  type PrivateBus,
  type ReceivedSignal,
} from '../../../testkit/peers/index.js';
import { expectNoProcess } from './process-state.js';

describe('startLogindMock', () => {
  let bus: PrivateBus;
  let logind: LogindMock;
  let client: BusClient;

  const manager = (member: string, signature?: string, body?: unknown[], timeoutMs?: number): Promise<unknown[]> =>
    client.call({
      destination: LOGIND_BUS_NAME,
      path: LOGIND_PATH,
      interface: LOGIND_MANAGER_IFACE,
      member,
      ...(signature === undefined ? {} : { signature, body: body ?? [] }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });

  beforeAll(async () => {
    bus = await startPrivateBus();
    logind = await startLogindMock(bus, {
      CanSuspend: 'yes',
      CanHibernate: 'challenge',
      CanHybridSleep: 'na',
      CanSuspendThenHibernate: 'no',
    });
    client = await bus.connect();
  });

  afterAll(async () => {
    client?.close();
    await logind?.stop();
    await bus?.stop();
  });

  it('answers each Can* method with the configured value', async () => {
    expect(await manager('CanSuspend')).toEqual(['yes']);
    expect(await manager('CanHibernate')).toEqual(['challenge']);
    expect(await manager('CanHybridSleep')).toEqual(['na']);
    expect(await manager('CanSuspendThenHibernate')).toEqual(['no']);
  });

  it('has no SuspendWithFlags until addSleepWithFlags, then records calls with their flags', async () => {
    await expect(manager('SuspendWithFlags', 't', [1n])).rejects.toMatchObject({
      details: { dbusError: 'org.freedesktop.DBus.Error.UnknownMethod' },
    });
    await logind.addSleepWithFlags();
    await logind.clearCalls();

    await manager('SuspendWithFlags', 't', [5n]);
    await manager('HibernateWithFlags', 't', [0n]);

    expect(await logind.calls('SuspendWithFlags')).toEqual([
      expect.objectContaining({ method: 'SuspendWithFlags', args: [5n] }),
    ]);
    expect((await logind.calls()).map((c) => c.method)).toEqual(['SuspendWithFlags', 'HibernateWithFlags']);
    await logind.clearCalls();
    expect(await logind.calls()).toEqual([]);
  });

  it('delivers PrepareForSleep(true) and PrepareForSleep(false) to a subscriber', async () => {
    const received: ReceivedSignal[] = [];
    const unsubscribe = await client.subscribe({ interface: LOGIND_MANAGER_IFACE, member: 'PrepareForSleep' }, (s) =>
      received.push(s),
    );
    try {
      await logind.emitPrepareForSleep(true);
      await logind.emitPrepareForSleep(false);
      await expect.poll(() => received.map((s) => s.body[0]), { timeout: 30_000 }).toEqual([true, false]);
      expect(received[0]?.path).toBe(LOGIND_PATH);
    } finally {
      await unsubscribe();
    }
  });

  it('changes the Can* answers at run time', async () => {
    await logind.setProps({ CanSuspend: 'no' });
    expect(await manager('CanSuspend')).toEqual(['no']);
    expect(logind.props.CanSuspend).toBe('no');
    await logind.setProps({ CanSuspend: 'yes' });
    expect(await manager('CanSuspend')).toEqual(['yes']);
  });

  it('setDelay makes a method outlast a caller timeout, which fails with E_TIMEOUT', async () => {
    await logind.setDelay('CanHibernate', 800);
    await expect(manager('CanHibernate', undefined, undefined, 200)).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    await logind.setDelay('CanHibernate', 0); // waits for the sleeping call to finish first
    const started = Date.now();
    expect(await manager('CanHibernate')).toEqual(['challenge']);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('freeze leaves calls unanswered until thaw', async () => {
    logind.freeze();
    try {
      await expect(manager('CanSuspend', undefined, undefined, 300)).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    } finally {
      logind.thaw();
    }
    expect(await manager('CanSuspend')).toEqual(['yes']);
  });

  it('rejects answers other than na, yes, no and challenge before starting anything', async () => {
    await expect(startLogindMock(bus, { CanSuspend: 'maybe' as 'yes' })).rejects.toMatchObject({
      code: 'E_PEER_OPTIONS',
      message: expect.stringContaining('CanSuspend'),
    });
  });
});

describe('LogindMock.stop', () => {
  it('ends the mock process and frees the logind name', async () => {
    const bus = await startPrivateBus();
    try {
      const logind = await startLogindMock(bus);
      const client = await bus.connect();
      try {
        await logind.stop();
        expectNoProcess(logind.pid);
        expect(await client.nameHasOwner(LOGIND_BUS_NAME)).toBe(false);
      } finally {
        client.close();
      }
    } finally {
      await bus.stop();
    }
  });
});
