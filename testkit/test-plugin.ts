/**
 * A small plugin for tests: a consumer or a stand-in provider of a capability, with an empty
 * config section and the current core API, so tests state only what matters to them.
 */
import { Type, type TObject } from '@sinclair/typebox';
import { definePlugin, type PluginManifest } from '../core/kernel/plugin-contract.js';

/** What a test plugin states: its name, what it is for, and its lifecycle. */
export type TestPluginSpec = Pick<PluginManifest<TObject>, 'name' | 'description' | 'register'> &
  Partial<Pick<PluginManifest<TObject>, 'provides' | 'requires' | 'optional' | 'errors' | 'events'>>;

/** A plugin manifest for tests (version 1.0.0, core API ^1.2.0, no config keys). */
export function testPlugin(spec: TestPluginSpec): PluginManifest<TObject> {
  return definePlugin({ version: '1.0.0', coreApi: '^1.2.0', config: Type.Object({}), ...spec });
}
