/**
 * The poller's part of `plugins.redfish`: `serve`, `targets` (the BMCs to poll) and `poll` (how),
 * and their resolution into ready targets (secrets and CA read from files, cross-field checks).
 * Errors name the target and the field.
 */
import { readFile } from 'node:fs/promises';
import { Type, VpmdError, describeSecretProblem, readSecretLine, type Static } from 'vpmd';

const TargetSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
      description:
        'a target name (letters, digits, . _ -; at most 63, starting with a letter or digit), used in commands and as telemetry target',
    }),
    url: Type.String({
      pattern: '^https?://[^/?#@]+/?$',
      description:
        "the BMC's https:// (or http://) origin, e.g. https://10.0.0.5 or https://bmc1:8443 (no path, no credentials)",
    }),
    username: Type.String({ minLength: 1, maxLength: 256, description: 'Redfish account of the BMC' }),
    password: Type.Optional(Type.String({ minLength: 1, description: 'its password; prefer passwordFile' })),
    passwordFile: Type.Optional(
      Type.String({ minLength: 1, description: 'file holding the password (first line); not readable by others' }),
    ),
    ca: Type.Optional(
      Type.String({ minLength: 1, description: 'PEM file of the CA (or the certificate) the BMC presents' }),
    ),
    fingerprint: Type.Optional(
      Type.String({
        pattern: '^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$',
        description:
          "the SHA-256 fingerprint of the BMC's certificate, 32 hex bytes with optional colons (openssl x509 -noout -fingerprint -sha256); pins it, for self-signed BMC certificates",
      }),
    ),
    plainHttp: Type.Optional(
      Type.Boolean({ description: 'allow an http:// URL (credentials and token travel in clear; labs only)' }),
    ),
    interval: Type.Optional(
      Type.Number({ minimum: 1, maximum: 86400, description: 'seconds between polls (default: poll.interval)' }),
    ),
    chassis: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
        maxItems: 256,
        description: 'Ids of the chassis to read (default: every chassis the BMC lists)',
      }),
    ),
    events: Type.Optional(
      Type.Boolean({ description: "follow the BMC's SSE stream when it offers one (default: poll.events)" }),
    ),
  },
  { additionalProperties: false },
);

/** `plugins.redfish.poll`: how every target is polled. */
const PollSchema = Type.Object(
  {
    interval: Type.Number({ minimum: 1, maximum: 86400, default: 30, description: 'seconds between polls' }),
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 16,
      description: 'BMCs polled at the same time',
    }),
    requestsPerBmc: Type.Integer({
      minimum: 1,
      maximum: 16,
      default: 4,
      description: 'requests in flight to one BMC at once (BMCs are small machines)',
    }),
    timeout: Type.Number({ minimum: 0.1, maximum: 300, default: 10, description: 'seconds to wait for one answer' }),
    retries: Type.Integer({
      minimum: 0,
      maximum: 10,
      default: 2,
      description: 'retries of a GET that timed out, failed to connect or got 5xx (waits doubling from 0.2 s)',
    }),
    backoffMin: Type.Number({
      minimum: 0.1,
      maximum: 3600,
      default: 5,
      description: 'seconds before the first retry of a failing BMC',
    }),
    backoffMax: Type.Number({
      minimum: 1,
      maximum: 86400,
      default: 300,
      description: 'longest wait between retries of a failing BMC',
    }),
    logs: Type.Boolean({ default: true, description: 'turn new LogService entries into hw.log.v1 events' }),
    events: Type.Boolean({
      default: true,
      description: "follow each BMC's SSE event stream when it has one (log polling pauses while it is up)",
    }),
  },
  { additionalProperties: false, default: {} },
);

/** The poller's properties of the `plugins.redfish` schema. */
export const POLLER_CONFIG_FIELDS = {
  serve: Type.Boolean({
    default: true,
    description: 'serve the Redfish service; false for a host that only polls BMCs (plugins.redfish.targets)',
  }),
  targets: Type.Array(TargetSchema, { default: [], maxItems: 10000, description: 'Redfish BMCs to poll' }),
  poll: PollSchema,
};

/** One configured target. */
export type RedfishTargetConfig = Static<typeof TargetSchema>;
/** `plugins.redfish.poll`. */
export type PollConfig = Static<typeof PollSchema>;

/** What the poller needs of the section. */
export interface PollerSection {
  readonly targets: readonly RedfishTargetConfig[];
  readonly poll: PollConfig;
}

/** How the BMC's certificate is trusted. */
export type BmcTrust =
  | { readonly kind: 'ca'; readonly ca: string }
  | { readonly kind: 'fingerprint'; readonly sha256: string }
  | { readonly kind: 'system' }
  | { readonly kind: 'plain' };

/** A target ready to poll. */
export interface ResolvedRedfishTarget {
  readonly name: string;
  /** Origin, e.g. `https://10.0.0.5:443`. */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly trust: BmcTrust;
  readonly intervalMs: number;
  readonly chassis?: readonly string[];
  readonly events: boolean;
}

function configError(target: string, field: string, problem: string): VpmdError {
  return new VpmdError('E_REDFISH_CONFIG', `plugins.redfish.targets[${target}].${field}: ${problem}`, {
    target,
    field,
    problem,
  });
}

/** One cross-field problem: the target (by index and name), the field, and what is wrong and allowed. */
export interface TargetProblem {
  readonly index: number;
  readonly target: string;
  readonly field: string;
  readonly problem: string;
}

/** Every cross-field problem of the targets, in file order (no I/O). */
export function redfishTargetProblems(cfg: PollerSection): TargetProblem[] {
  const problems: TargetProblem[] = [];
  const names = new Map<string, number>();
  const origins = new Map<string, string>();
  cfg.targets.forEach((t, index) => {
    const add = (field: string, problem: string): void => void problems.push({ index, target: t.name, field, problem });
    const sameName = names.get(t.name);
    if (sameName !== undefined) add('name', `targets[${sameName}] has the same name; give each target its own name`);
    else names.set(t.name, index);
    const u = new URL(t.url);
    const port = u.port === '' ? (u.protocol === 'http:' ? '80' : '443') : u.port;
    const origin = `${u.protocol}//${u.hostname}:${port}`;
    const other = origins.get(origin);
    if (other !== undefined)
      add('url', `another target polls the same BMC ${origin} (${other}); give each BMC one target`);
    else origins.set(origin, t.name);
    if ((t.password === undefined) === (t.passwordFile === undefined))
      add(
        'password',
        t.password === undefined
          ? 'give exactly one of password and passwordFile (neither is set)'
          : 'give exactly one of password and passwordFile (both are set)',
      );
    if (t.ca !== undefined && t.fingerprint !== undefined)
      add('fingerprint', 'give at most one of ca and fingerprint (both pin the certificate)');
    if (u.protocol === 'http:' && t.plainHttp !== true)
      add('url', 'http:// sends the password in clear: use https://, or set plainHttp: true (labs only)');
    if (u.protocol === 'http:' && (t.ca !== undefined || t.fingerprint !== undefined))
      add('url', 'ca and fingerprint need an https:// URL');
  });
  return problems;
}

/** The section-level problem (backoff bounds), or undefined. */
export function redfishPollProblem(cfg: PollerSection): { field: string; problem: string } | undefined {
  return cfg.poll.backoffMax < cfg.poll.backoffMin
    ? { field: 'backoffMax', problem: `must not be below backoffMin (${cfg.poll.backoffMin} s)` }
    : undefined;
}

/**
 * Cross-field checks that need no I/O. @throws E_REDFISH_CONFIG naming the target and field (the first problem)
 */
export function checkRedfishTargets(cfg: PollerSection): void {
  const first = redfishTargetProblems(cfg)[0];
  if (first !== undefined) throw configError(first.target, first.field, first.problem);
  const poll = redfishPollProblem(cfg);
  if (poll !== undefined)
    throw new VpmdError('E_REDFISH_CONFIG', `plugins.redfish.poll.${poll.field} ${poll.problem}`, {
      field: poll.field,
    });
}

async function readCaFile(target: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by vpmd' : `cannot be read (${code})`;
    throw configError(target, 'ca', `${path} ${why}; give the PEM file of the BMC's certificate or its CA`);
  }
}

/** Reads the password and CA files and applies defaults. @throws E_REDFISH_CONFIG */
export async function resolveRedfishTarget(poll: PollConfig, t: RedfishTargetConfig): Promise<ResolvedRedfishTarget> {
  let password = t.password;
  if (password === undefined) {
    const path = t.passwordFile ?? '';
    const r = await readSecretLine(path);
    if ('problem' in r) {
      const p = r.problem;
      const why =
        p.kind !== 'unreadable'
          ? describeSecretProblem(path, p)
          : p.code === 'ENOENT'
            ? `${path} does not exist`
            : p.code === 'EACCES'
              ? `${path} is not readable by vpmd`
              : describeSecretProblem(path, p);
      throw configError(
        t.name,
        'passwordFile',
        `${why}; give a file holding the password on its first line, mode 0600`,
      );
    }
    password = r.line;
  }
  const u = new URL(t.url);
  let trust: BmcTrust;
  if (u.protocol === 'http:') trust = { kind: 'plain' };
  else if (t.ca !== undefined) {
    const ca = await readCaFile(t.name, t.ca);
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      throw configError(t.name, 'ca', `${t.ca} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    trust = { kind: 'ca', ca };
  } else if (t.fingerprint !== undefined) {
    const hex = t.fingerprint.replace(/:/g, '').toUpperCase();
    trust = { kind: 'fingerprint', sha256: hex.match(/../g)?.join(':') ?? hex };
  } else trust = { kind: 'system' };
  const port = u.port === '' ? (u.protocol === 'http:' ? 80 : 443) : Number(u.port);
  return {
    name: t.name,
    origin: `${u.protocol}//${u.hostname}:${port}`,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    username: t.username,
    password,
    trust,
    intervalMs: (t.interval ?? poll.interval) * 1000,
    ...(t.chassis !== undefined ? { chassis: t.chassis } : {}),
    events: t.events ?? poll.events,
  };
}
