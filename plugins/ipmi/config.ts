/**
 * The `plugins.ipmi` configuration section and its resolution into session targets (secrets
 * read from files, cross-field checks). Errors name the target and the field.
 */
import { Port, StringEnum, Type, VpmdError, describeSecretProblem, readSecretLine, type Static } from 'vpmd';
import type { SessionTarget } from './session/session.js';

const TargetSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
      description: 'target name, used in commands and as telemetry target',
    }),
    host: Type.String({ minLength: 1, description: 'BMC address on the management network' }),
    port: Type.Optional(Port({ description: 'RMCP+ UDP port (default 623)' })),
    username: Type.String({ minLength: 1, maxLength: 16, description: 'IPMI user name (at most 16 bytes)' }),
    password: Type.Optional(
      Type.String({ minLength: 1, maxLength: 20, description: 'IPMI password; prefer passwordFile' }),
    ),
    passwordFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'file holding the password (first line); must not be readable by others',
      }),
    ),
    kgFile: Type.Optional(
      Type.String({ minLength: 1, description: 'file holding the BMC key KG in hex (when the BMC has one)' }),
    ),
    privilege: Type.Optional(
      StringEnum(['user', 'operator', 'administrator'], {
        description: "session privilege: 'user' reads only; chassis control needs 'operator' (default)",
      }),
    ),
    cipherFloor: Type.Optional(
      StringEnum(['confidentiality', 'integrity', 'none'], {
        description:
          "weakest cipher suite accepted: 'confidentiality' (default: suites 17, 3), 'integrity' (adds 16, 2), 'none' (plain text)",
      }),
    ),
    cipherSuite: Type.Optional(
      Type.Union(
        [
          Type.Literal(0),
          Type.Literal(1),
          Type.Literal(2),
          Type.Literal(3),
          Type.Literal(15),
          Type.Literal(16),
          Type.Literal(17),
        ],
        { description: 'pin one cipher suite instead of negotiating' },
      ),
    ),
    interval: Type.Optional(
      Type.Number({ minimum: 1, maximum: 86400, description: 'seconds between polls (default: the section interval)' }),
    ),
    hostBmc: Type.Optional(
      Type.Boolean({
        description:
          'this is the BMC of the host vpmd runs on: the Redfish service acts through it (identify LED, PowerCycle/ForceOn, boot override, SEL); at most one target',
      }),
    ),
  },
  { additionalProperties: false },
);

/** The plugin's config schema. */
export const IpmiConfigSchema = Type.Object(
  {
    targets: Type.Array(TargetSchema, { default: [], maxItems: 10000, description: 'BMCs to poll' }),
    interval: Type.Number({
      minimum: 1,
      maximum: 86400,
      default: 30,
      description: 'default seconds between polls of a target',
    }),
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 64,
      description: 'targets polled at the same time',
    }),
    timeout: Type.Number({
      minimum: 0.05,
      maximum: 30,
      default: 1,
      description: 'seconds to wait for an answer before retransmitting',
    }),
    retries: Type.Integer({
      minimum: 0,
      maximum: 10,
      default: 2,
      description: 'retransmissions of a request at least (more while requestBudget allows)',
    }),
    requestBudget: Type.Number({
      minimum: 0,
      maximum: 300,
      default: 10,
      description:
        'seconds a request keeps being retransmitted (waits growing 1.5x from timeout to 2x timeout) before it is lost; capped at the poll interval',
    }),
    keepalive: Type.Number({
      minimum: 5,
      maximum: 3600,
      default: 25,
      description: 'seconds of idleness after which a session is kept alive',
    }),
    backoffMin: Type.Number({
      minimum: 0.1,
      maximum: 3600,
      default: 5,
      description: 'seconds before the first retry of a failing target',
    }),
    backoffMax: Type.Number({
      minimum: 1,
      maximum: 86400,
      default: 300,
      description: 'longest wait between retries of a failing target',
    }),
    sel: Type.Boolean({ default: true, description: 'turn new SEL entries into hw.log.v1 events' }),
    sdrCheck: Type.Number({
      minimum: 0,
      maximum: 86400,
      default: 60,
      description: 'seconds between checks of the SDR repository timestamps (0: every poll)',
    }),
    chassisInterval: Type.Number({
      minimum: 0,
      maximum: 86400,
      default: 0,
      description: 'seconds between chassis power reads (0: every poll)',
    }),
    chassis: Type.Boolean({
      default: true,
      description:
        'read chassis power with the polls; false leaves it to the ipmi chassis commands (power stays unknown until one runs)',
    }),
    maxInFlight: Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 256,
      description: 'requests outstanding on the UDP socket at once, all targets together',
    }),
  },
  { additionalProperties: false },
);

/** The validated section. */
export type IpmiConfig = Static<typeof IpmiConfigSchema>;
/** One configured target. */
export type TargetConfig = Static<typeof TargetSchema>;

/** A target ready to poll. */
export interface ResolvedTarget extends SessionTarget {
  readonly intervalMs: number;
  /** Marked as the BMC of the host vpmd runs on. */
  readonly hostBmc?: boolean;
}

function configError(target: string, field: string, problem: string): VpmdError {
  return new VpmdError('E_IPMI_CONFIG', `plugins.ipmi.targets[${target}].${field}: ${problem}`, {
    target,
    field,
    problem,
  });
}

/** One cross-field problem: the target (by index and name), the field and what is wrong. */
interface TargetProblem {
  readonly index: number;
  readonly target: string;
  readonly field: string;
  readonly problem: string;
}

/** Every cross-field problem of the section, in file order (no I/O). */
function targetProblems(cfg: IpmiConfig): TargetProblem[] {
  const problems: TargetProblem[] = [];
  const names = new Map<string, string>();
  const addresses = new Map<string, string>();
  let hostBmc: string | undefined;
  cfg.targets.forEach((t, index) => {
    const add = (field: string, problem: string): void => void problems.push({ index, target: t.name, field, problem });
    if (t.hostBmc === true) {
      if (hostBmc !== undefined)
        add('hostBmc', `target ${hostBmc} is already marked as this host's BMC; a host has one BMC: mark only one`);
      else hostBmc = t.name;
    }
    const sameName = names.get(t.name);
    if (sameName !== undefined) add('name', 'another target has the same name');
    else names.set(t.name, t.name);
    const addr = `${t.host}:${t.port ?? 623}`;
    const other = addresses.get(addr);
    if (other !== undefined)
      add('host', `another target polls the same BMC ${addr} (${other}); give each BMC one target`);
    else addresses.set(addr, t.name);
    if ((t.password === undefined) === (t.passwordFile === undefined))
      add('password', 'give exactly one of password and passwordFile');
    const floor = t.cipherFloor ?? 'confidentiality';
    if (t.cipherSuite !== undefined && floor !== 'none') {
      const weak =
        floor === 'confidentiality' ? ![3, 17].includes(t.cipherSuite) : ![2, 3, 16, 17].includes(t.cipherSuite);
      if (weak)
        add(
          'cipherSuite',
          `suite ${t.cipherSuite} is below cipherFloor '${floor}'; lower the floor for this target to allow it`,
        );
    }
  });
  return problems;
}

/**
 * Cross-field checks that need no I/O: unique names and addresses, exactly one of password and
 * passwordFile, a cipher suite that meets the floor, at most one target marked hostBmc.
 * @throws E_IPMI_CONFIG naming the target and field (the first problem)
 */
export function checkTargets(cfg: IpmiConfig): void {
  const first = targetProblems(cfg)[0];
  if (first !== undefined) throw configError(first.target, first.field, first.problem);
  if (cfg.backoffMax < cfg.backoffMin)
    throw new VpmdError('E_IPMI_CONFIG', 'plugins.ipmi.backoffMax must not be below backoffMin', {
      field: 'backoffMax',
    });
}

/**
 * Everything the plugin would refuse at start, as `vpmd check-config` reports it: the cross-field
 * problems and, for each target without one, its secret files (present, readable by vpmd only,
 * not empty, a password of at most 20 bytes, a KG in hex). Paths are inside `plugins.ipmi`.
 */
export async function ipmiConfigProblems(cfg: IpmiConfig): Promise<{ path: string; message: string }[]> {
  const crossField = targetProblems(cfg);
  const out = crossField.map((p) => ({
    path: `targets[${p.index}].${p.field}`,
    message: `target ${p.target}: ${p.problem}`,
  }));
  if (cfg.backoffMax < cfg.backoffMin)
    out.push({ path: 'backoffMax', message: `must not be below backoffMin (${cfg.backoffMin} s)` });
  const bad = new Set(crossField.map((p) => p.index));
  for (const [index, t] of cfg.targets.entries()) {
    if (bad.has(index)) continue;
    try {
      await resolveTarget(cfg, t);
    } catch (e) {
      if (!(e instanceof VpmdError) || e.code !== 'E_IPMI_CONFIG') throw e;
      const field = typeof e.details.field === 'string' ? e.details.field : 'passwordFile';
      const problem = typeof e.details.problem === 'string' ? e.details.problem : e.message;
      out.push({ path: `targets[${index}].${field}`, message: `target ${t.name}: ${problem}` });
    }
  }
  return out;
}

async function secretFile(target: string, field: string, path: string): Promise<string> {
  const r = await readSecretLine(path);
  if (!('problem' in r)) return r.line;
  if (r.problem.kind !== 'unreadable') throw configError(target, field, describeSecretProblem(path, r.problem));
  const code = r.problem.code;
  const why =
    code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by vpmd' : `cannot be read (${code})`;
  throw configError(target, field, `${path} ${why}; give a file holding the secret on its first line, mode 0600`);
}

/** Reads secret files and applies defaults. @throws E_IPMI_CONFIG */
export async function resolveTarget(cfg: IpmiConfig, t: TargetConfig): Promise<ResolvedTarget> {
  const password = t.password ?? (await secretFile(t.name, 'passwordFile', t.passwordFile ?? ''));
  if (Buffer.byteLength(password) > 20)
    throw configError(t.name, 'passwordFile', 'an IPMI 2.0 password has at most 20 bytes');
  let kg: Buffer | undefined;
  if (t.kgFile !== undefined) {
    const hex = await secretFile(t.name, 'kgFile', t.kgFile);
    if (!/^(0x)?[0-9a-fA-F]{2,40}$/.test(hex)) throw configError(t.name, 'kgFile', 'KG must be 1 to 20 bytes in hex');
    kg = Buffer.alloc(20);
    Buffer.from(hex.replace(/^0x/, ''), 'hex').copy(kg);
  }
  return {
    name: t.name,
    host: t.host,
    port: t.port ?? 623,
    username: t.username,
    password,
    ...(kg !== undefined ? { kg } : {}),
    privilege: t.privilege ?? 'operator',
    cipherFloor: t.cipherFloor ?? 'confidentiality',
    ...(t.cipherSuite !== undefined ? { cipherSuite: t.cipherSuite } : {}),
    intervalMs: (t.interval ?? cfg.interval) * 1000,
    ...(t.hostBmc === true ? { hostBmc: true } : {}),
  };
}
