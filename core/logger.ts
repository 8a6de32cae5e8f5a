/**
 * Structured JSON logging (pino). One root logger per agent; each plugin gets a child bound to
 * its name. Secrets never reach a log: redaction covers every key name that can carry one,
 * at any depth we emit (top level, one and two levels down).
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Key names whose values are secrets (passwords, keys, tokens, SNMP communities). */
export const SECRET_KEYS: readonly string[] = [
  'password',
  'passwd',
  'passphrase',
  'authPassphrase',
  'privPassphrase',
  'authKey',
  'privKey',
  'key',
  'privateKey',
  'kg',
  'token',
  'authToken',
  'xAuthToken',
  'secret',
  'community',
  'authorization',
  'cookie',
];

/** pino redaction paths for {@link SECRET_KEYS} at depths 0 to 3. */
export function redactionPaths(keys: readonly string[] = SECRET_KEYS): string[] {
  const paths: string[] = [];
  for (const k of keys) {
    paths.push(k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`);
  }
  return paths;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: pino.Level | 'silent';
  /** Where to write; defaults to standard error (stdout carries command output). */
  destination?: DestinationStream;
}

/** Creates the agent's root logger. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { name: 'vpmd' },
      redact: { paths: redactionPaths(), censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
