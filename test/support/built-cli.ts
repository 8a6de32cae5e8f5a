/**
 * The compiled CLIs, as users run them. Integration tests spawn `node dist/app/vpmd.js`;
 * `npm test` builds first, and `ensureBuilt` (run once by global-setup.ts) rebuilds when any
 * source is newer than the build, so `npx vitest run` alone never tests stale code.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Repository root. */
export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const VPMD = join(ROOT, 'dist/app/vpmd.js');
export const VPMCTL = join(ROOT, 'dist/app/vpmctl.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** Builds dist/ when it is missing or older than any compiled source folder. */
export function ensureBuilt(): void {
  const built = existsSync(VPMD) ? statSync(VPMD).mtimeMs : 0;
  const src = Math.max(...['core', 'app', 'testkit', 'plugins', 'examples'].map((d) => newest(join(ROOT, d))));
  if (built < src || !existsSync(VPMCTL)) {
    // The whole build (tsc, precompiled validators, bundle): what npm test and the package run.
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  }
}

/** Result of running a CLI to completion. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node FILE args` with optional stdin; resolves when it exits (bounded by `timeoutMs`). */
export function runCli(
  file: string,
  args: readonly string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [file, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(
        new Error(
          `${file} ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Starts a long-running CLI; `waitFor` resolves when stdout or stderr matches. */
export function startCli(
  file: string,
  args: readonly string[],
): {
  child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor: (re, timeoutMs = 60_000) =>
      new Promise((res, rej) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            res(m[0]);
          }
        };
        const timer = setTimeout(
          () => rej(new Error(`timed out waiting for ${re}; output so far:\n${out}`)),
          timeoutMs,
        );
        waiters.push(check);
        check();
      }),
  };
}
