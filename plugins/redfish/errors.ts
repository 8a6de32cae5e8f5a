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
  E_REDFISH_CONFIG: { category: 'invalid', summary: 'Redfish BMC target configuration is invalid' },
  E_REDFISH_TARGET: { category: 'not-found', summary: 'no such Redfish BMC target' },
  E_REDFISH_BMC_UNREACHABLE: {
    category: 'unavailable',
    summary: 'Redfish BMC did not answer (timeout, refused, TLS, 5xx)',
  },
  E_REDFISH_BMC_AUTH: { category: 'denied', summary: 'Redfish BMC rejected the login or the request (401/403)' },
  E_REDFISH_BMC_NOT_FOUND: { category: 'not-found', summary: 'Redfish BMC has no such resource (404)' },
  E_REDFISH_BMC_REFUSED: { category: 'invalid', summary: 'Redfish BMC refused the request (4xx)' },
  E_REDFISH_BMC_REPLY: { category: 'unavailable', summary: 'Redfish BMC answered with malformed JSON' },
  E_REDFISH_BMC_UNSUPPORTED: {
    category: 'unsupported',
    summary: 'Redfish BMC does not offer this (action, value or resource)',
  },
  // Power-off and reboot failures are the core's host power codes now (E_HOST_POWER_*).
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    redfish: typeof REDFISH_ERRORS;
  }
}
