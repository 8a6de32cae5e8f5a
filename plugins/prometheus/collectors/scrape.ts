/**
 * One scrape: runs every collector against its source, each isolated (a source that throws
 * loses its own metrics and shows as `vpmd_scrape_collector_success{collector} 0`, the rest of
 * the scrape goes on), and serialises the result in the negotiated format.
 */
import type { EnergyAccounting, GuestChannels, MetricSnapshot, PluginStatusEntry } from 'vpmd';
import { ExpositionWriter, type ExpositionFormat } from '../exposition/families.js';
import { collectTelemetry } from './telemetry.js';
import { collectVmEnergy } from './vm-energy.js';
import { collectGuestChannels, collectPlugins, collectScrape } from './agent.js';

/** Where a scrape reads from; an absent optional capability is `undefined`. */
export interface ScrapeSources {
  readonly metrics: () => readonly MetricSnapshot[];
  readonly energy: () => EnergyAccounting | undefined;
  readonly guests: () => GuestChannels | undefined;
  readonly plugins: () => Promise<readonly PluginStatusEntry[]> | undefined;
  readonly versions: { readonly agent: string; readonly exporter: string };
  /** Called once per failing collector and scrape (the plugin logs it, rate-limited). */
  readonly onCollectorError: (collector: string, e: unknown) => void;
}

/** Collects everything and returns the exposition text in `format`. */
export async function scrape(src: ScrapeSources, format: ExpositionFormat): Promise<string> {
  return (await collect(src)).text(format);
}

/** Collects everything and returns the exposition in `format` as UTF-8 buffers, in order. */
export async function scrapeChunks(src: ScrapeSources, format: ExpositionFormat): Promise<Buffer[]> {
  return (await collect(src)).chunks(format);
}

async function collect(src: ScrapeSources): Promise<ExpositionWriter> {
  const started = process.hrtime.bigint();
  const w = new ExpositionWriter();
  const outcomes = new Map<string, boolean>();
  const run = async (name: string, fn: () => void | Promise<void>): Promise<void> => {
    try {
      await fn();
      outcomes.set(name, true);
    } catch (e) {
      outcomes.set(name, false);
      src.onCollectorError(name, e);
    }
  };
  await run('plugins', async () => {
    const list = src.plugins();
    if (list) collectPlugins(w, await list);
  });
  await run('telemetry', () => collectTelemetry(w, src.metrics()));
  const energy = src.energy();
  if (energy) await run('energy', () => collectVmEnergy(w, energy));
  const guests = src.guests();
  if (guests) await run('guest-channels', () => collectGuestChannels(w, guests));
  collectScrape(w, src.versions, outcomes, started);
  return w;
}
