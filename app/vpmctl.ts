#!/usr/bin/env node
/**
 * vpmctl: the operator's client. `vpmctl COMMAND [ARGS...] [--json] [--socket PATH]` runs any
 * command the agent has registered (vpmctl's options go anywhere, see global-flags.ts);
 * `vpmctl shell` opens an interactive prompt.
 */
import { EXIT_CODES, exitCodeFor, toVpmdError } from '../core/errors.js';
import { ControlClient } from '../core/control/control-client.js';
import { runAndPrint } from './vpmctl-run.js';
import { runShell } from './shell.js';
import { GlobalFlagError, longestCommand, splitGlobalFlags, type GlobalFlags } from './global-flags.js';

/** Default control socket when neither --socket nor VPMD_SOCKET is given. */
export const DEFAULT_SOCKET = '/run/vpmd/control.sock';

const USAGE = `Usage: vpmctl [OPTIONS] COMMAND [ARGS...]
       vpmctl [OPTIONS] shell
       vpmctl [OPTIONS] help [COMMAND]

Options (anywhere on the line, as with git or kubectl; after '--' a word is never an option):
  -s, --socket PATH   control socket of the agent (default: $VPMD_SOCKET or ${DEFAULT_SOCKET})
  -j, --json          machine-readable output (one JSON document)
  -h, --help          this help; 'vpmctl COMMAND --help' describes a command, 'vpmctl help' lists them
  -V, --version       print the version

Exit codes: 0 ok, 1 internal error, 2 invalid arguments, 3 not permitted, 4 not found,
5 busy/conflict, 6 unsupported, 7 peer unavailable, 8 timeout, 9 cannot reach the agent,
10-125 a plugin's own (declared in its manifest).
`;

async function main(argv: string[]): Promise<number> {
  let flags: GlobalFlags;
  let command: string[];
  try {
    ({ flags, command } = splitGlobalFlags(argv));
  } catch (e) {
    if (!(e instanceof GlobalFlagError)) throw e;
    process.stderr.write(`vpmctl: ${e.message}\n\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  if (flags.version) {
    const { VPMD_VERSION } = await import('../core/version.js');
    process.stdout.write(`vpmctl ${VPMD_VERSION}\n`);
    return EXIT_CODES.ok;
  }
  if (command.length === 0) {
    process.stdout.write(USAGE);
    return flags.help ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
  const socket = flags.socket ?? process.env.VPMD_SOCKET ?? DEFAULT_SOCKET;
  const client = await ControlClient.connect(socket);
  try {
    if (command[0] === 'shell' && command.length === 1) return await runShell(client, { json: flags.json, socket });
    if (flags.help) {
      // `vpmctl ipmi sel --help`: the agent's help for the longest command the words name.
      const names = (await client.commands()).map((c) => c.name);
      const name = longestCommand(command, names);
      return await runAndPrint(client, ['help', ...(name === undefined ? [] : name.split(' '))], { json: flags.json });
    }
    return await runAndPrint(client, command, { json: flags.json });
  } finally {
    client.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = toVpmdError(e);
    process.stderr.write(`vpmctl: ${err.message}\n`);
    process.exitCode = exitCodeFor(err);
  },
);
