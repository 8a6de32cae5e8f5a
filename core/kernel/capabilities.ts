/**
 * Capabilities: the typed contracts through which plugins meet without importing each other.
 * A token pairs a versioned id (`host-sleep@1`) with the TypeScript type of its implementation;
 * tokens are defined in `core/contracts/`, implementations live in plugins or in the core. A
 * plugin may only provide what its manifest declares under `provides`, and only get what it
 * declares under `requires` or `optional`, so the kernel's ordering and checks are complete. The
 * core's own capabilities exist before any plugin starts, so every plugin may get them.
 */
import { VpmdError } from '../errors.js';

/** A typed capability id. The type parameter is carried for `provide`/`get` only. */
export interface CapabilityToken<T> {
  readonly id: string;
  /** Phantom field: never set, only ties the token to T. */
  readonly __type?: (value: T) => T;
}

/** The owner under which the core registers its own capabilities (`host-power@1`, `audit-log@1`). */
export const CORE_OWNER = 'core';

/** Capability ids look like `host-sleep@1`: a name and a major version. */
export const CAPABILITY_ID = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*@[1-9][0-9]*$/;

/** Declares a capability token. @throws E_INTERNAL on a malformed id. */
export function defineCapability<T>(id: string): CapabilityToken<T> {
  if (!CAPABILITY_ID.test(id)) throw new VpmdError('E_INTERNAL', `capability id '${id}' must look like name@1`);
  return Object.freeze({ id });
}

/** The agent-wide registry of provided capabilities. */
export class CapabilityRegistry {
  private readonly providers = new Map<string, { owner: string; impl: unknown }>();

  /** Records `impl` for `id` on behalf of `owner`. @throws E_CAPABILITY_DUPLICATE. */
  provide(owner: string, id: string, impl: unknown): void {
    const prev = this.providers.get(id);
    if (prev) {
      throw new VpmdError('E_CAPABILITY_DUPLICATE', `capability ${id} is already provided by ${prev.owner}`, {
        capability: id,
        owner: prev.owner,
      });
    }
    this.providers.set(id, { owner, impl });
  }

  /** The implementation of `id`, or undefined. */
  get(id: string): unknown {
    return this.providers.get(id)?.impl;
  }

  /** Which plugin provides `id`, if any. */
  providerOf(id: string): string | undefined {
    return this.providers.get(id)?.owner;
  }

  /** Ids provided by `owner`. */
  providedBy(owner: string): string[] {
    return [...this.providers].filter(([, p]) => p.owner === owner).map(([id]) => id);
  }

  /** Withdraws everything `owner` provided; returns how many. */
  removeOwner(owner: string): number {
    const ids = this.providedBy(owner);
    for (const id of ids) this.providers.delete(id);
    return ids.length;
  }
}

/** The capability registry as one plugin sees it, checked against its manifest. */
export interface ScopedCapabilities {
  /** Provides a declared capability. @throws E_CAPABILITY_UNDECLARED, E_CAPABILITY_DUPLICATE. */
  provide<T>(token: CapabilityToken<T>, impl: T): void;
  /** A required capability. @throws E_CAPABILITY_UNDECLARED, E_CAPABILITY_MISSING. */
  get<T>(token: CapabilityToken<T>): T;
  /** An optional capability, or undefined when no running plugin provides it. */
  find<T>(token: CapabilityToken<T>): T | undefined;
}

/** Creates the manifest-checked view of `registry` for one plugin. */
export function scopeCapabilities(
  registry: CapabilityRegistry,
  owner: string,
  declared: { provides: readonly string[]; requires: readonly string[]; optional: readonly string[] },
): ScopedCapabilities {
  const undeclared = (id: string, list: string): VpmdError =>
    new VpmdError(
      'E_CAPABILITY_UNDECLARED',
      `plugin ${owner}: capability ${id} is not listed in its manifest's ${list}`,
      {
        plugin: owner,
        capability: id,
      },
    );
  // The core's own capabilities are there before any plugin: no declaration orders anything.
  const usable = (id: string): boolean =>
    declared.requires.includes(id) || declared.optional.includes(id) || registry.providerOf(id) === CORE_OWNER;
  return {
    provide(token, impl) {
      if (!declared.provides.includes(token.id)) throw undeclared(token.id, 'provides');
      registry.provide(owner, token.id, impl);
    },
    get<T>(token: CapabilityToken<T>): T {
      if (!usable(token.id)) throw undeclared(token.id, 'requires');
      const impl = registry.get(token.id);
      if (impl === undefined) {
        throw new VpmdError('E_CAPABILITY_MISSING', `plugin ${owner}: no running plugin provides ${token.id}`, {
          plugin: owner,
          capability: token.id,
        });
      }
      return impl as T;
    },
    find<T>(token: CapabilityToken<T>): T | undefined {
      if (!usable(token.id)) throw undeclared(token.id, 'optional');
      return registry.get(token.id) as T | undefined;
    },
  };
}
