/**
 * The agent's view of its MIB: a sorted array of instances built from the MIB sources, with
 * exact lookup by a map and GetNext by binary search. This replaces the npm package's tree,
 * which re-sorts a node's children on every GetNext (quadratic walks): here a walk of n OIDs
 * costs n log n, and the index is rebuilt at most once per cache period, not per request.
 */
import { compareOid, encVarbind, oidText, type SnmpValue } from '../codec/pdu.js';
import type { Principal } from 'vpmd';

/** How a writable instance takes a SET: `check` first for every varbind, then `commit`. */
export interface Writable {
  /** Returns an RFC 3416 error status (0 when the value is acceptable). */
  check(value: SnmpValue): number;
  /** Applies the value. Throwing gives commitFailed with the error logged. */
  commit(value: SnmpValue, by: Principal): Promise<void>;
}

/** One object instance. */
export interface MibEntry {
  readonly oid: readonly number[];
  readonly value: SnmpValue;
  readonly write?: Writable;
}

/** Something that contributes instances: a group, a table, a whole MIB module. */
export interface MibSource {
  /** Name for logs. */
  readonly name: string;
  /** The OIDs of the objects (scalars without `.0`, table columns) it defines, for noSuchInstance. */
  readonly objects: ReadonlyArray<readonly number[]>;
  /** Current instances, in any order. */
  entries(): readonly MibEntry[] | Promise<readonly MibEntry[]>;
}

/** An indexed entry; its encoded varbind is computed on first use and kept for the snapshot. */
export interface IndexedEntry extends MibEntry {
  varbind?: Buffer;
}

/** The encoded varbind of an entry (memoised: a walk encodes each instance once per snapshot). */
export function encodedVarbind(e: IndexedEntry): Buffer {
  e.varbind ??= encVarbind(e.oid, e.value);
  return e.varbind;
}

/** An immutable, sorted snapshot of the MIB. Lookups are binary searches: no per-OID strings. */
export class MibIndex {
  private readonly objects = new Set<string>();
  readonly entries: readonly IndexedEntry[];

  constructor(entries: readonly MibEntry[], objects: ReadonlyArray<readonly number[]>) {
    // Sources emit column by column in index order, so this sort mostly merges sorted runs.
    const list = [...entries].sort((a, b) => compareOid(a.oid, b.oid));
    const unique: IndexedEntry[] = [];
    let prev: MibEntry | undefined;
    for (const e of list) {
      if (prev && compareOid(prev.oid, e.oid) === 0) continue; // first source wins on a duplicate instance
      unique.push({ oid: e.oid, value: e.value, ...(e.write ? { write: e.write } : {}) });
      prev = e;
    }
    this.entries = unique;
    for (const o of objects) this.objects.add(oidText(o));
  }

  /** Number of instances. */
  get size(): number {
    return this.entries.length;
  }

  /** The instance at exactly `oid`. */
  get(oid: readonly number[]): IndexedEntry | undefined {
    const e = this.entries[this.position(oid)];
    return e && compareOid(e.oid, oid) === 0 ? e : undefined;
  }

  /** True when `oid` is an instance of a known object (so a miss is noSuchInstance, not noSuchObject). */
  isUnderObject(oid: readonly number[]): boolean {
    for (let n = oid.length - 1; n >= 1; n--) if (this.objects.has(oidText(oid.slice(0, n)))) return true;
    return false;
  }

  /** Position of the first instance at or after `oid` (size when there is none). */
  position(oid: readonly number[]): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareOid((this.entries[mid] as IndexedEntry).oid, oid) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first instance strictly after `oid`. */
  nextPosition(oid: readonly number[]): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareOid((this.entries[mid] as IndexedEntry).oid, oid) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first instance strictly after `oid`, or undefined at the end of the MIB view. */
  next(oid: readonly number[]): IndexedEntry | undefined {
    return this.entries[this.nextPosition(oid)];
  }
}

/**
 * Builds the index from the sources, cached for `cacheMs`: a walk sees one consistent snapshot
 * and the sources run once per period, whatever the request rate. Concurrent callers share a build.
 */
export class MibCache {
  private current: { index: MibIndex; at: number } | undefined;
  private building: Promise<MibIndex> | undefined;

  constructor(
    private readonly sources: () => readonly MibSource[],
    private readonly cacheMs: number,
    private readonly onSourceError: (source: string, error: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current snapshot, rebuilding it when older than the cache period. */
  async index(): Promise<MibIndex> {
    const c = this.current;
    if (c && this.now() - c.at < this.cacheMs) return c.index;
    this.building ??= this.build().finally(() => (this.building = undefined));
    return this.building;
  }

  /** Drops the snapshot (after a SET, so the next read sees the change). */
  invalidate(): void {
    this.current = undefined;
  }

  private async build(): Promise<MibIndex> {
    const sources = this.sources();
    const lists = await Promise.all(
      sources.map(async (s) => {
        try {
          return await s.entries();
        } catch (e) {
          // A failing source (a capability that went away) leaves its subtree empty, not the agent.
          this.onSourceError(s.name, e);
          return [];
        }
      }),
    );
    const index = new MibIndex(
      lists.flat(),
      sources.flatMap((s) => s.objects),
    );
    this.current = { index, at: this.now() };
    return index;
  }
}
