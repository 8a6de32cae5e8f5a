/**
 * The profiles plugin's error codes. Declared in its manifest (`errors`); the kernel checks the
 * prefix and that no other plugin claims them. Exit codes follow the category.
 */
import { defineErrors } from 'vpmd';

export const PROFILES_ERRORS = defineErrors('E_PROFILES_', {
  E_PROFILES_INVALID: {
    category: 'invalid',
    summary: 'a profile, pool or schedule does not fit this host (the message names the allowed range)',
  },
  E_PROFILES_NOT_FOUND: { category: 'not-found', summary: 'no such profile or pool' },
  E_PROFILES_OVERLAP: { category: 'conflict', summary: 'two pools claim the same CPU' },
});

declare module 'vpmd' {
  interface PluginErrorRegistry {
    profiles: typeof PROFILES_ERRORS;
  }
}
