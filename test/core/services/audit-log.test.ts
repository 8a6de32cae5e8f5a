/**
 * The core's audit log as audit-log@1 reads it: ids 1, 2, 3... kept across restarts (also for
 * lines written before ids existed), paging, lookup by id, the ring bound, the rotated file read
 * back, and a torn last line skipped.
 */
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../../core/services/audit-log.js';
import { createLogger } from '../../../core/logger.js';

const log = createLogger({ level: 'silent' });
const entry = (action: string): AuditEntry => ({
  action,
  principal: 'root',
  origin: 'control-socket',
  outcome: 'ok',
  timestamp: 1_700_000_000_000,
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpmd-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('AuditLog', () => {
  it('numbers entries and keeps the ids across a restart', async () => {
    const a = new AuditLog(dir, log);
    for (const n of ['one', 'two', 'three']) a.record(entry(n));
    await a.flush();
    const b = new AuditLog(dir, log);
    await b.load();
    expect(b.get(2)?.action).toBe('two');
    expect(b.record(entry('four')).id).toBe(4);
    await b.flush();
    const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual([1, 2, 3, 4]);
  });

  it('pages oldest first, finds by id, and forgets beyond the ring', () => {
    const a = new AuditLog(dir, log, 5);
    for (let i = 1; i <= 8; i++) a.record(entry(`a${i}`));
    expect(a.page()).toMatchObject({ total: 5 });
    expect(a.page().entries.map((e) => e.id)).toEqual([4, 5, 6, 7, 8]);
    expect(a.page({ skip: 1, top: 2 }).entries.map((e) => e.action)).toEqual(['a5', 'a6']);
    expect(a.page({ skip: 10 }).entries).toEqual([]);
    expect(a.get(3)).toBeUndefined();
    expect(a.get(8)?.action).toBe('a8');
    expect(a.get(9)).toBeUndefined();
  });

  it('gives lines without ids the next ids, reads the rotated file first, and skips a torn line', async () => {
    const file = join(dir, 'audit.jsonl');
    await writeFile(`${file}.1`, `${JSON.stringify(entry('old1'))}\n${JSON.stringify(entry('old2'))}\n`);
    await writeFile(file, `${JSON.stringify({ ...entry('new'), id: 10 })}\n`);
    await appendFile(file, '{"action":"torn');
    const a = new AuditLog(dir, log);
    await a.load();
    expect(a.page().entries.map((e) => `${e.id} ${e.action}`)).toEqual(['1 old1', '2 old2', '10 new']);
    expect(a.record(entry('next')).id).toBe(11);
    await a.flush();
    // The entry after the torn line starts a line of its own, so it survives the next load.
    const b = new AuditLog(dir, log);
    await b.load();
    expect(b.get(11)?.action).toBe('next');
  });
});
