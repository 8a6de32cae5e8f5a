/**
 * The agent's own side: plugin health (`vpmd_plugin_up`), guest channel request counters from
 * `guest-channels@1`, build info, and per-collector success of this scrape.
 */
import type { GuestChannels, PluginStatusEntry } from 'vpmd';
import type { ExpositionWriter, Family } from '../exposition/families.js';

const PLUGIN_UP: Family = {
  name: 'vpmd_plugin_up',
  type: 'gauge',
  help: '1 when the plugin runs and reports no failure; 0 when it failed, stopped or reports failed health',
};
const PLUGIN_HEALTH: Family = {
  name: 'vpmd_plugin_health',
  type: 'gauge',
  help: "1 for the plugin's current health status (ok, degraded, failed), for running plugins",
};
const GUEST_REQUESTS: Family = {
  name: 'vpmd_guest_channel_requests',
  type: 'counter',
  help: "Guests' power requests over their virtio channels, by VM and outcome (accepted, clamped, coalesced, limited, refused, denied, dropped); clamped and coalesced are also accepted, denied also refused; dropped are garbage or stale partial frames skipped, not requests",
};
const GUEST_CHANNELS: Family = {
  name: 'vpmd_guest_channels',
  type: 'gauge',
  help: "The VM's guest power channels",
};
const GUEST_CONNECTED: Family = {
  name: 'vpmd_guest_channels_connected',
  type: 'gauge',
  help: "The VM's guest power channels with a guest connected",
};
const BUILD: Family = { name: 'vpmd_build', type: 'info', help: 'The vpmd agent and exporter versions' };
const COLLECTOR_SUCCESS: Family = {
  name: 'vpmd_scrape_collector_success',
  type: 'gauge',
  help: '1 when the collector answered for this scrape; 0 when its source failed (its metrics are missing)',
};
const SCRAPE_DURATION: Family = {
  name: 'vpmd_scrape_duration_seconds',
  type: 'gauge',
  unit: 'seconds',
  help: 'Time this scrape took to collect its metrics',
};

/** Adds plugin health to `w`; disabled plugins are left out. */
export function collectPlugins(w: ExpositionWriter, plugins: readonly PluginStatusEntry[]): void {
  w.family(PLUGIN_UP);
  w.family(PLUGIN_HEALTH);
  for (const p of plugins) {
    if (p.state === 'disabled') continue;
    const running = p.state === 'running';
    w.add(PLUGIN_UP, [['plugin', p.name]], running && p.health?.status !== 'failed' ? 1 : 0);
    if (running)
      w.add(
        PLUGIN_HEALTH,
        [
          ['plugin', p.name],
          ['status', p.health?.status ?? 'ok'],
        ],
        1,
      );
  }
}

/** Adds the guest channel counters to `w`. */
export function collectGuestChannels(w: ExpositionWriter, guests: GuestChannels): void {
  w.family(GUEST_REQUESTS);
  w.family(GUEST_CHANNELS);
  w.family(GUEST_CONNECTED);
  for (const s of guests.stats()) {
    const vm = ['domain_name', s.vm] as const;
    w.add(GUEST_CHANNELS, [vm], s.channels);
    w.add(GUEST_CONNECTED, [vm], s.connected);
    for (const outcome of ['accepted', 'clamped', 'limited', 'refused'] as const)
      w.add(GUEST_REQUESTS, [vm, ['outcome', outcome]], s[outcome]);
    // Optional in guest-channels@1: a provider that does not count them gets no series, not a false 0.
    for (const outcome of ['denied', 'coalesced', 'dropped'] as const) {
      const n = s[outcome];
      if (n !== undefined) w.add(GUEST_REQUESTS, [vm, ['outcome', outcome]], n);
    }
  }
}

/** Adds build info, the collectors' outcomes and the scrape's duration to `w` (last). */
export function collectScrape(
  w: ExpositionWriter,
  versions: { readonly agent: string; readonly exporter: string },
  outcomes: ReadonlyMap<string, boolean>,
  startedNs: bigint,
): void {
  w.family(BUILD);
  w.family(COLLECTOR_SUCCESS);
  w.family(SCRAPE_DURATION);
  w.add(
    BUILD,
    [
      ['version', versions.agent],
      ['exporter_version', versions.exporter],
    ],
    1,
  );
  for (const [name, ok] of outcomes) w.add(COLLECTOR_SUCCESS, [['collector', name]], ok ? 1 : 0);
  w.add(SCRAPE_DURATION, [], Number(process.hrtime.bigint() - startedNs) / 1e9);
}
