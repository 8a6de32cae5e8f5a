/**
 * Secrets kept in files (`passwordFile`, `tokenFile`, `kgFile`...): the first line, trimmed,
 * from a file that other users cannot read. One reader for every plugin; each plugin words the
 * problem in its own coded error, naming its config field.
 */
import { readFile, stat } from 'node:fs/promises';

/** Why a secret file gave no secret. */
export type SecretFileProblem =
  | { readonly kind: 'world-readable' }
  | { readonly kind: 'unreadable'; readonly code: string }
  | { readonly kind: 'empty' };

/** The secret, or the problem; never throws for the file's sake. */
export type SecretLine = { readonly line: string } | { readonly problem: SecretFileProblem };

/** Reads the first line of the secret file at `path`, refusing a file every user may read. */
export async function readSecretLine(path: string): Promise<SecretLine> {
  let text: string;
  try {
    if (((await stat(path)).mode & 0o004) !== 0) return { problem: { kind: 'world-readable' } };
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { problem: { kind: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? String(e) } };
  }
  const line = text.split('\n')[0]?.trim() ?? '';
  return line === '' ? { problem: { kind: 'empty' } } : { line };
}

/** The usual words for a problem with the secret file at `path`. */
export function describeSecretProblem(path: string, problem: SecretFileProblem): string {
  switch (problem.kind) {
    case 'world-readable':
      return `${path} is readable by every user; chmod o-r it`;
    case 'unreadable':
      return `cannot read ${path}: ${problem.code}`;
    case 'empty':
      return `${path} is empty`;
  }
}
