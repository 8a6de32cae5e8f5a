/**
 * The redfish plugin's error codes (listener, TLS, accounts, host power actions).
 * The plugin owns them: its manifest declares them (`errors`), and the kernel checks at load that
 * each starts with E_REDFISH_ and that no other plugin claims them. Exit codes follow the category.
 */
import { defineErrors } from 'vpmd';

export const REDFISH_ERRORS = defineErrors('E_REDFISH_', {
  E_REDFISH_TLS: { category: 'unavailable', summary: 'Redfish TLS certificate cannot be read or generated' },
  E_REDFISH_LISTEN: { category: 'unavailable', summary: 'Redfish HTTPS listener cannot be opened' },
  E_REDFISH_ACCOUNT_EXISTS: { category: 'conflict', summary: 'a Redfish account with this user name exists' },
  E_REDFISH_ACCOUNT_UNKNOWN: { category: 'not-found', summary: 'no such Redfish account' },
  E_REDFISH_PASSWORD: { category: 'invalid', summary: 'Redfish password does not meet the password policy' },
  // Power-off and reboot failures are the core's host power codes now (E_HOST_POWER_*).
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    redfish: typeof REDFISH_ERRORS;
  }
}
