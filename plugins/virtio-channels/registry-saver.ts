/**
 * Saving the plugin's registry (what survives a restart) through the state store, which writes
 * atomically. Saves are serialised and coalesced: one asked for while another waits to start
 * joins it, and the data is taken when the write starts, so a burst (a guest touching eight
 * policies at once) costs two writes.
 */
import type { Logger, StateStore } from 'vpmd';
import { REGISTRY_SPEC, type RegistryState } from './vm-registry.js';

/** Serialised, coalesced saves of the registry. */
export class RegistrySaver {
  private saving: Promise<void> = Promise.resolve();
  /** The save waiting for the one in progress, which later requests join. */
  private queuedSave: Promise<void> | undefined;

  constructor(
    private readonly state: StateStore,
    private readonly log: Logger,
    /** The registry as it is now, read when a write starts. */
    private readonly snapshot: () => RegistryState,
  ) {}

  /** Schedules a save; resolves once the data taken after this call is written (never rejects). */
  save(): Promise<void> {
    if (this.queuedSave) return this.queuedSave;
    const save = this.saving
      .then(() => {
        this.queuedSave = undefined;
        return this.state.write('registry', REGISTRY_SPEC, this.snapshot());
      })
      .catch((e: unknown) => {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'cannot save virtio-channels state');
      });
    this.queuedSave = save;
    this.saving = save;
    return save;
  }

  /** Resolves when every save asked for so far has finished. */
  settled(): Promise<void> {
    return this.saving;
  }
}
