/**
 * Human output for commands, in the plain aligned style of virsh and ipmitool: tables with a
 * header and a dashed rule, or `Key: value` lines. Exported for plugins' own formatters.
 */

/** A column of {@link formatTable}: which field and what header. */
export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number | boolean | null | undefined;
  readonly align?: 'left' | 'right';
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.map(cell).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v; // a function or symbol has no text of its own
}

/** Renders rows as an aligned table (virsh `list` style). */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (vals: readonly string[]): string =>
    vals
      .map((v, i) => (columns[i]?.align === 'right' ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number)))
      .join('   ')
      .trimEnd();
  const header = line(columns.map((c) => c.header));
  const rule = '-'.repeat(header.length + 1);
  return [` ${header}`, rule, ...cells.map((r) => ` ${line(r)}`)].join('\n');
}

/** Renders `Key: value` lines with aligned values (virsh `dominfo` style). */
export function formatKeyValues(entries: ReadonlyArray<readonly [string, unknown]>): string {
  const w = Math.max(0, ...entries.map(([k]) => k.length + 1));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(w)} ${cell(v)}`).join('\n');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A generic rendering for commands without their own formatter. */
export function formatHuman(result: unknown): string {
  if (result === undefined || result === null) return '';
  if (typeof result === 'string') return result;
  if (Array.isArray(result)) {
    if (result.length === 0) return '(none)';
    if (result.every(isPlainObject)) {
      const keys = [...new Set(result.flatMap((r) => Object.keys(r)))];
      return formatTable(
        result,
        keys.map((k) => ({ header: k, value: (r: Record<string, unknown>) => cell(r[k]) })),
      );
    }
    return result.map(cell).join('\n');
  }
  if (isPlainObject(result)) return formatKeyValues(Object.entries(result));
  return cell(result);
}
