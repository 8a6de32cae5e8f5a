/**
 * The error vocabulary of vpmd. Every failure that crosses a module boundary is a
 * {@link VpmdError} with a code: one of the core's ({@link ERROR_CATALOGUE}) or one a plugin
 * declares in its manifest ({@link defineErrors}). Each protocol (vpmctl exit codes, Redfish
 * message ids, SNMP error-status, guest-channel NACK) maps the code's category in one place
 * instead of inventing its own errors, so a plugin's code is mapped from its declaration.
 */

/** Broad classes of failure; protocols map these, not individual codes. */
export type ErrorCategory =
  | 'invalid' // the request, config or input is malformed or out of range
  | 'denied' // the principal lacks a privilege or the peer address is not allowed
  | 'not-found' // the named thing does not exist
  | 'conflict' // the thing is busy or in a state that forbids the operation
  | 'unsupported' // the host or peer cannot do this at all
  | 'unavailable' // a peer or dependency is missing or not answering
  | 'timeout' // an operation did not finish within its bound
  | 'internal'; // a bug or an unexpected condition

/** Every category, for run-time checks of untrusted declarations. */
export const ERROR_CATEGORIES: readonly ErrorCategory[] = Object.freeze([
  'invalid',
  'denied',
  'not-found',
  'conflict',
  'unsupported',
  'unavailable',
  'timeout',
  'internal',
]);

/** What a catalogue entry records about a code. */
export interface ErrorSpec {
  readonly category: ErrorCategory;
  /** One line saying what the code means (docs, `vpmctl --json` consumers). */
  readonly summary: string;
}

/**
 * The core's own error codes. Codes are stable: tools and operators match on them. Add the
 * core's new codes here; never reuse a retired one for another meaning. Plugins declare their
 * codes in their manifest instead ({@link defineErrors}).
 */
export const ERROR_CATALOGUE = {
  // configuration
  E_CONFIG_READ: { category: 'invalid', summary: 'configuration file cannot be read' },
  E_CONFIG_SYNTAX: { category: 'invalid', summary: 'configuration file is not valid YAML' },
  E_CONFIG_INVALID: { category: 'invalid', summary: 'configuration does not match the schema' },
  // plugin kernel
  E_PLUGIN_MANIFEST: { category: 'invalid', summary: 'plugin manifest is invalid' },
  E_PLUGIN_DUPLICATE: { category: 'invalid', summary: 'two plugins have the same name' },
  E_PLUGIN_API_VERSION: {
    category: 'unsupported',
    summary: 'plugin needs a core API version this core does not offer',
  },
  E_PLUGIN_DEPENDENCY: { category: 'unavailable', summary: 'a capability a plugin requires has no provider' },
  E_PLUGIN_CYCLE: { category: 'invalid', summary: 'plugins require each other in a cycle' },
  E_PLUGIN_CONFIG: { category: 'invalid', summary: 'plugin configuration section is invalid' },
  E_PLUGIN_LOAD: { category: 'unavailable', summary: 'external plugin cannot be loaded' },
  E_PLUGIN_START: { category: 'internal', summary: 'plugin failed to start' },
  E_PLUGIN_START_TIMEOUT: { category: 'timeout', summary: 'plugin did not start in time' },
  E_PLUGIN_STOP_TIMEOUT: { category: 'timeout', summary: 'plugin did not stop in time' },
  E_PLUGIN_STOPPED: { category: 'conflict', summary: 'plugin context used after the plugin stopped' },
  E_PLUGIN_NAMESPACE: {
    category: 'invalid',
    summary: 'plugin declares an error code or event type outside its own namespace',
  },
  E_PLUGIN_CLAIMED: {
    category: 'conflict',
    summary: 'an error code, code prefix or event type is claimed by two plugins',
  },
  // capabilities, commands, events
  E_CAPABILITY_MISSING: { category: 'unavailable', summary: 'no plugin provides this capability' },
  E_CAPABILITY_UNDECLARED: { category: 'invalid', summary: 'capability used without being declared in the manifest' },
  E_CAPABILITY_DUPLICATE: { category: 'conflict', summary: 'capability already provided' },
  E_COMMAND_DUPLICATE: { category: 'conflict', summary: 'command name already registered' },
  E_COMMAND_UNKNOWN: { category: 'not-found', summary: 'no such command' },
  E_COMMAND_USAGE: { category: 'invalid', summary: 'command arguments are invalid' },
  E_COMMAND_STDIN: { category: 'invalid', summary: 'command needs input on standard input' },
  E_EVENT_UNKNOWN: { category: 'invalid', summary: 'event type is not declared' },
  E_EVENT_OWNER: { category: 'denied', summary: 'a plugin emitted an event type another plugin owns' },
  // access control
  E_ACCESS_DENIED: { category: 'denied', summary: 'principal lacks the privilege' },
  E_ACCESS_ADDRESS: { category: 'denied', summary: 'peer address is not in the management allow-list' },
  E_ACCESS_BIND: { category: 'invalid', summary: 'management bind address cannot be resolved' },
  // control channel
  E_CONTROL_CONNECT: { category: 'unavailable', summary: 'cannot connect to the agent control socket' },
  E_CONTROL_PROTOCOL: { category: 'invalid', summary: 'malformed control-channel message' },
  E_CONTROL_SOCKET: { category: 'conflict', summary: 'control socket path is unusable' },
  // state store
  E_STATE_CORRUPT: { category: 'internal', summary: 'persisted state cannot be parsed' },
  E_STATE_SCHEMA: { category: 'unsupported', summary: 'persisted state has a schema version this code cannot migrate' },
  E_STATE_WRITE: { category: 'unavailable', summary: 'state cannot be written' },
  E_STATE_READ: { category: 'unavailable', summary: 'state file exists but cannot be read' },
  E_STATE_LOCKED: { category: 'conflict', summary: 'another running vpmd holds the state directory' },
  E_PLUGIN_STARTING: { category: 'conflict', summary: 'the plugin that owns the command is still starting' },
  // telemetry
  E_TELEMETRY_UNKNOWN: { category: 'not-found', summary: 'no such metric' },
  E_TELEMETRY_DUPLICATE: { category: 'conflict', summary: 'metric id already defined by another plugin' },
  E_TELEMETRY_INVALID: { category: 'invalid', summary: 'metric definition or reading is invalid' },
  // host model
  E_HOST_NOT_FOUND: { category: 'not-found', summary: 'host file or object does not exist' },
  E_HOST_INVALID: { category: 'invalid', summary: 'kernel rejected the value (EINVAL)' },
  E_HOST_BUSY: { category: 'conflict', summary: 'kernel refused the write while busy (EBUSY)' },
  E_HOST_ACCESS: { category: 'denied', summary: 'kernel file not writable (EACCES/EPERM)' },
  E_HOST_IO: { category: 'internal', summary: 'kernel file read or write failed' },
  E_HOST_PARSE: { category: 'internal', summary: 'kernel file content not understood' },
  E_HOST_VERIFY: { category: 'internal', summary: 'value read back differs from the value written' },
  E_HOST_UNSUPPORTED: { category: 'unsupported', summary: 'host lacks this feature' },
  // host power (core: systemd-logind and the systemd manager over D-Bus)
  E_HOST_POWER_UNAVAILABLE: {
    category: 'unavailable',
    summary: 'systemd-logind or the systemd manager is not reachable, or not used on this host',
  },
  E_HOST_POWER_TIMEOUT: {
    category: 'timeout',
    summary: 'systemd-logind or the systemd manager did not answer in time',
  },
  E_HOST_POWER_REFUSED: {
    category: 'unavailable',
    summary: 'systemd-logind or the systemd manager refused vpmd (polkit, bus policy, inhibitor)',
  },
  E_HOST_POWER_FAILED: {
    category: 'unavailable',
    summary: 'systemd-logind or the systemd manager answered with an error',
  },
  E_HOST_POWER_NOT_OFFERED: {
    category: 'unsupported',
    summary: 'this host cannot power off or reboot that way now (the reason says why)',
  },
  // BMCs (core router over the IPMI and Redfish drivers)
  E_BMC_NOT_FOUND: { category: 'not-found', summary: 'no configured BMC has that name' },
  E_BMC_UNSUPPORTED: { category: 'unsupported', summary: "the BMC's protocol driver cannot do that" },
  E_BMC_CONFIG: { category: 'invalid', summary: "more than one BMC target is marked as this host's own (hostBmc)" },
  // CPU frequency limits (core, cpu-limits@1)
  E_CPU_LIMITS_INVALID: { category: 'invalid', summary: 'a CPU frequency limit claim is malformed' },
  // test kit peers
  E_PEER_MISSING: { category: 'unavailable', summary: 'a test peer program is not installed' },
  E_PEER_FAILED: { category: 'unavailable', summary: 'a test peer exited, refused to start or answered with an error' },
  E_PEER_OPTIONS: { category: 'invalid', summary: 'options passed to a test peer are invalid' },
  // generic
  E_TIMEOUT: { category: 'timeout', summary: 'operation timed out' },
  E_INTERNAL: { category: 'internal', summary: 'internal error' },
} as const satisfies Record<string, ErrorSpec>;
/** A code of the core's catalogue. */
export type CoreErrorCode = keyof typeof ERROR_CATALOGUE;

/** What a plugin declares about one of its codes. */
export interface PluginErrorSpec extends ErrorSpec {
  /**
   * The vpmd/vpmctl process exit code for this error. Default: the category's code
   * ({@link EXIT_CODES}). Any other value must lie in 10–125, the range the core leaves to
   * plugins (0–9 are the core's meanings; 126 and above are the shell's).
   */
  readonly exitCode?: number;
}

/** A plugin's error declaration, as {@link defineErrors} returns it and a manifest's `errors` holds. */
export interface PluginErrors<C extends string = string> {
  /** Every code starts with it: `E_`, upper-case words, a trailing `_` (`E_IPMI_`). */
  readonly prefix: string;
  /** The codes, by code string. */
  readonly codes: Readonly<Record<C, PluginErrorSpec>>;
}

/**
 * The plugins' codes at the type level, filled by module augmentation (keyed by plugin name):
 * ```ts
 * export const IPMI_ERRORS = defineErrors('E_IPMI_', { E_IPMI_AUTH: { category: 'denied', summary: '…' } });
 * declare module 'vpmd' {
 *   interface PluginErrorRegistry { ipmi: typeof IPMI_ERRORS }
 * }
 * ```
 * A plugin's module is in the program whenever its code is, so its codes type-check exactly where
 * they can be thrown; the run-time registry is filled from the manifest when the kernel loads it.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface PluginErrorRegistry {}

/** Every code the plugins in this program declare (see {@link PluginErrorRegistry}). */
export type PluginErrorCode = {
  [P in keyof PluginErrorRegistry]: PluginErrorRegistry[P] extends PluginErrors<infer C> ? C : never;
}[keyof PluginErrorRegistry];

/** A code vpmd may throw: the core's or a declared plugin's. */
export type ErrorCode = CoreErrorCode | PluginErrorCode;

/**
 * Declares a plugin's error codes; put the result in the manifest's `errors`. The type checks that
 * every code starts with `prefix`; the kernel checks it again at load (for JavaScript plugins),
 * together with the categories, exit codes and that no other plugin claims the prefix or a code.
 */
export function defineErrors<const P extends `E_${string}_`, const C extends `${P}${string}`>(
  prefix: P,
  codes: Readonly<Record<C, PluginErrorSpec>>,
): PluginErrors<C> {
  return Object.freeze({ prefix, codes: Object.freeze({ ...codes }) });
}

/** A declared plugin code, as the registry holds it. */
interface DeclaredCode {
  readonly plugin: string;
  readonly spec: PluginErrorSpec;
}

/**
 * The process-wide table of plugin codes. A code string is a process-wide name (a VpmdError
 * carries only the string), so this holds declarations, never per-agent state: a plugin that two
 * agents in one process load declares the same codes twice, which is a no-op.
 */
const pluginCodes = new Map<string, DeclaredCode>();

/**
 * Records `plugin`'s codes (the kernel calls this when it loads the plugin, after the checks of
 * `core/kernel/vocabulary.ts`).
 * @throws VpmdError E_PLUGIN_CLAIMED when another plugin already declared one of the codes.
 */
export function registerPluginErrors(plugin: string, errors: PluginErrors): void {
  const entries = Object.entries<PluginErrorSpec>(errors.codes);
  for (const [code] of entries) {
    const other = pluginCodes.get(code)?.plugin;
    if (other !== undefined && other !== plugin) {
      throw new VpmdError(
        'E_PLUGIN_CLAIMED',
        `plugin ${plugin}: error code ${code} is already declared by plugin ${other}`,
        { plugin, code, claimedBy: other },
      );
    }
  }
  for (const [code, spec] of entries) pluginCodes.set(code, { plugin, spec: Object.freeze({ ...spec }) });
}

/** The plugin that declared `code`, if a loaded plugin did. */
export function pluginOfCode(code: string): string | undefined {
  return pluginCodes.get(code)?.plugin;
}

/** The declaration of `code`: the core's entry or a loaded plugin's; undefined when unknown here. */
export function errorSpecOf(code: string): PluginErrorSpec | undefined {
  if (Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code)) return ERROR_CATALOGUE[code as CoreErrorCode];
  return pluginCodes.get(code)?.spec;
}

/** Structured, loggable facts about an error: never secrets. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

/** The JSON form of a {@link VpmdError} (control channel, logs, `--json` output). */
export interface VpmdErrorJson {
  code: ErrorCode;
  category: ErrorCategory;
  /** The process exit code vpmctl ends with for this error (the declared one for a plugin code). */
  exitCode: number;
  message: string;
  details: ErrorDetails;
}

/** The error type every vpmd module throws across its boundary. */
export class VpmdError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VpmdError';
    this.code = code;
    this.details = details;
  }

  /**
   * The category of this error's code, from the core's catalogue or the plugin's declaration;
   * `internal` for a code no loaded plugin declared (a plugin used outside an agent).
   */
  get category(): ErrorCategory {
    return errorSpecOf(this.code)?.category ?? 'internal';
  }

  /** A JSON-safe form for the control channel and logs. */
  toJSON(): VpmdErrorJson {
    return {
      code: this.code,
      category: this.category,
      exitCode: exitCodeFor(this),
      message: this.message,
      details: this.details,
    };
  }
}

/** True when `e` is a VpmdError, optionally with the given code. */
export function isVpmdError(e: unknown, code?: ErrorCode): e is VpmdError {
  return e instanceof VpmdError && (code === undefined || e.code === code);
}

/** Wraps any thrown value as a VpmdError (E_INTERNAL unless it already is one). */
export function toVpmdError(e: unknown): VpmdError {
  if (e instanceof VpmdError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new VpmdError('E_INTERNAL', message, {}, { cause: e });
}

/**
 * Process exit codes for vpmd and vpmctl, by category. 0 is success; 1 is reserved for
 * "the check found problems" (check-config) and generic failure. 10–125 are left to plugins'
 * declared codes ({@link PluginErrorSpec.exitCode}).
 */
export const EXIT_CODES: Readonly<Record<ErrorCategory | 'ok' | 'usage' | 'connect', number>> = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalid: 2,
  denied: 3,
  'not-found': 4,
  conflict: 5,
  unsupported: 6,
  unavailable: 7,
  timeout: 8,
  connect: 9,
};

/** The lowest and highest exit code a plugin may declare besides its category's. */
export const PLUGIN_EXIT_CODE_RANGE = Object.freeze({ min: 10, max: 125 });

/** The exit code for an error: the declared one of a plugin code, else its category's. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof VpmdError) {
    if (e.code === 'E_CONTROL_CONNECT') return EXIT_CODES.connect;
    return errorSpecOf(e.code)?.exitCode ?? EXIT_CODES[e.category];
  }
  return EXIT_CODES.internal;
}
