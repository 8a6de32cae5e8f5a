/**
 * The raise denials of `cpu-limits@1` ({@link RaiseDenial}): by domain UUID and owner, in memory,
 * with an index by name so that a guest channel, which knows its VM by name, finds a denial in
 * one map lookup on its request path.
 */
import { VpmdError } from '../errors.js';
import type { RaiseDenial } from '../contracts/cpu-limits.js';

const OWNER = /^[a-z0-9][a-z0-9._-]*(:[A-Za-z0-9._@-]+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Denials by UUID, then owner. */
export class RaiseDenials {
  private readonly byUuid = new Map<string, Map<string, RaiseDenial>>();
  /** The oldest denial of each denied domain, by UUID and by name (rebuilt on each change). */
  private readonly index = new Map<string, RaiseDenial>();

  constructor(private readonly now: () => number) {}

  /** @throws E_CPU_LIMITS_INVALID */
  deny(owner: string, domain: { readonly uuid: string; readonly name: string }, reason: string): void {
    const uuid = domain.uuid.toLowerCase();
    if (!OWNER.test(owner))
      throw new VpmdError('E_CPU_LIMITS_INVALID', `denial owner '${owner}' must look like plugin:what`, { owner });
    if (!UUID.test(uuid))
      throw new VpmdError('E_CPU_LIMITS_INVALID', `${owner}: '${domain.uuid}' is not a domain UUID`, { owner });
    if (reason.trim() === '')
      throw new VpmdError('E_CPU_LIMITS_INVALID', `${owner}: a denial needs a reason (guests are told it)`, { owner });
    let byOwner = this.byUuid.get(uuid);
    if (byOwner === undefined) this.byUuid.set(uuid, (byOwner = new Map<string, RaiseDenial>()));
    const prev = byOwner.get(owner);
    byOwner.set(owner, { owner, uuid, name: domain.name, reason, since: prev?.since ?? this.now() });
    this.reindex();
  }

  lift(owner: string, uuid?: string): void {
    for (const [key, byOwner] of this.byUuid) {
      if (uuid !== undefined && key !== uuid.toLowerCase()) continue;
      byOwner.delete(owner);
      if (byOwner.size === 0) this.byUuid.delete(key);
    }
    this.reindex();
  }

  find(uuidOrName: string): RaiseDenial | undefined {
    // The usual case on a guest's request path: nothing denied, nothing to build.
    if (this.index.size === 0) return undefined;
    return this.index.get(uuidOrName.toLowerCase()) ?? this.index.get(`name:${uuidOrName}`);
  }

  all(): readonly RaiseDenial[] {
    return [...this.byUuid.values()].flatMap((m) => [...m.values()]).sort((a, b) => a.since - b.since);
  }

  private reindex(): void {
    this.index.clear();
    for (const byOwner of this.byUuid.values()) {
      let oldest: RaiseDenial | undefined;
      for (const d of byOwner.values()) if (oldest === undefined || d.since < oldest.since) oldest = d;
      if (oldest === undefined) continue;
      this.index.set(oldest.uuid, oldest);
      this.index.set(`name:${oldest.name}`, oldest);
    }
  }
}
