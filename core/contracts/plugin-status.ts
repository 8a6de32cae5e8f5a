/**
 * Plugin states and health (`plugin-status@1`), provided by the core: what `vpmctl status`
 * shows, for surfaces that export it (the Prometheus exporter's `vpmd_plugin_up`).
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { PluginState } from './events.js';

/** One plugin as the kernel sees it. */
export interface PluginStatusEntry {
  readonly name: string;
  readonly version: string;
  readonly state: PluginState;
  /** The plugin's own health, when it runs (`health()` or its last push). */
  readonly health?: { readonly status: 'ok' | 'degraded' | 'failed'; readonly detail?: string };
}

/** The plugin status capability. */
export interface PluginStatusView {
  /** Every configured plugin in start order (disabled ones included, state `disabled`). */
  list(): Promise<readonly PluginStatusEntry[]>;
}

/** Token of {@link PluginStatusView}. */
export const PLUGIN_STATUS = defineCapability<PluginStatusView>('plugin-status@1');
