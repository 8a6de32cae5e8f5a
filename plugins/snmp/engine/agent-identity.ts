/**
 * The agent's persistent identity and its USM users. The engine ID is generated once (RFC 3411
 * format 5, under our enterprise number) and kept in the state store; engineBoots is incremented
 * and written on every start before the socket opens, so a restarted agent never reuses a
 * (boots, time) pair. Users come from config (passphrases) and from the state store, where
 * only keys localised to our engine ID are kept (like snmpd's usmUser lines), never passphrases.
 */
import { randomBytes } from 'node:crypto';
import { Type, VpmdError, type StateStore } from 'vpmd';
import { localizeKey, type AuthProtocol, type PrivProtocol } from '../codec/usm-crypto.js';
import type { AgentUser, KeyedUser, SecurityLevel } from './usm-engine.js';
import type { AgentUserConfig } from '../config.js';
import { checkUserInput, type ConfigUser } from './user-input.js';
import { authPrivUser, weakUser } from './weak-users.js';
import { MibView } from '../mib/mib-view.js';

/** vpmd's private enterprise number as used in the engine ID and VPMD-MIB (see docs/snmp.md). */
export const ENTERPRISE = 99999;

const Engine = Type.Object({
  engineId: Type.String({ pattern: '^[0-9a-f]{10,64}$' }),
  boots: Type.Integer({ minimum: 0 }),
});
const ENGINE_SPEC = { version: 1, schema: Engine } as const;

const StoredUser = Type.Object({
  name: Type.String(),
  auth: Type.Union([Type.Literal('sha224'), Type.Literal('sha256'), Type.Literal('sha384'), Type.Literal('sha512')]),
  priv: Type.Union([Type.Literal('aes'), Type.Literal('aes256')]),
  access: Type.Union([Type.Literal('ro'), Type.Literal('rw')]),
  engineId: Type.String(),
  authKey: Type.String(),
  privKey: Type.String(),
  created: Type.String(),
});
const USERS_SPEC = { version: 1, schema: Type.Object({ users: Type.Array(StoredUser) }) } as const;

/** A stored user as listed (no keys). */
export interface UserInfo {
  readonly name: string;
  /** Absent for a noAuthNoPriv user. */
  readonly auth?: AuthProtocol;
  /** Absent for authNoPriv and noAuthNoPriv users. */
  readonly priv?: PrivProtocol;
  readonly access: 'ro' | 'rw';
  readonly level: SecurityLevel;
  readonly source: 'config' | 'state';
  /** The configured view ('+OID' included, '-OID' excluded); absent: the whole MIB. */
  readonly view?: string;
}

/** Generates an RFC 3411 engine ID: 0x80 | enterprise, format 5 (octets), 12 random octets. */
export function generateEngineId(): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE((0x80000000 | ENTERPRISE) >>> 0, 0);
  head[4] = 5;
  return Buffer.concat([head, randomBytes(12)]);
}

/**
 * Loads (or creates) the engine ID and increments engineBoots, persisting both.
 * @throws VpmdError E_SNMP_CONFIG when a configured engine ID differs from the stored one's format.
 */
export async function bootEngine(state: StateStore, configured?: string): Promise<{ engineId: Buffer; boots: number }> {
  const saved = await state.read('engine', ENGINE_SPEC);
  const engineIdHex = configured?.toLowerCase() ?? saved?.engineId ?? generateEngineId().toString('hex');
  // A changed engine ID starts a new boot count (RFC 3414 2.2.2: boots belong to one engine ID).
  const boots = saved && saved.engineId === engineIdHex ? Math.min(saved.boots + 1, 2147483647) : 1;
  await state.write('engine', ENGINE_SPEC, { engineId: engineIdHex, boots });
  return { engineId: Buffer.from(engineIdHex, 'hex'), boots };
}

/** The agent's users: config users plus users stored with `vpmctl snmp user add`. */
export class UserStore {
  private users = new Map<string, AgentUser>();
  private info = new Map<string, UserInfo>();

  constructor(
    private readonly state: StateStore,
    private readonly engineId: Buffer,
    private readonly configUsers: readonly AgentUserConfig[],
    private readonly warn: (msg: string, name: string) => void,
  ) {}

  /** Loads config and stored users (keys localised, views compiled once here, not per request). @throws VpmdError E_SNMP_USER, E_SNMP_CONFIG (a bad view). */
  async load(): Promise<void> {
    const users = new Map<string, AgentUser>();
    const info = new Map<string, UserInfo>();
    for (const [i, c] of this.configUsers.entries()) {
      const u = weakUser(c, this.engineId) ?? this.localize(authPrivUser(c));
      // Compiled once here: the per-request check is then a binary search over a few ranges.
      const view = c.view ? MibView.compile(c.view, `plugins.snmp.users[${i}].view`) : undefined;
      users.set(u.name, view ? { ...u, view } : u);
      const keys = { ...('auth' in u ? { auth: u.auth } : {}), ...('priv' in u && u.priv ? { priv: u.priv } : {}) };
      info.set(u.name, {
        name: u.name,
        ...keys,
        access: u.access,
        level: u.level ?? 'authPriv',
        source: 'config',
        ...(view ? { view: view.summary } : {}),
      });
    }
    const stored = (await this.state.read('users', USERS_SPEC))?.users ?? [];
    const hex = this.engineId.toString('hex');
    for (const s of stored) {
      if (users.has(s.name)) continue; // config wins
      if (s.engineId !== hex) {
        this.warn('stored SNMP user has keys for another engine ID; add it again', s.name);
        continue;
      }
      users.set(s.name, {
        name: s.name,
        auth: s.auth,
        priv: s.priv,
        access: s.access,
        authKey: Buffer.from(s.authKey, 'hex'),
        privKey: Buffer.from(s.privKey, 'hex'),
      });
      info.set(s.name, {
        name: s.name,
        auth: s.auth,
        priv: s.priv,
        access: s.access,
        level: 'authPriv',
        source: 'state',
      });
    }
    this.users = users;
    this.info = info;
  }

  /** Users by name, for the engine. */
  byName(): ReadonlyMap<string, AgentUser> {
    return this.users;
  }

  /** Every user, without keys. */
  list(): UserInfo[] {
    return [...this.info.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Adds (or replaces) a stored user.
   * @throws VpmdError E_SNMP_USER for a bad name or passphrase, or a name taken by a config user.
   */
  async add(u: ConfigUser): Promise<UserInfo> {
    checkUserInput(u.name, u.authPassphrase, u.privPassphrase);
    if (this.info.get(u.name)?.source === 'config') {
      throw new VpmdError(
        'E_SNMP_USER',
        `SNMP user '${u.name}' is defined in the configuration file; change it there`,
        { name: u.name },
      );
    }
    const local = this.localize(u);
    await this.state.update('users', USERS_SPEC, (old) => ({
      users: [
        ...(old?.users ?? []).filter((x) => x.name !== u.name),
        {
          name: u.name,
          auth: u.auth,
          priv: u.priv,
          access: u.access,
          engineId: this.engineId.toString('hex'),
          authKey: local.authKey.toString('hex'),
          privKey: (local.privKey as Buffer).toString('hex'),
          created: new Date().toISOString(),
        },
      ],
    }));
    await this.load();
    return this.info.get(u.name) as UserInfo;
  }

  /** Deletes a stored user. @throws VpmdError E_SNMP_USER_UNKNOWN, E_SNMP_USER (config user). */
  async remove(name: string): Promise<void> {
    const i = this.info.get(name);
    if (!i)
      throw new VpmdError('E_SNMP_USER_UNKNOWN', `no SNMP user '${name}' (see 'vpmctl snmp user list')`, { name });
    if (i.source === 'config')
      throw new VpmdError('E_SNMP_USER', `SNMP user '${name}' is defined in the configuration file; remove it there`, {
        name,
      });
    await this.state.update('users', USERS_SPEC, (old) => ({
      users: (old?.users ?? []).filter((x) => x.name !== name),
    }));
    await this.load();
  }

  private localize(u: ConfigUser): KeyedUser {
    return {
      name: u.name,
      auth: u.auth,
      priv: u.priv,
      access: u.access,
      authKey: localizeKey(u.auth, u.authPassphrase, this.engineId),
      // The privacy key is localised with the authentication protocol's hash (RFC 3826 1.2).
      privKey: localizeKey(u.auth, u.privPassphrase, this.engineId),
    };
  }
}
