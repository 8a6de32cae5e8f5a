/**
 * `vpmctl shell`: an interactive prompt over one control connection, with command-name
 * completion (from the agent's own registry, so plugins' commands complete too) and history
 * kept in ~/.vpmctl_history.
 */
import { createInterface, type Interface } from 'node:readline';
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ControlClient } from '../core/control/control-client.js';
import type { CommandInfo } from '../core/services/commands.js';
import { splitWords } from './argv-words.js';
import { runAndPrint } from './vpmctl-run.js';
import { GlobalFlagError, longestCommand, splitGlobalFlags, type GlobalFlags } from './global-flags.js';
import { EXIT_CODES } from '../core/errors.js';

const HISTORY_MAX = 1000;

/** Completions for `line` given the command names. Exported for tests. */
export function completeLine(line: string, names: readonly string[]): [string[], string] {
  const endsWithSpace = /\s$/.test(line);
  const words = line.trim() === '' ? [] : line.trim().split(/\s+/);
  const done = endsWithSpace ? words : words.slice(0, -1);
  const partial = endsWithSpace ? '' : (words[words.length - 1] ?? '');
  const prefix = done.join(' ');
  const next = new Set<string>();
  for (const n of [...names, 'quit', 'exit']) {
    const w = n.split(' ');
    if (w.slice(0, done.length).join(' ') !== prefix || w.length <= done.length) continue;
    const cand = w[done.length] as string;
    if (cand.startsWith(partial)) next.add(cand);
  }
  return [[...next].sort().map((c) => `${c} `), partial];
}

function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_MAX).reverse();
  } catch {
    return [];
  }
}

/** Runs one shell line; vpmctl's options may stand anywhere on it, as on the command line. */
async function runLine(
  client: ControlClient,
  words: readonly string[],
  names: readonly string[],
  opts: { json: boolean; socket: string },
): Promise<number> {
  let flags: GlobalFlags;
  let command: string[];
  try {
    ({ flags, command } = splitGlobalFlags(words));
    if (flags.socket !== undefined)
      throw new GlobalFlagError(`this shell is connected to ${opts.socket}: give --socket when starting vpmctl`);
  } catch (e) {
    if (!(e instanceof GlobalFlagError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    return EXIT_CODES.usage;
  }
  const json = opts.json || flags.json;
  if (flags.version) command = ['version'];
  else if (flags.help) command = ['help', ...(longestCommand(command, names)?.split(' ') ?? [])];
  return command.length === 0 ? EXIT_CODES.ok : runAndPrint(client, command, { json });
}

/** Runs the interactive shell until EOF or `quit`; returns the exit code of the last command. */
export async function runShell(
  client: ControlClient,
  opts: { json: boolean; socket: string; historyFile?: string },
): Promise<number> {
  let names: string[] = (await client.commands()).map((c: CommandInfo) => c.name);
  const historyFile = opts.historyFile ?? join(homedir(), '.vpmctl_history');
  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: 'vpmctl# ',
    history: loadHistory(historyFile),
    historySize: HISTORY_MAX,
    completer: (line: string) => completeLine(line, names),
  });
  if (process.stdin.isTTY)
    process.stdout.write(`vpmctl shell on ${opts.socket}: 'help' lists commands, TAB completes, 'quit' leaves.\n`);
  let last = 0;
  rl.prompt();
  for await (const line of rl) {
    let words: string[];
    try {
      words = splitWords(line);
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      rl.prompt();
      continue;
    }
    if (words[0] === 'quit' || words[0] === 'exit') break;
    if (words.length > 0) {
      rl.pause();
      last = await runLine(client, words, names, opts);
      rl.resume();
      names = (await client.commands()).map((c) => c.name);
    }
    rl.prompt();
  }
  rl.close();
  try {
    const hist = (rl as unknown as { history: string[] }).history ?? [];
    writeFileSync(historyFile, `${[...hist].reverse().slice(-HISTORY_MAX).join('\n')}\n`, { mode: 0o600 });
  } catch {
    // history is a convenience; an unwritable home must not fail the shell
  }
  return last;
}
