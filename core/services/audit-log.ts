/**
 * The audit trail: every privileged action and every refusal (who, from where, what, outcome),
 * kept in memory for quick queries and appended as JSON lines to `state.dir/audit.jsonl`
 * so it survives restarts. A torn last line after a crash is skipped on load, never fatal.
 */
import { appendFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { VpmdEventMap } from '../contracts/events.js';

/** One audit entry. */
export type AuditEntry = VpmdEventMap['audit.v1'];

/** The audit log. */
export class AuditLog {
  private readonly recent: AuditEntry[] = [];
  private readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    dir: string,
    private readonly log: Logger,
    private readonly keep = 1000,
    private readonly rotateBytes = 8 * 1024 * 1024,
  ) {
    this.file = join(dir, 'audit.jsonl');
  }

  /** Loads the most recent entries from disk. */
  async load(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(-this.keep - 1)) {
      if (line.trim() === '') continue;
      try {
        this.remember(JSON.parse(line) as AuditEntry);
      } catch {
        this.log.warn({ file: this.file }, 'skipped a torn audit line');
      }
    }
  }

  /** Records an entry (in memory now, on disk in order). */
  record(entry: AuditEntry): void {
    this.remember(entry);
    this.writing = this.writing
      .then(() => this.append(entry))
      .catch((e: unknown) => this.log.error({ err: e, file: this.file }, 'audit write failed'));
  }

  /** The newest `limit` entries, oldest first. */
  list(limit = 50): AuditEntry[] {
    return this.recent.slice(-limit);
  }

  /** Resolves when every recorded entry is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }

  private remember(e: AuditEntry): void {
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
  }

  private async append(e: AuditEntry): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true, mode: 0o700 });
    const size = (await stat(this.file).catch(() => undefined))?.size ?? 0;
    if (size > this.rotateBytes) await rename(this.file, `${this.file}.1`);
    await appendFile(this.file, `${JSON.stringify(e)}\n`, { mode: 0o600 });
  }
}
