/** The energy plugin's error codes. */
import { defineErrors } from 'vpmd';

export const ENERGY_ERRORS = defineErrors('E_ENERGY_', {
  E_ENERGY_VM_NOT_FOUND: { category: 'not-found', summary: 'no VM with that UUID or name has an energy account' },
  E_ENERGY_NO_RAPL: { category: 'unsupported', summary: 'the host has no readable RAPL energy counter' },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    energy: typeof ENERGY_ERRORS;
  }
}
