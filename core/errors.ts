/**
 * The one error catalogue of vpmd. Every failure that crosses a module boundary is a
 * {@link VpmdError} with a code from {@link ERROR_CATALOGUE}; each protocol (vpmctl exit codes,
 * Redfish message ids, SNMP error-status, guest-channel NACK) maps the code's category in one
 * place instead of inventing its own errors.
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

/** What a catalogue entry records about a code. */
export interface ErrorSpec {
  readonly category: ErrorCategory;
  readonly summary: string;
}

/**
 * Every error code vpmd emits. Codes are stable: tools and operators match on them.
 * Add new codes here; never reuse a retired one for another meaning.
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
  // capabilities, commands, events
  E_CAPABILITY_MISSING: { category: 'unavailable', summary: 'no plugin provides this capability' },
  E_CAPABILITY_UNDECLARED: { category: 'invalid', summary: 'capability used without being declared in the manifest' },
  E_CAPABILITY_DUPLICATE: { category: 'conflict', summary: 'capability already provided' },
  E_COMMAND_DUPLICATE: { category: 'conflict', summary: 'command name already registered' },
  E_COMMAND_UNKNOWN: { category: 'not-found', summary: 'no such command' },
  E_COMMAND_USAGE: { category: 'invalid', summary: 'command arguments are invalid' },
  E_COMMAND_STDIN: { category: 'invalid', summary: 'command needs input on standard input' },
  E_EVENT_UNKNOWN: { category: 'invalid', summary: 'event type is not declared' },
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
  // test kit peers
  E_PEER_MISSING: { category: 'unavailable', summary: 'a test peer program is not installed' },
  E_PEER_FAILED: { category: 'unavailable', summary: 'a test peer exited, refused to start or answered with an error' },
  E_PEER_OPTIONS: { category: 'invalid', summary: 'options passed to a test peer are invalid' },
  // libvirt-caps plugin (host sleep, capabilities documents, suspend, wake)
  E_LIBVIRT_CAPS_SLEEP_UNSUPPORTED: { category: 'unsupported', summary: 'the host does not support this sleep state' },
  E_LIBVIRT_CAPS_SUSPEND_BUSY: { category: 'conflict', summary: 'a suspend operation is already in progress' },
  E_LIBVIRT_CAPS_WAKE_TIME: { category: 'invalid', summary: 'wake time is in the past, too soon or malformed' },
  E_LIBVIRT_CAPS_WAKE_TARGET: {
    category: 'not-found',
    summary: 'wake target is neither a MAC address nor a known BMC',
  },
  // ipmi plugin
  E_IPMI_AUTH: { category: 'denied', summary: 'BMC rejected the login (user, password or KG)' },
  E_IPMI_CIPHER: {
    category: 'unsupported',
    summary: 'no cipher suite at or above the configured floor is offered by the BMC',
  },
  E_IPMI_SESSION: {
    category: 'unavailable',
    summary: 'BMC cannot open or keep an IPMI session (out of sessions, closed, restarted)',
  },
  E_IPMI_PROTOCOL: { category: 'unavailable', summary: 'BMC answered with a malformed or unexpected packet' },
  E_IPMI_COMMAND: { category: 'unavailable', summary: 'BMC answered an IPMI command with an error completion code' },
  E_IPMI_TIMEOUT: { category: 'timeout', summary: 'BMC did not answer within the retransmit bound' },
  E_IPMI_TARGET: { category: 'not-found', summary: 'no such IPMI target' },
  E_IPMI_CONFIG: { category: 'invalid', summary: 'IPMI target configuration is invalid' },
  // redfish
  E_REDFISH_TLS: { category: 'unavailable', summary: 'Redfish TLS certificate cannot be read or generated' },
  E_REDFISH_LISTEN: { category: 'unavailable', summary: 'Redfish HTTPS listener cannot be opened' },
  E_REDFISH_ACCOUNT_EXISTS: { category: 'conflict', summary: 'a Redfish account with this user name exists' },
  E_REDFISH_ACCOUNT_UNKNOWN: { category: 'not-found', summary: 'no such Redfish account' },
  E_REDFISH_PASSWORD: { category: 'invalid', summary: 'Redfish password does not meet the password policy' },
  // snmp plugin
  E_SNMP_CONFIG: { category: 'invalid', summary: 'SNMP configuration is invalid' },
  E_SNMP_LISTEN: { category: 'unavailable', summary: 'SNMP agent UDP port cannot be opened' },
  E_SNMP_USER: { category: 'invalid', summary: 'SNMP user name or passphrase is invalid' },
  E_SNMP_USER_UNKNOWN: { category: 'not-found', summary: 'no such SNMP user' },
  E_SNMP_TARGET_UNKNOWN: { category: 'not-found', summary: 'no such SNMP poller target' },
  E_SNMP_REQUEST: { category: 'unavailable', summary: 'SNMP request to a device failed' },
  E_SNMP_TIMEOUT: { category: 'timeout', summary: 'SNMP device did not answer in time' },
  E_SNMP_OUTLET: { category: 'invalid', summary: 'outlet number or action is invalid for this target' },
  // virtio-channels (DPDK VM power channels)
  E_VC_VM_NOT_FOUND: { category: 'not-found', summary: 'no such VM (not added, or unknown to libvirt)' },
  E_VC_VM_EXISTS: { category: 'conflict', summary: 'VM already added' },
  E_VC_CHANNEL: { category: 'invalid', summary: 'power channel number or list is invalid' },
  E_VC_CHANNEL_LIMIT: { category: 'invalid', summary: 'too many power channels for a VM or the host' },
  E_VC_BOUNDS: { category: 'invalid', summary: 'frequency bounds are invalid' },
  E_VC_PCPU: { category: 'invalid', summary: 'physical or virtual CPU number is out of range' },
  E_VC_LIBVIRT: { category: 'unavailable', summary: 'libvirt-dbus is unreachable or refused the call' },
  E_VC_SCALE: { category: 'unsupported', summary: 'the core cannot be scaled that way' },
  // generic
  E_TIMEOUT: { category: 'timeout', summary: 'operation timed out' },
  E_INTERNAL: { category: 'internal', summary: 'internal error' },
} as const satisfies Record<string, ErrorSpec>;

/** A code from the catalogue. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Structured, loggable facts about an error: never secrets. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

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

  /** The category of this error's code. */
  get category(): ErrorCategory {
    return ERROR_CATALOGUE[this.code].category;
  }

  /** A JSON-safe form for the control channel and logs. */
  toJSON(): { code: ErrorCode; category: ErrorCategory; message: string; details: ErrorDetails } {
    return { code: this.code, category: this.category, message: this.message, details: this.details };
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
 * "the check found problems" (check-config) and generic failure.
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

/** The exit code for an error. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof VpmdError) {
    return e.code === 'E_CONTROL_CONNECT' ? EXIT_CODES.connect : EXIT_CODES[e.category];
  }
  return EXIT_CODES.internal;
}
