import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfigText, formatProblems } from '../../../core/config/load-config.js';

describe('configuration file', () => {
  it('applies documented defaults to an empty file', () => {
    const p = parseConfigText('');
    expect(p.problems).toEqual([]);
    expect(p.config).toMatchObject({
      host: { root: '/', simulated: false },
      control: { socket: '/run/vpmd/control.sock' },
      management: { allow: ['127.0.0.0/8', '::1/128'] },
      libvirt: { bus: 'system', driver: 'QEMU' },
    });
  });

  it('reports every problem with its path and line', () => {
    const text = [
      'host:',
      '  rot: /srv/host',
      'management:',
      '  address: 10.0.0.300',
      '  allow: [10.0.0.0/24, bogus]',
      'libvirt:',
      '  bus: sesion',
    ].join('\n');
    const p = parseConfigText(text, 'vpmd.yaml');
    expect(formatProblems('vpmd.yaml', p.problems).split('\n')).toEqual([
      'vpmd.yaml:2: host.rot: unknown key (allowed: root, simulated, sampleInterval)',
      'vpmd.yaml:7: libvirt.bus: must be one of: system, session',
      "vpmd.yaml:4: management.address: '10.0.0.300' is not an IPv4 or IPv6 address",
      "vpmd.yaml:5: management.allow[1]: 'bogus' is not a CIDR (e.g. 10.0.0.0/24, fd00::/64)",
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    expect(parseConfigText('a: [1,\n').problems[0]?.message).toMatch(/^YAML: /);
    const dup = parseConfigText('control:\n  socket: /a\ncontrol:\n  socket: /b\n');
    expect(dup.problems[0]).toMatchObject({ line: 3 });
  });

  it('the shipped example documents a valid configuration', () => {
    const text = readFileSync(new URL('../../../config/vpmd.example.yaml', import.meta.url), 'utf8');
    expect(parseConfigText(text).problems).toEqual([]);
  });
});
