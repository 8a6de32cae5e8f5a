/**
 * The built-in plugins, in the order they are offered to the kernel (the kernel reorders them by
 * their capabilities). This file is the composition root's list: nothing in core/ or plugins/
 * imports it.
 */
import type { PluginSource } from '../core/kernel/plugin-plan.js';
import libvirtCaps from '../plugins/libvirt-caps/index.js';
import ipmi from '../plugins/ipmi/index.js';
import redfish from '../plugins/redfish/index.js';
import virtioChannels from '../plugins/virtio-channels/index.js';
import snmp from '../plugins/snmp/index.js';
import libvirtDomains from '../plugins/libvirt-domains/index.js';
import energy from '../plugins/energy/index.js';
import power from '../plugins/power/index.js';
import profiles from '../plugins/profiles/index.js';
import prometheus from '../plugins/prometheus/index.js';

/** Built-in plugin manifests. */
export const BUILTIN_PLUGINS: readonly PluginSource[] = [
  { manifest: libvirtDomains, kind: 'built-in', origin: 'built-in' },
  { manifest: libvirtCaps, kind: 'built-in', origin: 'built-in' },
  { manifest: ipmi, kind: 'built-in', origin: 'built-in' },
  { manifest: redfish, kind: 'built-in', origin: 'built-in' },
  { manifest: virtioChannels, kind: 'built-in', origin: 'built-in' },
  { manifest: snmp, kind: 'built-in', origin: 'built-in' },
  { manifest: energy, kind: 'built-in', origin: 'built-in' },
  { manifest: power, kind: 'built-in', origin: 'built-in' },
  { manifest: profiles, kind: 'built-in', origin: 'built-in' },
  { manifest: prometheus, kind: 'built-in', origin: 'built-in' },
];
