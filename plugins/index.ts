/**
 * The built-in plugins, in the order they are offered to the kernel (the kernel reorders them by
 * their capabilities). This file is the composition root's list: plugins never import it or
 * each other. Each plugin's issue adds its manifest here when the plugin exists.
 */
import type { PluginSource } from '../core/kernel/plugin-plan.js';
import libvirtCaps from './libvirt-caps/index.js';
import ipmi from './ipmi/index.js';
import redfish from './redfish/index.js';
import virtioChannels from './virtio-channels/index.js';
import snmp from './snmp/index.js';

/** Built-in plugin manifests. */
export const BUILTIN_PLUGINS: readonly PluginSource[] = [{ manifest: libvirtCaps, origin: 'builtin' }, { manifest: ipmi, origin: 'builtin' }, { manifest: redfish, origin: 'builtin' }, { manifest: virtioChannels, origin: 'builtin' }, { manifest: snmp, origin: 'builtin' }];
