/**
 * The libvirt-caps plugin's error codes (host sleep, capabilities documents, suspend, wake).
 * The plugin owns them: its manifest declares them (`errors`), and the kernel checks at load that
 * each starts with E_LIBVIRT_CAPS_ and that no other plugin claims them. Exit codes follow the category.
 */
import { defineErrors } from 'vpmd';

export const LIBVIRT_CAPS_ERRORS = defineErrors('E_LIBVIRT_CAPS_', {
  // logind's failures are the core's host power codes now (E_HOST_POWER_*).
  E_LIBVIRT_CAPS_SLEEP_UNSUPPORTED: { category: 'unsupported', summary: 'the host does not support this sleep state' },
  E_LIBVIRT_CAPS_SUSPEND_BUSY: { category: 'conflict', summary: 'a suspend operation is already in progress' },
  E_LIBVIRT_CAPS_WAKE_TIME: { category: 'invalid', summary: 'wake time is in the past, too soon or malformed' },
  E_LIBVIRT_CAPS_WAKE_TARGET: {
    category: 'not-found',
    summary: 'wake target is neither a MAC address nor a known BMC',
  },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    'libvirt-caps': typeof LIBVIRT_CAPS_ERRORS;
  }
}
