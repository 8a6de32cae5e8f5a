/**
 * The virtio-channels plugin's error codes (VMs, DPDK power channels, libvirt, scaling).
 * The plugin owns them: its manifest declares them (`errors`), and the kernel checks at load that
 * each starts with E_VC_ and that no other plugin claims them. Exit codes follow the category.
 */
import { defineErrors } from 'vpmd';

export const VIRTIO_CHANNELS_ERRORS = defineErrors('E_VC_', {
  E_VC_VM_NOT_FOUND: { category: 'not-found', summary: 'no such VM (not added, or unknown to libvirt)' },
  E_VC_VM_EXISTS: { category: 'conflict', summary: 'VM already added' },
  E_VC_CHANNEL: { category: 'invalid', summary: 'power channel number or list is invalid' },
  E_VC_CHANNEL_LIMIT: { category: 'invalid', summary: 'too many power channels for a VM or the host' },
  E_VC_BOUNDS: { category: 'invalid', summary: 'frequency bounds are invalid' },
  E_VC_PCPU: { category: 'invalid', summary: 'physical or virtual CPU number is out of range' },
  E_VC_LIBVIRT: { category: 'unavailable', summary: 'libvirt-dbus is unreachable or refused the call' },
  E_VC_SCALE: { category: 'unsupported', summary: 'the core cannot be scaled that way' },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    'virtio-channels': typeof VIRTIO_CHANNELS_ERRORS;
  }
}
