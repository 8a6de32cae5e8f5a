/**
 * The audit trail: every privileged action and every refusal (who, from where, what, outcome),
 * kept in memory (the newest `keep`) and appended as JSON lines to `state.dir/audit.jsonl` so it
 * survives restarts. Each line is an `audit.v1` event plus its `id` (1, 2, 3...), so ids stay the
 * same across restarts; lines written before ids existed get the next free one on load. The file
 * is rotated to `audit.jsonl.1` past `rotateBytes`; a load reads the rotated file first when the
 * current one holds fewer than `keep` entries. A torn last line after a crash is skipped on load,
 * never fatal. Plugins read the ring through `audit-log@1` ({@link AuditLogReader}).
 */
import { appendFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { VpmdEventMap } from '../contracts/events.js';
import type { AuditLogReader, AuditPage, AuditRecord } from '../contracts/audit-log.js';

/** How many entries the audit log keeps in memory by default (the newest). */
export const AUDIT_ENTRIES_KEPT = 1000;

/** One audit entry. */
export type AuditEntry = VpmdEventMap['audit.v1'];

/** The audit log. */
export class AuditLog implements AuditLogReader {
  private readonly recent: AuditRecord[] = [];
  private readonly file: string;
  private lastId = 0;
  /** The file ends in a torn line (a crash mid-write): the next append starts a new line. */
  private tornTail = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    dir: string,
    private readonly log: Logger,
    private readonly keep = AUDIT_ENTRIES_KEPT,
    private readonly rotateBytes = 8 * 1024 * 1024,
  ) {
    this.file = join(dir, 'audit.jsonl');
  }

  /** Loads the most recent entries from disk (the rotated file first). */
  async load(): Promise<void> {
    const lines: string[] = [];
    for (const f of [`${this.file}.1`, this.file]) {
      const text = await readFile(f, 'utf8').catch(() => '');
      if (f === this.file) this.tornTail = text !== '' && !text.endsWith('\n');
      lines.push(...text.split('\n').filter((l) => l.trim() !== ''));
    }
    for (const line of lines.slice(-this.keep)) {
      try {
        const parsed = JSON.parse(line) as AuditEntry & { id?: unknown };
        const id = typeof parsed.id === 'number' && parsed.id > this.lastId ? parsed.id : this.lastId + 1;
        this.lastId = id;
        this.remember({ ...parsed, id });
      } catch {
        this.log.warn({ file: this.file }, 'skipped a torn audit line');
      }
    }
  }

  /** Records an entry (in memory now, on disk in order); returns it with its id. */
  record(entry: AuditEntry): AuditRecord {
    // Not `{ ...entry, id }`: V8 (Node 20) gives each object built that way a hidden class of its
    // own, about 280 bytes more per kept entry; Object.assign's share one.
    const rec: AuditRecord = Object.assign({}, entry, { id: ++this.lastId });
    this.remember(rec);
    this.writing = this.writing
      .then(() => this.append(rec))
      .catch((e: unknown) => this.log.error({ err: e, file: this.file }, 'audit write failed'));
    return rec;
  }

  /** The newest `limit` entries, oldest first. */
  list(limit = 50): AuditRecord[] {
    return this.recent.slice(-limit);
  }

  page(opts: { readonly skip?: number; readonly top?: number } = {}): AuditPage {
    const skip = Math.max(0, Math.floor(opts.skip ?? 0));
    const top = opts.top === undefined ? this.recent.length : Math.max(0, Math.floor(opts.top));
    return { total: this.recent.length, entries: this.recent.slice(skip, skip + top) };
  }

  get(id: number): AuditRecord | undefined {
    // Ids increase along the ring: binary search.
    let lo = 0;
    let hi = this.recent.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = this.recent[mid] as AuditRecord;
      if (at.id === id) return at;
      if (at.id < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Resolves when every recorded entry is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }

  private remember(e: AuditRecord): void {
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
  }

  private async append(e: AuditRecord): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true, mode: 0o700 });
    const size = (await stat(this.file).catch(() => undefined))?.size ?? 0;
    if (size > this.rotateBytes) await rename(this.file, `${this.file}.1`);
    const lead = this.tornTail ? '\n' : '';
    this.tornTail = false;
    await appendFile(this.file, `${lead}${JSON.stringify(e)}\n`, { mode: 0o600 });
  }
}
