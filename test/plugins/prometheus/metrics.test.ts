/**
 * The exporter on a real agent: what /metrics carries (telemetry in base units, per-VM energy
 * from energy@1, guest channel counters from guest-channels@1, plugin health, scrape duration), that promtool's linter finds nothing in it,
 * the OpenMetrics form, and that a failing energy provider loses only its own metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../testkit/index.js';
import { StandInEnergy, energyStandInPlugin, standInVms } from '../../support/energy-stand-in.js';
import guestProviders, { GUEST_STATS } from '../snmp/contract-providers.js';
import { bootExporter, get, promtoolCheck, sampleValue, type Exporter } from './support.js';

const OM = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';
const WEB1 = '6f1c9a8e-27d4-4b0e-9d55-3a1c2b7e9f01';

describe('prometheus exporter', () => {
  let ex: Exporter;
  const energy = new StandInEnergy(standInVms());

  beforeAll(async () => {
    ex = await bootExporter({ extra: [energyStandInPlugin(energy), guestProviders] });
    // RAPL power needs two host samples: wait for the first power reading.
    await pollUntil({
      peer: 'vpmd',
      what: 'a RAPL power reading on /metrics',
      timeoutMs: 60_000,
      intervalMs: 100,
      probe: async () => {
        const r = await get(ex.url, { ca: ex.ca });
        return /^vpmd_power_watts\{source="core",target="host",sensor="[^"]*intel-rapl:0\/energy_uj"\} /m.test(r.body)
          ? r
          : undefined;
      },
    });
  }, 60_000);
  afterAll(async () => ex?.agent.stop());

  it('serves the 0.0.4 text format that promtool check metrics passes without a word', async () => {
    const r = await get(ex.url, { ca: ex.ca });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lint = await promtoolCheck(r.body);
    expect(lint).toEqual({ code: 0, output: '' });
  });

  it('carries per-VM energy and power by domain UUID, with source, model and Nova ids', async () => {
    const r = await get(ex.url, { ca: ex.ca });
    const id = `domain_uuid="${WEB1}",domain_name="web-1"`;
    const j1 = sampleValue(r.body, `vpmd_vm_energy_joules_total{${id},source="rapl",model="rapl-cputime-freq-v1"} `);
    expect(j1).toBeGreaterThanOrEqual(100);
    expect(sampleValue(r.body, `vpmd_vm_power_watts{${id},source="rapl",model="rapl-cputime-freq-v1"} `)).toBe(12);
    expect(
      sampleValue(r.body, `vpmd_vm_energy_joules_total{${id},source="wall",model="wall-scaled-v1"} `),
    ).toBeGreaterThan(0);
    expect(r.body).toContain(
      `vpmd_vm_info{${id},nova_instance_id="${WEB1}",nova_project_id="b2d0c1f4e5a6478990abcdef12345678"} 1\n`,
    );
    expect(r.body).toContain('domain_name="batch \\"x\\""');
    expect(r.body).toContain('vpmd_vm_running{domain_uuid="ffeeddcc-bbaa-4998-8776-655443322110"} 0\n');
    expect(r.body).toMatch(/^vpmd_zone_energy_joules_total\{zone="package-0",share="idle"\} /m);
    expect(r.body).toContain('vpmd_wall_divergence_watts{origin="ipmi:bmc1/dcmi"} 42\n');
    // The counter grows between scrapes.
    await pollUntil({
      peer: 'vpmd',
      what: 'web-1 energy to grow',
      timeoutMs: 10_000,
      intervalMs: 50,
      probe: async () => {
        const b = (await get(ex.url, { ca: ex.ca })).body;
        const j2 = sampleValue(b, `vpmd_vm_energy_joules_total{${id},source="rapl",model="rapl-cputime-freq-v1"} `);
        return j2 !== undefined && j1 !== undefined && j2 > j1 ? true : undefined;
      },
    });
  });

  it('maps telemetry to base-unit families labelled source, target and sensor', async () => {
    const body = (await get(ex.url, { ca: ex.ca })).body;
    expect(body).toMatch(/^vpmd_energy_joules_total\{source="core",target="host",sensor="[^"]+"\} [0-9.e+]+$/m);
    expect(body).toMatch(/^vpmd_frequency_hertz\{source="core",target="host",sensor="[^"]+"\} [1-9][0-9]{8,}$/m);
    expect(body).toMatch(/^vpmd_temperature_celsius\{source="core",target="host",sensor="[^"]+"\} /m);
    expect(body).toMatch(/^vpmd_sensor_status\{source="core",target="host",sensor="[^"]+",status="ok"\} 1$/m);
    expect(body).toContain('vpmd_plugin_up{plugin="prometheus"} 1\n');
    expect(body).toContain('vpmd_plugin_up{plugin="energy-stand-in"} 1\n');
    expect(body).toContain('vpmd_scrape_collector_success{collector="energy"} 1\n');
    expect(sampleValue(body, 'vpmd_scrape_duration_seconds ')).toBeGreaterThan(0);
  });

  it('carries guest channel request counters by VM and outcome, denied, coalesced and dropped included', async () => {
    const body = (await get(ex.url, { ca: ex.ca })).body;
    const requests = (vm: string, outcome: string): number | undefined =>
      sampleValue(body, `vpmd_guest_channel_requests_total{domain_name="${vm}",outcome="${outcome}"} `);
    for (const s of GUEST_STATS) {
      expect(['accepted', 'clamped', 'limited', 'refused'].map((o) => requests(s.vm, o))).toEqual([
        s.accepted,
        s.clamped,
        s.limited,
        s.refused,
      ]);
      expect(sampleValue(body, `vpmd_guest_channels{domain_name="${s.vm}"} `)).toBe(s.channels);
    }
    // dpdk-1 counts 3 denied of its 7 refused; web-2's provider does not count denials: no series.
    expect(requests('dpdk-1', 'denied')).toBe(3);
    expect(requests('dpdk-1', 'coalesced')).toBe(900);
    expect(requests('dpdk-1', 'dropped')).toBe(2);
    for (const optional of ['denied', 'coalesced', 'dropped'])
      expect(body).not.toContain(`vpmd_guest_channel_requests_total{domain_name="web-2",outcome="${optional}"}`);
    expect(body).toContain('# TYPE vpmd_guest_channel_requests_total counter\n');
    expect(body).toContain('vpmd_scrape_collector_success{collector="guest-channels"} 1\n');
  });

  it('serves OpenMetrics to a client that asks for it, ending in # EOF', async () => {
    const r = await get(ex.url, { ca: ex.ca, headers: { Accept: OM } });
    expect(r.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(r.body.endsWith('# EOF\n')).toBe(true);
    expect(r.body).toContain('# TYPE vpmd_vm_energy_joules counter\n# UNIT vpmd_vm_energy_joules joules\n');
    expect(r.body).toContain('# TYPE vpmd_vm info\n');
  });

  it('answers HEAD, refuses other methods and paths', async () => {
    expect((await get(ex.url, { ca: ex.ca, method: 'HEAD' })).status).toBe(200);
    const post = await get(ex.url, { ca: ex.ca, method: 'POST' });
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD']);
    expect((await get(ex.url.replace('/metrics', '/'), { ca: ex.ca })).status).toBe(404);
  });

  it('keeps serving when the energy provider throws, with that collector marked failed', async () => {
    energy.failing = true;
    try {
      const r = await get(ex.url, { ca: ex.ca });
      expect(r.status).toBe(200);
      expect(r.body).toContain('vpmd_scrape_collector_success{collector="energy"} 0\n');
      expect(r.body).toMatch(/^vpmd_power_watts\{/m);
      expect((await promtoolCheck(r.body)).code).toBe(0);
    } finally {
      energy.failing = false;
    }
  });
});
