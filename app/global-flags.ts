/**
 * vpmctl's own options (`--json`, `--socket`, `--help`, `--version`), accepted anywhere on the
 * line as git and kubectl accept theirs: `vpmctl status --json` and `vpmctl --json status` are
 * the same. After `--` nothing is an option: `vpmctl cmd -- --json` hands `--json` to the command.
 */

/** The options vpmctl itself takes. */
export interface GlobalFlags {
  /** `--json` / `-j`: one JSON document on stdout. */
  readonly json: boolean;
  /** `--socket PATH` / `-s PATH` / `--socket=PATH`. */
  readonly socket?: string;
  /** `--help` / `-h`. */
  readonly help: boolean;
  /** `--version` / `-V`. */
  readonly version: boolean;
}

/** vpmctl's options, for messages. */
export const GLOBAL_OPTIONS = '-s/--socket PATH, -j/--json, -h/--help, -V/--version';

/** A word that is not one of vpmctl's options where only they may stand, or a --socket without a path. */
export class GlobalFlagError extends Error {}

const SWITCHES: Readonly<Record<string, 'json' | 'help' | 'version'>> = {
  '--json': 'json',
  '-j': 'json',
  '--help': 'help',
  '-h': 'help',
  '--version': 'version',
  '-V': 'version',
};

/**
 * Takes vpmctl's options out of `argv`, wherever they stand before `--`; the rest, in order, is
 * the command line (with its `--` kept, so that the command too stops reading options there).
 * Before the first command word only vpmctl's options may stand; after it, other options belong
 * to the command.
 * @throws GlobalFlagError for an unknown option before the command, or `--socket` without a path.
 */
export function splitGlobalFlags(argv: readonly string[]): { flags: GlobalFlags; command: string[] } {
  const switches = { json: false, help: false, version: false };
  let socket: string | undefined;
  const command: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      command.push(...argv.slice(i));
      break;
    }
    const flag = SWITCHES[word];
    if (flag !== undefined) {
      switches[flag] = true;
      continue;
    }
    if (word === '--socket' || word === '-s') {
      const path = argv[i + 1];
      if (path === undefined || path === '') throw new GlobalFlagError(`${word} needs the path of the control socket`);
      socket = path;
      i++;
      continue;
    }
    if (word.startsWith('--socket=')) {
      socket = word.slice('--socket='.length);
      if (socket === '') throw new GlobalFlagError('--socket= needs the path of the control socket');
      continue;
    }
    if (command.length === 0 && word.startsWith('-') && word !== '-') {
      throw new GlobalFlagError(`unknown option '${word}' (vpmctl's options: ${GLOBAL_OPTIONS})`);
    }
    command.push(word);
  }
  return { flags: { ...switches, ...(socket === undefined ? {} : { socket }) }, command };
}

/** The longest of `names` (space-separated command names) that `words` start with. */
export function longestCommand(words: readonly string[], names: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const name of names) {
    const parts = name.split(' ');
    if (parts.length > words.length || parts.some((p, i) => p !== words[i])) continue;
    if (best === undefined || parts.length > best.split(' ').length) best = name;
  }
  return best;
}
