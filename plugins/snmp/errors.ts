/**
 * The snmp plugin's error codes (agent, users, poller targets, PDU outlets).
 * The plugin owns them: its manifest declares them (`errors`), and the kernel checks at load that
 * each starts with E_SNMP_ and that no other plugin claims them. Exit codes follow the category.
 */
import { defineErrors } from 'vpmd';

export const SNMP_ERRORS = defineErrors('E_SNMP_', {
  E_SNMP_CONFIG: { category: 'invalid', summary: 'SNMP configuration is invalid' },
  E_SNMP_LISTEN: { category: 'unavailable', summary: 'SNMP agent UDP port cannot be opened' },
  E_SNMP_USER: { category: 'invalid', summary: 'SNMP user name or passphrase is invalid' },
  E_SNMP_USER_UNKNOWN: { category: 'not-found', summary: 'no such SNMP user' },
  E_SNMP_TARGET_UNKNOWN: { category: 'not-found', summary: 'no such SNMP poller target' },
  E_SNMP_REQUEST: { category: 'unavailable', summary: 'SNMP request to a device failed' },
  E_SNMP_TIMEOUT: { category: 'timeout', summary: 'SNMP device did not answer in time' },
  E_SNMP_OUTLET: { category: 'invalid', summary: 'outlet number or action is invalid for this target' },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    snmp: typeof SNMP_ERRORS;
  }
}
