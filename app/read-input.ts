/**
 * Reading values a command takes on standard input: prompted (without echo for secrets) on a
 * terminal, or one per line from a pipe (`printf 'pw\n' | vpmctl account add alice`).
 */
import { createInterface } from 'node:readline';
import type { StdinField } from '../core/services/commands.js';

/** Reads every line of a non-terminal stdin. */
async function readPipedLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
}

/** Prompts for one value on the terminal; hides typed characters when `secret`. */
function promptTty(prompt: string, secret: boolean): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    if (secret) {
      // Suppress echo: readline writes typed characters through _writeToOutput.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.includes(prompt)) process.stderr.write(prompt);
      };
    }
    rl.question(prompt, (answer) => {
      rl.close();
      if (secret) process.stderr.write('\n');
      resolve(answer);
    });
  });
}

/** Reads the values of `fields`, in order. */
export async function readStdinFields(fields: readonly StdinField[]): Promise<string[]> {
  if (process.stdin.isTTY) {
    const out: string[] = [];
    for (const f of fields) out.push(await promptTty(`${f.prompt}: `, f.secret));
    return out;
  }
  const lines = await readPipedLines();
  return fields.map((_, i) => lines[i] ?? '');
}
