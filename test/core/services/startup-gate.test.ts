/**
 * The control socket answers before every plugin has started: a plugin's command issued then
 * waits for its plugin instead of failing as unknown, and is answered "busy" (exit 5) when the
 * plugin is still starting after the wait.
 */
import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { CommandRegistry, defineCommand, type Invocation } from '../../../core/services/commands.js';
import { AccessPolicy } from '../../../core/access/access-policy.js';
import { exitCodeFor, isVpmdError } from '../../../core/errors.js';
import type { Principal } from '../../../core/access/privileges.js';

const admin: Principal = { name: 'root', role: 'Administrator', origin: 'control-socket' };
const inv: Invocation = { principal: admin, progress: () => {}, signal: new AbortController().signal };
const hello = defineCommand({
  name: 'slow hello',
  summary: 'answers once its plugin runs',
  privilege: 'Login',
  args: Type.Object({}),
  handler: () => 'hello',
});

/** A start-up in progress: `plugins` are starting until `finish()`. */
function gate(plugins: string[]): { gate: { starting(): string[]; done: Promise<void> }; finish(): void } {
  let starting = plugins;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    finish = () => {
      starting = [];
      r();
    };
  });
  return { gate: { starting: () => starting, done }, finish: () => finish() };
}

describe('commands during start-up', () => {
  it('a command not registered yet waits for its plugin, then runs', async () => {
    const reg = new CommandRegistry(new AccessPolicy({ allow: [] }));
    const g = gate(['slow']);
    reg.setStartupGate(g.gate, 60_000);
    const pending = reg.run(['slow', 'hello'], inv);
    let settled = false;
    void pending.finally(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    reg.register('slow', hello);
    g.finish();
    expect((await pending).result).toBe('hello');
  });

  it('a registered command of a plugin still starting waits too; core commands never wait', async () => {
    const reg = new CommandRegistry(new AccessPolicy({ allow: [] }));
    reg.register('slow', hello);
    reg.register(
      'core',
      defineCommand({ name: 'status', summary: 's', privilege: 'Login', args: Type.Object({}), handler: () => 'up' }),
    );
    const g = gate(['slow']);
    reg.setStartupGate(g.gate, 60_000);
    expect((await reg.run(['status'], inv)).result).toBe('up');
    const pending = reg.run(['slow', 'hello'], inv);
    g.finish();
    expect((await pending).result).toBe('hello');
  });

  it('answers busy, exit 5, naming the plugin, when it is still starting after the wait', async () => {
    const reg = new CommandRegistry(new AccessPolicy({ allow: [] }));
    reg.register('slow', hello);
    reg.setStartupGate(gate(['slow']).gate, 1);
    const e = await reg.run(['slow', 'hello'], inv).catch((x: unknown) => x);
    expect(isVpmdError(e) && e.code).toBe('E_PLUGIN_STARTING');
    expect(isVpmdError(e) && e.message).toBe('busy: plugin slow is starting; try again in a moment');
    expect(isVpmdError(e) && exitCodeFor(e)).toBe(5);
  });

  it('still calls an unknown command unknown once start-up is over', async () => {
    const reg = new CommandRegistry(new AccessPolicy({ allow: [] }));
    const g = gate(['slow']);
    reg.setStartupGate(g.gate, 60_000);
    const pending = reg.run(['nope'], inv).catch((x: unknown) => x);
    g.finish();
    const e = await pending;
    expect(isVpmdError(e) && e.code).toBe('E_COMMAND_UNKNOWN');
  });
});
