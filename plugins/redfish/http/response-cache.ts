/**
 * Finished GET replies of the resources every reader sees alike (the host, its processors, the
 * chassis and their telemetry), kept so that a management stack polling the same URIs does not
 * rebuild, serialize and hash the same body for every request. Authentication and privileges
 * are still checked per request: only the reply is shared.
 *
 * An entry is served while both hold:
 *  - nothing was changed in between: every write through Redfish and every event on the core
 *    bus (power, sleep, hardware log, plugin state, audit, telemetry status) starts a new
 *    generation, which retires every entry at once;
 *  - it is younger than `maxAgeMs`: the bound on how stale a value that changes without an event
 *    can be (a telemetry sample, a frequency a guest asked for, a limit set with vpmctl).
 */

/** A reply as the cache keeps it: never modified once stored. */
export interface CachedReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON text; a large one already encoded (see outcome.ts `jsonOutcome`). */
  readonly body?: string | Buffer;
}

/** When a reply started being built (see {@link ResponseCache.begin}). */
export interface CacheStamp {
  readonly generation: number;
  readonly at: number;
}

interface Entry extends CacheStamp {
  readonly reply: CachedReply;
}

/** Default number of URIs kept (the host's resources and sensors, with room to spare). */
export const RESPONSE_CACHE_ENTRIES = 1024;

/** Shared GET replies by path. */
export class ResponseCache {
  private generation = 0;
  private readonly entries = new Map<string, Entry>();

  /**
   * @param maxAgeMs how long a reply may be served at most; 0 disables the cache.
   * @param size how many paths are kept; the oldest entry goes first.
   */
  constructor(
    private readonly maxAgeMs: number,
    private readonly size = RESPONSE_CACHE_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether replies are cached at all. */
  get enabled(): boolean {
    return this.maxAgeMs > 0;
  }

  /** Something changed: no reply stored so far is served again. O(1); entries die when next looked up. */
  invalidate(): void {
    this.generation++;
  }

  /** The reply stored for `path`, if it is still current. */
  get(path: string): CachedReply | undefined {
    const e = this.entries.get(path);
    if (e === undefined) return undefined;
    if (e.generation !== this.generation || this.now() - e.at >= this.maxAgeMs) {
      this.entries.delete(path);
      return undefined;
    }
    return e.reply;
  }

  /** Marks the start of building a reply: pass the stamp to {@link put} once it is ready. */
  begin(): CacheStamp {
    return { generation: this.generation, at: this.now() };
  }

  /**
   * Stores the reply for `path`, built from data read after `since`: its age counts from then,
   * and a change that happened while it was being built makes it stale already.
   */
  put(path: string, reply: CachedReply, since: CacheStamp): void {
    if (!this.enabled || since.generation !== this.generation) return;
    this.entries.delete(path);
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(path, { ...since, reply });
  }
}
