import { describe, expect, it } from 'vitest';
import {
  ExpositionWriter,
  escapeLabelValue,
  formatValue,
  negotiate,
  type Family,
} from '../../../plugins/prometheus/exposition/families.js';

const counter: Family = { name: 'x_energy_joules', type: 'counter', unit: 'joules', help: 'energy "in" J\\n' };
const info: Family = { name: 'x_vm', type: 'info', help: 'metadata' };

describe('exposition writer', () => {
  it('writes OpenMetrics with TYPE, UNIT and HELP per family, suffixes and # EOF', () => {
    const w = new ExpositionWriter();
    w.family(counter);
    w.family(info);
    w.add(counter, [['vm', 'a']], 1.5);
    w.add(
      info,
      [
        ['vm', 'a'],
        ['name', 'w"1\n'],
      ],
      1,
    );
    w.add(counter, [['vm', 'b']], 2);
    expect(w.text('openmetrics')).toBe(
      [
        '# TYPE x_energy_joules counter',
        '# UNIT x_energy_joules joules',
        '# HELP x_energy_joules energy \\"in\\" J\\\\n',
        'x_energy_joules_total{vm="a"} 1.5',
        'x_energy_joules_total{vm="b"} 2',
        '# TYPE x_vm info',
        '# HELP x_vm metadata',
        'x_vm_info{vm="a",name="w\\"1\\n"} 1',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('writes the 0.0.4 text format with TYPE named after the sample and info as gauge', () => {
    const w = new ExpositionWriter();
    w.family(counter);
    w.family(info);
    w.add(counter, [], 3);
    w.add(info, [['vm', 'a']], 1);
    const text = w.text('text-0.0.4');
    expect(text).toContain('# HELP x_energy_joules_total energy "in" J\\\\n\n# TYPE x_energy_joules_total counter\n');
    expect(text).toContain('# TYPE x_vm_info gauge\nx_vm_info{vm="a"} 1\n');
    expect(text).not.toContain('# EOF');
    expect(text).not.toContain('# UNIT');
  });

  it('drops a second sample with the same labels and leaves out empty families', () => {
    const w = new ExpositionWriter();
    w.family(counter);
    w.family(info);
    expect(w.add(counter, [['vm', 'a']], 1)).toBe(true);
    expect(w.add(counter, [['vm', 'a']], 2)).toBe(false);
    expect(w.size()).toBe(1);
    expect(w.text('openmetrics')).not.toContain('x_vm');
  });

  it('escapes label values and spells special numbers', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect([NaN, Infinity, -Infinity, 0.25, 1e21].map(formatValue)).toEqual(['NaN', '+Inf', '-Inf', '0.25', '1e+21']);
  });
});

describe('content negotiation', () => {
  it("chooses OpenMetrics for Prometheus's Accept header and text otherwise", () => {
    expect(
      negotiate(
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      ),
    ).toBe('openmetrics');
    expect(negotiate(undefined)).toBe('text-0.0.4');
    expect(negotiate('*/*')).toBe('text-0.0.4');
    expect(negotiate('text/plain;version=0.0.4')).toBe('text-0.0.4');
    expect(negotiate('text/plain;q=0.9, application/openmetrics-text;q=0.5')).toBe('text-0.0.4');
    expect(negotiate('application/openmetrics-text; version=2.0.0')).toBe('text-0.0.4');
    expect(negotiate('application/openmetrics-text;q=0')).toBe('text-0.0.4');
  });
});

describe('per-VM collector', () => {
  it('exports a VM a provider lists twice once, keeping the samples unique', async () => {
    const { collectVmEnergy } = await import('../../../plugins/prometheus/collectors/vm-energy.js');
    const { StandInEnergy, standInVms } = await import('../../support/energy-stand-in.js');
    const [web] = standInVms();
    const w = new ExpositionWriter();
    collectVmEnergy(w, new StandInEnergy([web as never, web as never]));
    const text = w.text('text-0.0.4');
    expect(text.match(/^vpmd_vm_energy_joules_total\{/gm)).toHaveLength(2); // rapl and wall
    expect(text.match(/^vpmd_vm_info\{/gm)).toHaveLength(1);
  });
});
