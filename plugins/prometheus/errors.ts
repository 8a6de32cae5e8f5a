/**
 * The prometheus plugin's error codes (listener, TLS, auth secrets, address). The plugin owns
 * them: its manifest declares them and the kernel checks the E_PROMETHEUS_ prefix at load.
 */
import { defineErrors } from 'vpmd';

export const PROMETHEUS_ERRORS = defineErrors('E_PROMETHEUS_', {
  E_PROMETHEUS_TLS: { category: 'unavailable', summary: 'the /metrics TLS certificate cannot be read or generated' },
  E_PROMETHEUS_LISTEN: { category: 'unavailable', summary: 'the /metrics listener cannot be opened' },
  E_PROMETHEUS_CONFIG: {
    category: 'invalid',
    summary: 'plugins.prometheus is inconsistent or a secret file is unusable',
  },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    prometheus: typeof PROMETHEUS_ERRORS;
  }
}
