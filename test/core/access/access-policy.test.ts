import { describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../../core/access/access-policy.js';
import { parseCidr, resolveBindAddress } from '../../../core/access/address-list.js';
import { ROLE_PRIVILEGES, roleHas } from '../../../core/access/privileges.js';

describe('management allow-list', () => {
  const p = new AccessPolicy({ address: '10.0.0.5', allow: ['10.0.0.0/24', 'fd00::/64'] });
  it('allows addresses inside the CIDRs, including IPv4-mapped IPv6 peers', () => {
    expect(p.isAddressAllowed('10.0.0.77')).toBe(true);
    expect(p.isAddressAllowed('::ffff:10.0.0.77')).toBe(true);
    expect(p.isAddressAllowed('fd00::1234')).toBe(true);
  });
  it('refuses everything else with a message naming the address', () => {
    expect(p.isAddressAllowed('10.0.1.1')).toBe(false);
    expect(p.isAddressAllowed('127.0.0.1')).toBe(false);
    expect(p.isAddressAllowed(undefined)).toBe(false);
    expect(() => p.checkAddress('192.0.2.1', 'redfish')).toThrow(
      'redfish: connection from 192.0.2.1 refused (not in management.allow)',
    );
  });
  it('rejects malformed CIDRs', () => {
    expect(parseCidr('10.0.0.0/33')).toBeNull();
    expect(parseCidr('10.0.0/8')).toBeNull();
    expect(parseCidr('fd00::/129')).toBeNull();
    expect(parseCidr('10.1.2.3')).toEqual({ address: '10.1.2.3', prefix: 32, family: 'ipv4' });
    expect(() => new AccessPolicy({ allow: ['nope'] })).toThrow("management.allow[0]: 'nope' is not a CIDR");
  });
});

describe('management bind address', () => {
  const ifs = {
    lo: [
      {
        address: '127.0.0.1',
        family: 'IPv4',
        netmask: '255.0.0.0',
        mac: '00:00:00:00:00:00',
        internal: true,
        cidr: '127.0.0.1/8',
      },
    ],
    mgmt0: [
      {
        address: 'fe80::1',
        family: 'IPv6',
        netmask: 'ffff:ffff:ffff:ffff::',
        mac: '52:54:00:00:00:01',
        internal: false,
        cidr: 'fe80::1/64',
        scopeid: 2,
      },
      {
        address: '10.0.0.5',
        family: 'IPv4',
        netmask: '255.255.255.0',
        mac: '52:54:00:00:00:01',
        internal: false,
        cidr: '10.0.0.5/24',
      },
    ],
  } as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
  it('resolves an interface name to its IPv4 address', () => {
    expect(resolveBindAddress({ interface: 'mgmt0' }, ifs)).toBe('10.0.0.5');
  });
  it('refuses to guess when nothing is configured, and names a missing interface', () => {
    expect(() => resolveBindAddress({}, ifs)).toThrow(/listeners never bind to all interfaces/);
    expect(() => resolveBindAddress({ interface: 'eth9' }, ifs)).toThrow(
      "management.interface: no interface 'eth9' (this host has: lo, mgmt0)",
    );
  });
});

describe('roles', () => {
  it('grant the DMTF privileges and cannot be changed', () => {
    expect(roleHas('Operator', 'ConfigureComponents')).toBe(true);
    expect(roleHas('Operator', 'ConfigureUsers')).toBe(false);
    expect(roleHas('ReadOnly', 'ConfigureSelf')).toBe(true);
    expect(() => (ROLE_PRIVILEGES.ReadOnly as string[]).push('ConfigureManager')).toThrow();
  });
});
