/** Bounded waiting: every wait in the peer kit ends, with an error that says what it waited for. */
import { setTimeout as delay } from 'node:timers/promises';
import { peerTimeoutError } from './peer-errors.js';

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

/**
 * Settles like `promise`, or rejects with a timeout error after `timeoutMs`.
 * @param peer - the peer being waited on, for the error
 * @param what - what is being waited for, e.g. "call org.libvirt.Connect.ListDomains"
 * @param output - called on timeout for the peer's recent output, appended to the error
 */
export function withTimeout<T>(
  peer: string,
  what: string,
  timeoutMs: number,
  promise: Promise<T>,
  output?: () => string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(peerTimeoutError(peer, what, timeoutMs, output?.() ?? '')), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How {@link pollUntil} polls. */
export interface PollOptions<T> {
  /** The peer being waited on, for errors. */
  readonly peer: string;
  /** What readiness means, for errors ("bus name org.freedesktop.login1 answers"). */
  readonly what: string;
  /** Overall bound. */
  readonly timeoutMs: number;
  /** Pause between attempts. */
  readonly intervalMs: number;
  /** One attempt: a value means ready; undefined or a throw means "not yet". */
  readonly probe: () => Promise<T | undefined>;
  /** Called before every attempt; throw from it to give up early (e.g. the process exited). */
  readonly check?: () => void;
  /** The peer's recent output, appended to the timeout error. */
  readonly output?: () => string;
}

/**
 * Repeats `probe` until it yields a value, `check` throws, or the time is up.
 * @throws the error `check` threw, or a timeout error carrying the last probe failure
 */
export async function pollUntil<T>(opts: PollOptions<T>): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    opts.check?.();
    try {
      const value = await opts.probe();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    opts.check?.();
    if (Date.now() >= deadline)
      throw peerTimeoutError(opts.peer, opts.what, opts.timeoutMs, opts.output?.() ?? '', lastError);
    await sleep(Math.min(opts.intervalMs, Math.max(0, deadline - Date.now())));
  }
}
