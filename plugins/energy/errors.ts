/** The energy plugin's error codes (E_VM_ENERGY_: E_ENERGY_ would overlap the example plugin energy-report's). */
import { defineErrors } from 'vpmd';

export const ENERGY_ERRORS = defineErrors('E_VM_ENERGY_', {
  E_VM_ENERGY_NOT_FOUND: { category: 'not-found', summary: 'no VM with that UUID or name has an energy account' },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    energy: typeof ENERGY_ERRORS;
  }
}
