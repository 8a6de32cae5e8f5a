import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { Kernel } from '../../../core/kernel/kernel.js';
import { defineCapability } from '../../../core/kernel/capabilities.js';
import { definePlugin, type PluginManifest, type PluginContext } from '../../../core/kernel/plugin-contract.js';
import type { PlannedPlugin } from '../../../core/kernel/plugin-plan.js';
import { defineCommand } from '../../../core/services/commands.js';
import { makeTestServices, type TestServices } from '../../support/core-services.js';

const SLEEP = defineCapability<{ suspend(): string }>('host-sleep@1');

function planned(m: PluginManifest, enabled = true, config: Record<string, unknown> = {}): PlannedPlugin {
  return { manifest: m, origin: 'built-in', enabled, config };
}

function manifest(name: string, body: Partial<PluginManifest> & Pick<PluginManifest, 'register'>): PluginManifest {
  return definePlugin({
    name,
    version: '1.0.0',
    description: name,
    coreApi: '^1.0.0',
    config: Type.Object({}),
    ...body,
  });
}

const principal = { name: 'root', role: 'Administrator', origin: 'control-socket' } as const;
const inv = { principal, progress: () => {}, signal: new AbortController().signal };

let t: TestServices;
beforeEach(async () => {
  t = await makeTestServices();
});
afterEach(async () => t.cleanup());

describe('kernel lifecycle', () => {
  it('rolls back everything a failing plugin registered and keeps the others running', async () => {
    const log: string[] = [];
    const bad = manifest('bad', {
      provides: ['host-sleep@1'],
      register(ctx) {
        ctx.commands.register(
          defineCommand({
            name: 'bad hello',
            summary: 's',
            privilege: 'Login',
            args: Type.Object({}),
            handler: () => 'hi',
          }),
        );
        ctx.events.on('host.power.v1', () => {});
        return {
          start() {
            ctx.capabilities.provide(SLEEP, { suspend: () => 'ok' });
            ctx.scheduler.every('tick', 10, () => {});
            ctx.telemetry.define({
              id: 'bad/x',
              name: 'x',
              kind: 'power',
              unit: 'W',
              source: { plugin: 'bad', target: 'h', sensor: 's' },
            });
            throw new Error('port 443 in use');
          },
          stop: () => void log.push('bad.stop'),
        };
      },
    });
    const good = manifest('good', {
      register: (ctx) => {
        ctx.commands.register(
          defineCommand({
            name: 'good hello',
            summary: 's',
            privilege: 'Login',
            args: Type.Object({}),
            handler: () => 'hello',
          }),
        );
        return { start: () => void log.push('good.start'), stop: () => void log.push('good.stop') };
      },
    });
    const k = new Kernel(t.services, [planned(bad), planned(good)], { startMs: 1000, stopMs: 1000 });
    await k.start();
    const st = await k.status();
    expect(st.map((s) => [s.name, s.state])).toEqual([
      ['bad', 'failed'],
      ['good', 'running'],
    ]);
    expect(st[0]?.error?.code).toBe('E_PLUGIN_START');
    expect(st[0]?.error?.message).toContain('port 443 in use');
    expect(log).toEqual(['bad.stop', 'good.start']);
    // nothing of 'bad' is left behind
    expect(t.services.commands.list().map((c) => c.name)).toEqual(['good hello']);
    expect(t.services.capabilities.get('host-sleep@1')).toBeUndefined();
    expect(t.services.bus.countOwner('bad')).toBe(0);
    expect(t.services.scheduler.stats('bad')).toEqual([]);
    expect(t.services.telemetry.list({ plugin: 'bad' })).toEqual([]);
    expect(t.states.filter((s) => s.plugin === 'bad').map((s) => s.to)).toEqual(['starting', 'failed']);
    await k.stop();
  });

  it('times out a plugin that does not start, aborting its signal', async () => {
    let aborted = false;
    const slow = manifest('slow', {
      register: () => ({
        start: (signal) =>
          new Promise<void>((resolve) => {
            signal.addEventListener('abort', () => {
              aborted = true;
              resolve();
            });
          }),
        stop() {},
      }),
    });
    const k = new Kernel(t.services, [planned(slow)], { startMs: 50, stopMs: 50 });
    await k.start();
    const [s] = await k.status();
    expect(s?.state).toBe('failed');
    expect(s?.error?.code).toBe('E_PLUGIN_START_TIMEOUT');
    expect(aborted).toBe(true);
  });

  it('starts providers first, fails consumers of a failed provider, and stops in reverse order', async () => {
    const order: string[] = [];
    const provider = (name: string, cap: string, fail = false) =>
      manifest(name, {
        provides: [cap],
        register: (ctx) => ({
          start() {
            if (fail) throw new Error('boom');
            ctx.capabilities.provide(defineCapability<string>(cap), name);
            order.push(`start ${name}`);
          },
          stop: () => void order.push(`stop ${name}`),
        }),
      });
    const consumer = (name: string, cap: string) =>
      manifest(name, {
        requires: [cap],
        register: (ctx) => ({
          start() {
            order.push(`start ${name} using ${ctx.capabilities.get(defineCapability<string>(cap))}`);
          },
          stop: () => void order.push(`stop ${name}`),
        }),
      });
    const k = new Kernel(
      t.services,
      [
        planned(provider('p1', 'a@1')),
        planned(consumer('c1', 'a@1')),
        planned(provider('p2', 'b@1', true)),
        planned(consumer('c2', 'b@1')),
      ],
      { startMs: 1000, stopMs: 1000 },
    );
    await k.start();
    const st = await k.status();
    expect(st.map((s) => s.state)).toEqual(['running', 'running', 'failed', 'failed']);
    expect(st[3]?.error?.code).toBe('E_PLUGIN_DEPENDENCY');
    await k.stop();
    // p2's stop runs during its rollback; c2 never starts, so it is never stopped
    expect(order).toEqual(['start p1', 'start c1 using p1', 'stop p2', 'stop c1', 'stop p1']);
    expect((await k.status()).map((s) => s.state)).toEqual(['stopped', 'stopped', 'failed', 'failed']);
  });

  it('bounds a plugin that does not stop and still stops the next one', async () => {
    const order: string[] = [];
    const stuck = manifest('stuck', { register: () => ({ start() {}, stop: () => new Promise<void>(() => {}) }) });
    const fine = manifest('fine', { register: () => ({ start() {}, stop: () => void order.push('fine') }) });
    const k = new Kernel(t.services, [planned(fine), planned(stuck)], { startMs: 1000, stopMs: 50 });
    await k.start();
    await k.stop();
    expect(order).toEqual(['fine']);
    const st = await k.status();
    expect(st.find((s) => s.name === 'stuck')?.error?.code).toBe('E_PLUGIN_STOP_TIMEOUT');
  });

  it('refuses registrations after stop and undeclared capabilities', async () => {
    let saved: PluginContext | undefined;
    const p = manifest('p', {
      register: (ctx) => {
        saved = ctx;
        return { start() {}, stop() {} };
      },
    });
    const k = new Kernel(t.services, [planned(p)], { startMs: 1000, stopMs: 1000 });
    await k.start();
    expect(() => saved?.capabilities.provide(SLEEP, { suspend: () => '' })).toThrow(
      /not listed in its manifest's provides/,
    );
    await k.stop();
    expect(() =>
      saved?.commands.register(
        defineCommand({ name: 'late', summary: 's', privilege: 'Login', args: Type.Object({}), handler: () => 1 }),
      ),
    ).toThrow(expect.objectContaining({ code: 'E_PLUGIN_STOPPED' }));
  });

  it('fails a plugin that declares a capability but never provides it', async () => {
    const liar = manifest('liar', { provides: ['host-sleep@1'], register: () => ({ start() {}, stop() {} }) });
    const k = new Kernel(t.services, [planned(liar)], { startMs: 1000, stopMs: 1000 });
    await k.start();
    const [s] = await k.status();
    expect(s?.state).toBe('failed');
    expect(s?.error?.message).toContain('declares host-sleep@1 under provides but did not provide it');
  });

  it('reports pushed and pulled health, and a hanging health check as degraded', async () => {
    const pushed = manifest('pushed', {
      register: (ctx) => ({
        start: () => ctx.health.report({ status: 'degraded', detail: 'bmc2 unreachable' }),
        stop() {},
      }),
    });
    const hanging = manifest('hanging', {
      register: () => ({ start() {}, stop() {}, health: () => new Promise(() => {}) }),
    });
    const k = new Kernel(
      t.services,
      [
        planned(pushed),
        planned(hanging),
        planned(manifest('off', { register: () => ({ start() {}, stop() {} }) }), false),
      ],
      {
        startMs: 1000,
        stopMs: 1000,
        healthMs: 30,
      },
    );
    await k.start();
    const st = await k.status();
    expect(st[0]?.health).toEqual({ status: 'degraded', detail: 'bmc2 unreachable' });
    expect(st[1]?.health?.status).toBe('degraded');
    expect(st[1]?.health?.detail).toContain('did not answer within 30 ms');
    expect(st[2]?.state).toBe('disabled');
    await k.stop();
  });

  it('gives each plugin a frozen config and its own container holding its context', async () => {
    let ctxSeen: PluginContext | undefined;
    const p = manifest('p', {
      register: (ctx) => {
        ctxSeen = ctx;
        return { start() {}, stop() {} };
      },
    });
    const k = new Kernel(t.services, [planned(p, true, { nested: { a: 1 } })], { startMs: 1000, stopMs: 1000 });
    await k.start();
    const cfg = ctxSeen?.config as { nested: { a: number } };
    expect(Object.isFrozen(cfg.nested)).toBe(true);
    expect(() => {
      cfg.nested.a = 2;
    }).toThrow();
    expect(ctxSeen?.container.resolve(Symbol.for('vpmd.context'))).toBe(ctxSeen);
    const r = await t.services.commands.run(['help'], inv).catch((e: unknown) => e);
    expect(r).toMatchObject({ code: 'E_COMMAND_UNKNOWN' });
    await k.stop();
  });
});
