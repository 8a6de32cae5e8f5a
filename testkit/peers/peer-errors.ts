/**
 * The errors the peer kit throws, all made here so each kind of failure has one code.
 */
import { VpmdError, type ErrorCode, type ErrorDetails } from '../../core/errors.js';

/** The script that installs every peer program; named in every "program missing" error. */
export const SETUP_PEERS_SCRIPT = 'scripts/setup-peers.sh';

/** Which catalogue code each kind of peer failure uses. */
const PEER_CODES = {
  /** A program or module a peer needs is not installed. */
  missing: 'E_PEER_MISSING',
  /** A peer exited, refused to start, or answered with an error. */
  failed: 'E_PEER_FAILED',
  /** A peer did not become ready, or a call to it did not answer, within its bound. */
  timeout: 'E_TIMEOUT',
  /** The options passed to a start function are invalid. */
  options: 'E_PEER_OPTIONS',
} as const satisfies Record<string, ErrorCode>;

/** Error for a program or Python module that is not installed. */
export function peerMissingError(peer: string, what: string, debianPackage: string): VpmdError {
  return new VpmdError(
    PEER_CODES.missing,
    `${peer}: ${what} is not installed (Debian package ${debianPackage}); run ${SETUP_PEERS_SCRIPT} to install every test peer`,
    { peer, program: what, package: debianPackage, setup: SETUP_PEERS_SCRIPT },
  );
}

/** Error for a peer that exited or failed; `output` is the tail of its stderr/stdout. */
export function peerFailedError(
  peer: string,
  message: string,
  details: ErrorDetails = {},
  output = '',
  cause?: unknown,
): VpmdError {
  const text =
    output.trim() === ''
      ? `${peer}: ${message}`
      : `${peer}: ${message}\n--- last output of ${peer} ---\n${output.trimEnd()}`;
  return new VpmdError(PEER_CODES.failed, text, { peer, ...details }, cause === undefined ? undefined : { cause });
}

/** Error for a peer that did not become ready or answer within `timeoutMs`. */
export function peerTimeoutError(
  peer: string,
  what: string,
  timeoutMs: number,
  output = '',
  lastError?: unknown,
): VpmdError {
  const reason = lastError === undefined ? '' : ` (last attempt: ${describe(lastError)})`;
  const tail = output.trim() === '' ? '' : `\n--- last output of ${peer} ---\n${output.trimEnd()}`;
  return new VpmdError(
    PEER_CODES.timeout,
    `${peer}: ${what} did not happen within ${timeoutMs} ms${reason}${tail}`,
    { peer, what, timeoutMs },
    lastError === undefined ? undefined : { cause: lastError },
  );
}

/** Error for invalid start options; `key` names the option and `allowed` what it accepts. */
export function peerOptionsError(peer: string, key: string, value: unknown, allowed: string): VpmdError {
  return new VpmdError(PEER_CODES.options, `${peer}: option ${key} = ${show(value)} is invalid; allowed: ${allowed}`, {
    peer,
    option: key,
    allowed,
  });
}

/** A one-line description of any thrown value. */
export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value); // BigInt and cycles
  }
}
