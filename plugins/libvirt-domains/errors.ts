/** The libvirt-domains plugin's error codes. */
import { defineErrors } from 'vpmd';

export const LIBVIRT_DOMAINS_ERRORS = defineErrors('E_LIBVIRT_DOMAINS_', {
  E_LIBVIRT_DOMAINS_UNREACHABLE: { category: 'unavailable', summary: 'libvirt-dbus is unreachable or did not answer' },
  E_LIBVIRT_DOMAINS_CALL: { category: 'unavailable', summary: 'libvirt-dbus refused a call' },
  E_LIBVIRT_DOMAINS_NOT_FOUND: { category: 'not-found', summary: 'no such running domain' },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    'libvirt-domains': typeof LIBVIRT_DOMAINS_ERRORS;
  }
}
