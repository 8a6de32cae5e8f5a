/** The `plugins.snmp` config section. */
import { Type, Port, StringEnum, METRIC_KINDS, METRIC_UNITS, type Static } from 'vpmd';

const Auth = StringEnum(['sha224', 'sha256', 'sha384', 'sha512'] as const, {
  description: 'USM authentication protocol (HMAC-SHA-2)',
});
const Priv = StringEnum(['aes', 'aes256'] as const, {
  description: 'USM privacy protocol (AES-128 CFB or AES-256 CFB)',
});

/** A USM user with passphrases (agent users, notification and poller credentials). */
export const UsmUserSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 32 }),
    auth: Auth,
    priv: Priv,
    authPassphrase: Type.String({ minLength: 8, description: 'authentication passphrase (at least 8 characters)' }),
    privPassphrase: Type.String({ minLength: 8, description: 'privacy passphrase (at least 8 characters)' }),
  },
  { additionalProperties: false },
);

/** A dotted numeric OID subtree of a view (checked further when the view is compiled). */
const SubtreeOid = Type.String({
  pattern: '^\\.?\\d+(\\.\\d+)*$',
  description: 'a dotted numeric OID such as 1.3.6.1.2.1.1 (no MIB names)',
});
/** A MIB view, like snmpd's `view NAME included|excluded OID` lines (no masks). */
const View = Type.Object(
  {
    include: Type.Array(SubtreeOid, {
      minItems: 1,
      description: 'subtrees that are readable (snmpd: view NAME included OID)',
    }),
    exclude: Type.Array(SubtreeOid, {
      default: [],
      description: 'subtrees inside an included one that are hidden again (snmpd: view NAME excluded OID)',
    }),
  },
  {
    additionalProperties: false,
    description:
      'restricts reads (and SETs) to these subtrees; the longest matching subtree decides. Absent: the whole MIB',
  },
);

const Level = StringEnum(['authPriv', 'authNoPriv', 'noAuthNoPriv'] as const, {
  default: 'authPriv',
  description:
    "the user's security level; authNoPriv and noAuthNoPriv users are weaker, explicitly enabled, and always read-only",
});
const P = UsmUserSchema.properties;
/** A schema no string matches, whose description makes the error read "must be left out for ...". */
const absent = (level: string): object => ({ pattern: '^(?!)', description: `left out for a ${level} user` });
const AgentUser = Type.Object(
  {
    name: P.name,
    securityLevel: Level,
    auth: Type.Optional(P.auth),
    priv: Type.Optional(P.priv),
    authPassphrase: Type.Optional(P.authPassphrase),
    privPassphrase: Type.Optional(P.privPassphrase),
    access: StringEnum(['ro', 'rw'] as const, {
      default: 'ro',
      description: 'ro: GET only; rw: SET too (Operator; authPriv users only)',
    }),
    view: Type.Optional(View),
  },
  {
    additionalProperties: false,
    // Which keys a level needs: authPriv all four, authNoPriv the authentication pair, noAuthNoPriv none.
    allOf: [
      {
        if: { properties: { securityLevel: { const: 'authPriv' } } },
        then: { required: ['auth', 'priv', 'authPassphrase', 'privPassphrase'] },
      },
      {
        if: { properties: { securityLevel: { const: 'authNoPriv' } }, required: ['securityLevel'] },
        then: {
          required: ['auth', 'authPassphrase'],
          properties: { priv: absent('authNoPriv'), privPassphrase: absent('authNoPriv') },
        },
      },
      {
        if: { properties: { securityLevel: { const: 'noAuthNoPriv' } }, required: ['securityLevel'] },
        then: {
          properties: Object.fromEntries(
            ['auth', 'priv', 'authPassphrase', 'privPassphrase'].map((k) => [k, absent('noAuthNoPriv')]),
          ),
        },
      },
    ],
  },
);

const Community = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]*$',
      description: 'a name for logs and the audit trail (the community itself is never logged)',
    }),
    community: Type.Optional(
      Type.String({ minLength: 1, maxLength: 255, description: 'the community string (or communityFile)' }),
    ),
    communityFile: Type.Optional(
      Type.String({ minLength: 1, description: 'a file whose first line is the community (or community)' }),
    ),
    versions: Type.Array(StringEnum(['v1', 'v2c'] as const), {
      minItems: 1,
      uniqueItems: true,
      default: ['v2c'],
      description: 'protocol versions served to this community',
    }),
    sources: Type.Array(
      Type.String({ pattern: '^[0-9A-Fa-f:.]+(/\\d{1,3})?$', description: 'a CIDR (e.g. 10.0.0.0/24, fd00::/64)' }),
      {
        default: [],
        description: 'source CIDRs allowed to use it, inside management.allow (empty: all of management.allow)',
      },
    ),
    view: Type.Optional(View),
  },
  { additionalProperties: false },
);

const Manager = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    address: Type.String({ minLength: 1, description: 'manager host or IP address' }),
    port: Port({ default: 162 }),
    inform: Type.Boolean({ default: false, description: 'send acknowledged informs instead of traps' }),
    user: UsmUserSchema,
    engineId: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{10,64}$',
        description: "the manager's engine ID (informs only; discovered when absent)",
      }),
    ),
  },
  { additionalProperties: false },
);

const Target = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'target name (metric ids snmp/NAME/...)' }),
    address: Type.String({ minLength: 1 }),
    port: Port({ default: 161 }),
    user: UsmUserSchema,
    profile: StringEnum(['generic', 'apc-rpdu2', 'custom'] as const, { default: 'generic' }),
    outlets: Type.Integer({ minimum: 0, maximum: 96, default: 0, description: 'outlets to poll (apc-rpdu2)' }),
    oids: Type.Array(
      Type.Object(
        {
          oid: Type.String({ pattern: '^\\.?\\d+(\\.\\d+)+$' }),
          metric: Type.String({
            pattern: '^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$',
            description: 'metric id suffix under snmp/TARGET/',
          }),
          kind: StringEnum(METRIC_KINDS),
          unit: StringEnum(METRIC_UNITS),
          scale: Type.Number({ default: 1, description: 'multiplier from the raw value to the unit' }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'custom OID map (any profile)' },
    ),
    interval: Type.Number({ minimum: 1, maximum: 86400, default: 30, description: 'seconds between polls' }),
    timeout: Type.Number({ minimum: 0.1, maximum: 60, default: 2, description: 'seconds per request' }),
    retries: Type.Integer({ minimum: 0, maximum: 10, default: 1 }),
    maxBackoff: Type.Number({
      minimum: 1,
      maximum: 86400,
      default: 300,
      description: 'longest delay between polls of a failing target, seconds',
    }),
  },
  { additionalProperties: false },
);

/** Schema of `plugins.snmp`. */
export const SnmpConfigSchema = Type.Object(
  {
    port: Port({ default: 161, description: 'agent UDP port (on management.address)' }),
    mode: StringEnum(['agent', 'agentx', 'both'] as const, {
      default: 'agent',
      description:
        'agent: our own SNMPv3 agent; agentx: only a subagent of the system snmpd (its users and views apply); both',
    }),
    agentxSocket: Type.String({
      default: '/var/agentx/master',
      description: "the master's AgentX socket: a unix path or tcp:HOST:PORT",
    }),
    engineId: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{10,64}$',
        description: 'fixed engine ID (hex); generated and persisted when absent',
      }),
    ),
    minSecurityLevel: StringEnum(['authPriv', 'authNoPriv'] as const, {
      default: 'authPriv',
      description:
        'lowest level accepted from authPriv users (authNoPriv messages are read-only); weaker users and communities are separate',
    }),
    cacheSeconds: Type.Number({
      minimum: 0,
      maximum: 60,
      default: 1,
      description: 'how long one MIB snapshot serves requests',
    }),
    sysContact: Type.String({ default: '' }),
    sysLocation: Type.String({ default: '' }),
    users: Type.Array(AgentUser, { default: [] }),
    communities: Type.Array(Community, {
      default: [],
      description:
        'SNMPv1/v2c communities, read-only; none by default (SNMPv3 only). Exactly one of community or communityFile each',
    }),
    managers: Type.Array(Manager, { default: [], description: 'notification receivers' }),
    targets: Type.Array(Target, { default: [], description: 'PDUs and other SNMPv3 devices to poll' }),
  },
  { additionalProperties: false },
);

/** The validated section. */
export type SnmpConfig = Static<typeof SnmpConfigSchema>;
/** A poller target. */
export type TargetConfig = SnmpConfig['targets'][number];
/** An agent user as configured. */
export type AgentUserConfig = SnmpConfig['users'][number];
/** An SNMPv1/v2c community as configured. */
export type CommunityConfig = SnmpConfig['communities'][number];
/** A notification receiver. */
export type ManagerConfig = SnmpConfig['managers'][number];
