/** Persistent, atomically written, schema-versioned state (see {@link StateStore}). */
export {
  STATE_FILE_FORMAT,
  STATE_KEY_PATTERN,
  STATE_NAME_MAX_LENGTH,
  STATE_SCOPE_PATTERN,
  StateStore,
  type StateSpec,
} from './state-store.js';
export { isTempFileName, removeStaleTempFiles, writeFileAtomic } from './atomic-file.js';
