/**
 * Running one command through the control channel and presenting its outcome: human text on
 * stdout (or JSON with --json), progress on stderr, errors on stderr (JSON on stdout with --json),
 * and an exit code that says what kind of failure happened (see EXIT_CODES).
 */
import { EXIT_CODES, VpmdError, exitCodeFor } from '../core/errors.js';
import { toJsonLine } from '../core/control/protocol.js';
import type { ControlClient, RunReply } from '../core/control/control-client.js';
import { readStdinFields } from './read-input.js';

/** Where output goes (replaceable in tests and in the shell). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Process stdout/stderr. */
export const processOutput: Output = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Runs `argv` on `client`, prints the outcome and returns the exit code. */
export async function runAndPrint(
  client: ControlClient,
  argv: readonly string[],
  opts: { json: boolean; output?: Output; readInput?: typeof readStdinFields },
): Promise<number> {
  const o = opts.output ?? processOutput;
  const onProgress = (m: string): void => o.err(`${m}\n`);
  let reply: RunReply = await client.run(argv, { onProgress });
  if (
    reply.type === 'error' &&
    reply.error.code === 'E_COMMAND_STDIN' &&
    reply.error.stdin &&
    reply.error.stdin.length > 0
  ) {
    const lines = await (opts.readInput ?? readStdinFields)(reply.error.stdin);
    reply = await client.run(argv, { stdin: lines, onProgress });
  }
  if (reply.type === 'result') {
    if (opts.json) o.out(toJsonLine(reply.result === undefined ? null : reply.result).replace(/\n$/, '') + '\n');
    else if (reply.human !== '') o.out(reply.human.endsWith('\n') ? reply.human : `${reply.human}\n`);
    return EXIT_CODES.ok;
  }
  const err = new VpmdError(reply.error.code, reply.error.message, reply.error.details);
  if (opts.json) o.out(toJsonLine({ error: reply.error }));
  else o.err(`error: ${reply.error.message}\n`);
  // The agent knows the plugins' declarations (vpmctl loads no plugin): its exit code wins.
  const declared = reply.error.exitCode;
  return typeof declared === 'number' && Number.isInteger(declared) && declared > 0 && declared < 126
    ? declared
    : exitCodeFor(err);
}
