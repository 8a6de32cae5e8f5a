#!/usr/bin/env node
/**
 * vpmctl: the operator's client. `vpmctl [--socket PATH] [--json] COMMAND [ARGS...]` runs any
 * command the agent has registered; `vpmctl shell` opens an interactive prompt.
 */
import { parseArgs } from 'node:util';
import { EXIT_CODES, exitCodeFor, toVpmdError } from '../core/errors.js';
import { ControlClient } from '../core/control/control-client.js';
import { runAndPrint } from './vpmctl-run.js';
import { runShell } from './shell.js';

/** Default control socket when neither --socket nor VPMD_SOCKET is given. */
export const DEFAULT_SOCKET = '/run/vpmd/control.sock';

const USAGE = `Usage: vpmctl [--socket PATH] [--json] COMMAND [ARGS...]
       vpmctl [--socket PATH] shell
       vpmctl [--socket PATH] help [COMMAND]

Options:
  -s, --socket PATH   control socket of the agent (default: $VPMD_SOCKET or ${DEFAULT_SOCKET})
  -j, --json          machine-readable output (one JSON document)
  -h, --help          this help; 'vpmctl help' lists the agent's commands
  -V, --version       print the version

Exit codes: 0 ok, 1 internal error, 2 invalid arguments, 3 not permitted, 4 not found,
5 busy/conflict, 6 unsupported, 7 peer unavailable, 8 timeout, 9 cannot reach the agent,
10-125 a plugin's own (declared in its manifest).
`;

async function main(argv: string[]): Promise<number> {
  // Options stop at the first word that is not one: the rest belongs to the command.
  const firstWord = argv.findIndex(
    (a, i) => !a.startsWith('-') && !(i > 0 && /^(-s|--socket)$/.test(argv[i - 1] ?? '')),
  );
  const own = firstWord < 0 ? argv : argv.slice(0, firstWord);
  const rest = firstWord < 0 ? [] : argv.slice(firstWord);
  let values: { socket?: string; json?: boolean; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: own,
      options: {
        socket: { type: 'string', short: 's' },
        json: { type: 'boolean', short: 'j' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`vpmctl: ${(e as Error).message}\n\n${USAGE}`);
    return EXIT_CODES.usage;
  }
  if (values.version) {
    const { VPMD_VERSION } = await import('../core/version.js');
    process.stdout.write(`vpmctl ${VPMD_VERSION}\n`);
    return EXIT_CODES.ok;
  }
  if (values.help || rest.length === 0) {
    process.stdout.write(USAGE);
    return values.help ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
  const socket = values.socket ?? process.env.VPMD_SOCKET ?? DEFAULT_SOCKET;
  const client = await ControlClient.connect(socket);
  try {
    if (rest[0] === 'shell' && rest.length === 1) return await runShell(client, { json: values.json ?? false, socket });
    return await runAndPrint(client, rest, { json: values.json ?? false });
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
