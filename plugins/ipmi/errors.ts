/**
 * The ipmi plugin's error codes (RMCP+ sessions, BMC commands, targets).
 * The plugin owns them: its manifest declares them (`errors`), and the kernel checks at load that
 * each starts with E_IPMI_ and that no other plugin claims them. Exit codes follow the category.
 */
import { defineErrors } from 'vpmd';

export const IPMI_ERRORS = defineErrors('E_IPMI_', {
  E_IPMI_AUTH: { category: 'denied', summary: 'BMC rejected the login (user, password or KG)' },
  E_IPMI_CIPHER: {
    category: 'unsupported',
    summary: 'no cipher suite at or above the configured floor is offered by the BMC',
  },
  E_IPMI_SESSION: {
    category: 'unavailable',
    summary: 'BMC cannot open or keep an IPMI session (out of sessions, closed, restarted)',
  },
  E_IPMI_PROTOCOL: { category: 'unavailable', summary: 'BMC answered with a malformed or unexpected packet' },
  E_IPMI_COMMAND: { category: 'unavailable', summary: 'BMC answered an IPMI command with an error completion code' },
  E_IPMI_TIMEOUT: { category: 'timeout', summary: 'BMC did not answer within the retransmit bound' },
  E_IPMI_TARGET: { category: 'not-found', summary: 'no such IPMI target' },
  E_IPMI_CONFIG: { category: 'invalid', summary: 'IPMI target configuration is invalid' },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    ipmi: typeof IPMI_ERRORS;
  }
}
