/**
 * How kernel file failures become coded errors. Both the real backend and the simulated kernel
 * use these helpers, so a caller sees the same code, message shape and details either way.
 */
import { VpmdError, type ErrorCode } from '../errors.js';

/**
 * An errno name as Node reports it (`ENOENT`, `EINVAL`, ...). ENOENT, EINVAL, EBUSY, EACCES and
 * EPERM have their own codes; any other maps to E_HOST_IO.
 */
export type HostErrno = string;

const ERRNO_CODES: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'E_HOST_NOT_FOUND',
  EINVAL: 'E_HOST_INVALID',
  EBUSY: 'E_HOST_BUSY',
  EACCES: 'E_HOST_ACCESS',
  EPERM: 'E_HOST_ACCESS',
};

const ERRNO_MEANINGS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EINVAL: 'the kernel rejected the value',
  EBUSY: 'the kernel refused the write in the current state',
  EACCES: 'the file is not writable',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a path component is not a directory',
};

/** The catalogue code for an errno name: ENOENT, EINVAL, EBUSY, EACCES/EPERM, else E_HOST_IO. */
export function errnoToCode(errno: string): ErrorCode {
  return ERRNO_CODES[errno] ?? 'E_HOST_IO';
}

/** What failed: the operation, the full file path, the value written (for writes). */
export interface HostFileFailure {
  readonly op: 'read' | 'write' | 'list' | 'exists';
  /** Absolute path of the file, as an operator would `cat` it. */
  readonly file: string;
  readonly errno: HostErrno;
  readonly value?: string;
  /** Why the kernel refused and what it allows, when known (the simulated kernel knows). */
  readonly hint?: string;
}

/**
 * Builds the coded error for a failed kernel file operation. The message names the file, the
 * value written and the errno; `details` carries `{ file, errno, value? }`.
 */
export function hostFileError(failure: HostFileFailure, cause?: unknown): VpmdError {
  const { op, file, errno, value, hint } = failure;
  const what = op === 'write' ? `Cannot write ${JSON.stringify(value ?? '')} to ${file}` : `Cannot ${op} ${file}`;
  const meaning = ERRNO_MEANINGS[errno];
  const reason = meaning === undefined ? errno : `${errno}, ${meaning}`;
  const message = `${what}: ${reason}${hint === undefined ? '' : `: ${hint}`}`;
  const details: Record<string, string> = { file, errno };
  if (value !== undefined) details.value = value;
  return new VpmdError(errnoToCode(errno), message, details, cause === undefined ? undefined : { cause });
}
