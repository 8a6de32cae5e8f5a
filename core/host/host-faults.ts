/**
 * Per-attribute read faults. On a real machine any kernel file can be missing, empty, garbled or
 * refuse to be read (ENODATA from a sleeping sensor, EIO from firmware, EACCES on `energy_uj`
 * since Linux 5.10, EBUSY on a policy whose CPUs are all offline). A failed read costs that one
 * attribute: readers record a {@link HostFault} and carry on, and the result says it is degraded.
 * Writes are not covered: they still fail loudly with the kernel's error.
 */
import { isVpmdError } from '../errors.js';
import type { SysfsBackend } from './sysfs-backend.js';

/**
 * Why an attribute is unavailable: `missing` (the file does not exist but should), `empty`,
 * `unparseable` (content not of the expected form), or the errno the read failed with
 * (`ENODATA`, `EIO`, `EACCES`, `EPERM`, `EBUSY`, `EINVAL`, `EAGAIN`, ...).
 */
export type FaultReason = 'missing' | 'empty' | 'unparseable' | (string & {});

/** One attribute that could not be read. */
export interface HostFault {
  /** Root-relative path of the file (or directory, for a failed listing). */
  readonly file: string;
  readonly reason: FaultReason;
  /** What happened, naming the file and content, for operators. */
  readonly message: string;
}

/** Collects the faults of one read (a policy, a zone, the topology). */
export class FaultLog {
  private readonly list: HostFault[] = [];

  /** Records a fault. */
  add(fault: HostFault): void {
    this.list.push(fault);
  }

  /** Faults so far, in the order they were recorded. */
  get faults(): readonly HostFault[] {
    return this.list;
  }

  /** True when nothing failed. */
  get clean(): boolean {
    return this.list.length === 0;
  }

  /** Records a failed read of `file` from the error the backend threw. */
  addError(backend: SysfsBackend, file: string, error: unknown, what: 'read' | 'list' = 'read'): void {
    const reason = errnoOfError(error);
    const detail = error instanceof Error ? error.message : String(error);
    this.add({
      file,
      reason,
      message: `${what === 'list' ? 'cannot list' : 'cannot read'} ${where(backend, file)}: ${detail}`,
    });
  }
}

/** The errno name a backend error carries (`details.errno`), `missing` for ENOENT, else `EIO`. */
export function errnoOfError(error: unknown): FaultReason {
  if (isVpmdError(error, 'E_HOST_NOT_FOUND')) return 'missing';
  const details = (error as { details?: Record<string, unknown> } | undefined)?.details;
  const errno = details?.errno;
  if (typeof errno === 'string' && errno !== '') return errno === 'ENOENT' ? 'missing' : errno;
  return 'EIO';
}

function where(backend: SysfsBackend, file: string): string {
  return backend.root.endsWith('/') ? `${backend.root}${file}` : `${backend.root}/${file}`;
}

/** A fault for a file that does not exist although the kernel always provides it. */
export function missingFault(backend: SysfsBackend, file: string, why = 'does not exist'): HostFault {
  return { file, reason: 'missing', message: `${where(backend, file)} ${why}` };
}

/** A fault for content that is not of the expected form. */
export function contentFault(backend: SysfsBackend, file: string, content: string, expected: string): HostFault {
  return content.trim() === ''
    ? { file, reason: 'empty', message: `${where(backend, file)} is empty, expected ${expected}` }
    : {
        file,
        reason: 'unparseable',
        message: `${where(backend, file)} holds ${JSON.stringify(content.slice(0, 80))}, expected ${expected}`,
      };
}

/** Returns `faults` when non-empty, for optional `faults` fields (absent on a healthy object). */
export function faultsField(log: FaultLog): { faults?: readonly HostFault[] } {
  return log.clean ? {} : { faults: [...log.faults] };
}
