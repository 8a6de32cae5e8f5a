/**
 * Kernel CPU range lists (`cpulist` format, as in `cpu/online`: `0-7,16-23`). The kernel also
 * accepts the group form `0-15:2/4` (in each group of 4 CPUs of 0-15, the first 2), which
 * appears in `isolcpus=` and similar command-line parameters.
 */
import { VpmdError } from '../errors.js';

/** Options for {@link parseCpuList}. */
export interface ParseCpuListOptions {
  /** Where the text came from (a file path or config key), named in error messages. */
  readonly source?: string;
  /**
   * Code for malformed input: E_HOST_PARSE (default) for kernel files, E_HOST_INVALID when the
   * text is user input such as a configuration value.
   */
  readonly code?: 'E_HOST_PARSE' | 'E_HOST_INVALID';
}

/** The largest CPU number accepted, far above any real host (guards against typos like 1e9). */
export const MAX_CPU_NUMBER = 65_535;

const ITEM = /^(\d+)(?:-(\d+)(?::(\d+)\/(\d+))?)?$/;

/**
 * Parses a CPU list into sorted, de-duplicated CPU numbers. Empty or whitespace-only text is
 * the empty list (the kernel writes an empty line for, e.g., no offline CPUs).
 *
 * @throws VpmdError (E_HOST_PARSE or `options.code`) naming the bad item, its source and the
 *   accepted syntax.
 */
export function parseCpuList(text: string, options: ParseCpuListOptions = {}): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const cpus = new Set<number>();
  for (const rawItem of trimmed.split(',')) {
    const item = rawItem.trim();
    const m = ITEM.exec(item);
    if (m === null) throw rangeError(text, item, 'expected N, N-M or N-M:used/group', options);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    const used = m[3] === undefined ? 1 : Number(m[3]);
    const group = m[4] === undefined ? 1 : Number(m[4]);
    if (end < start) throw rangeError(text, item, `range end ${end} is below its start ${start}`, options);
    if (end > MAX_CPU_NUMBER) throw rangeError(text, item, `CPU numbers go up to ${MAX_CPU_NUMBER}`, options);
    if (group === 0 || used === 0 || used > group) {
      throw rangeError(text, item, 'in N-M:used/group, used and group must be positive with used <= group', options);
    }
    for (let cpu = start; cpu <= end; cpu++) {
      if ((cpu - start) % group < used) cpus.add(cpu);
    }
  }
  return [...cpus].sort((a, b) => a - b);
}

function rangeError(text: string, item: string, why: string, options: ParseCpuListOptions): VpmdError {
  const where = options.source === undefined ? '' : ` in ${options.source}`;
  return new VpmdError(
    options.code ?? 'E_HOST_PARSE',
    `Malformed CPU list ${JSON.stringify(text)}${where}: item ${JSON.stringify(item)}: ${why} (e.g. "0-7,16-23")`,
    { input: text, item, ...(options.source === undefined ? {} : { source: options.source }) },
  );
}

/**
 * Formats CPU numbers as a kernel CPU list, collapsing consecutive runs: `[0,1,2,3,8]` →
 * `0-3,8`. Input order and duplicates do not matter.
 *
 * @throws VpmdError E_HOST_INVALID for a negative or fractional CPU number.
 */
export function formatCpuList(cpus: Iterable<number>): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const bad = sorted.find((c) => !Number.isInteger(c) || c < 0 || c > MAX_CPU_NUMBER);
  if (bad !== undefined) {
    throw new VpmdError('E_HOST_INVALID', `CPU number ${bad} is not an integer in 0-${MAX_CPU_NUMBER}`, { cpu: bad });
  }
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) {
      end++;
      i++;
    }
    parts.push(start === end ? `${start}` : `${start}-${end}`);
    i++;
  }
  return parts.join(',');
}
