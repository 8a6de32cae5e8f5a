/**
 * The exposition's data model and its two text forms: OpenMetrics 1.0 (what Prometheus asks for
 * first) and the Prometheus text format 0.0.4 (what `promtool check metrics` and older scrapers
 * read). A collector adds samples to families; the writer serialises each family once, its
 * samples together, so families are never interleaved.
 */

/** Metric types this exporter uses. */
export type FamilyType = 'counter' | 'gauge' | 'info';

/** Which text format a scrape asked for. */
export type ExpositionFormat = 'openmetrics' | 'text-0.0.4';

/** Content types of the two formats. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  'text-0.0.4': 'text/plain; version=0.0.4; charset=utf-8',
};

/**
 * A metric family. `name` is the OpenMetrics family name: without `_total` for counters and
 * without `_info` for info metrics (the writer adds the suffix to samples).
 */
export interface Family {
  readonly name: string;
  readonly type: FamilyType;
  readonly help: string;
  /** The base unit the name ends with (`joules`, `watts`...), for the OpenMetrics UNIT line. */
  readonly unit?: string;
}

/** Label pairs in output order. */
export type Labels = ReadonlyArray<readonly [string, string]>;

/** Escapes a label value (backslash, double quote, newline), as both formats require. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function escapeHelp(v: string, format: ExpositionFormat): string {
  const s = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? s.replace(/"/g, '\\"') : s;
}

/** A sample value in the text forms (`NaN`, `+Inf`, `-Inf` spelt as both formats want). */
export function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function sampleSuffix(type: FamilyType): string {
  return type === 'counter' ? '_total' : type === 'info' ? '_info' : '';
}

/** `k1="v1",k2="v2"` with the values escaped; join two with a comma. */
export function renderLabels(labels: Labels): string {
  let body = '';
  for (const [k, v] of labels) body += `${body === '' ? '' : ','}${k}="${escapeLabelValue(v)}"`;
  return body;
}

/** Collects families and their samples; {@link text} serialises them. */
export class ExpositionWriter {
  private readonly order: Family[] = [];
  private readonly samples = new Map<string, string[]>();
  private readonly seen = new Map<string, Set<string>>();
  /** `name` + its sample suffix, per family. */
  private readonly sampleNames = new Map<string, string>();

  /** Declares a family (idempotent for the same name); samples may follow in any order. */
  family(f: Family): Family {
    if (!this.samples.has(f.name)) {
      this.order.push(f);
      this.samples.set(f.name, []);
      this.seen.set(f.name, new Set());
      this.sampleNames.set(f.name, `${f.name}${sampleSuffix(f.type)}`);
    }
    return f;
  }

  /**
   * Adds a sample; a second sample with the same labels in one family is dropped (a scrape must
   * not carry duplicate series). Returns whether it was added.
   */
  add(f: Family, labels: Labels, value: number): boolean {
    return this.addRendered(f, renderLabels(labels), value);
  }

  /**
   * Adds a sample whose labels are already rendered by {@link renderLabels} (collectors reuse
   * one VM's rendered identity for all of its samples: a 500-VM scrape renders each UUID once).
   */
  addRendered(f: Family, body: string, value: number): boolean {
    return this.push(f, body, value, true);
  }

  /**
   * Adds a sample the caller knows to be unique in its family (the per-VM families, whose
   * collector drops a repeated UUID once per VM instead of checking each of its samples).
   */
  addUnique(f: Family, body: string, value: number): void {
    this.push(f, body, value, false);
  }

  private push(f: Family, body: string, value: number, check: boolean): boolean {
    const seen = this.seen.get(f.name);
    const lines = this.samples.get(f.name);
    if (!seen || !lines) throw new Error(`family ${f.name} not declared`);
    if (check) {
      const before = seen.size;
      seen.add(body);
      if (seen.size === before) return false;
    }
    const name = this.sampleNames.get(f.name) as string;
    lines.push(body === '' ? `${name} ${formatValue(value)}\n` : `${name}{${body}} ${formatValue(value)}\n`);
    return true;
  }

  /** Number of samples so far. */
  size(): number {
    let n = 0;
    for (const l of this.samples.values()) n += l.length;
    return n;
  }

  /** The exposition text in `format`; families without samples are left out. */
  text(format: ExpositionFormat): string {
    return this.pieces(format).join('');
  }

  /**
   * The exposition in `format` as UTF-8 buffers, one per family, to be written in order: no
   * single string of the whole body (half a megabyte for 500 VMs) is built or encoded twice.
   */
  chunks(format: ExpositionFormat): Buffer[] {
    return this.pieces(format).map((p) => Buffer.from(p, 'utf8'));
  }

  /** One string per family (its header and samples), then the OpenMetrics `# EOF`. */
  private pieces(format: ExpositionFormat): string[] {
    const parts: string[] = [];
    for (const f of this.order) {
      const lines = this.samples.get(f.name) ?? [];
      if (lines.length === 0) continue;
      const sample = `${f.name}${sampleSuffix(f.type)}`;
      let head: string;
      if (format === 'openmetrics') {
        head = `# TYPE ${f.name} ${f.type}\n`;
        if (f.unit !== undefined) head += `# UNIT ${f.name} ${f.unit}\n`;
        head += `# HELP ${f.name} ${escapeHelp(f.help, format)}\n`;
      } else {
        // 0.0.4 has no info type and names the TYPE after the sample (`foo_total counter`).
        head = `# HELP ${sample} ${escapeHelp(f.help, format)}\n# TYPE ${sample} ${f.type === 'info' ? 'gauge' : f.type}\n`;
      }
      parts.push(head + lines.join(''));
    }
    if (format === 'openmetrics') parts.push('# EOF\n');
    return parts;
  }
}

/**
 * Picks the format from an Accept header: OpenMetrics when the client ranks it at least as high
 * as the text format (Prometheus asks for it first), else the 0.0.4 text format (curl, promtool).
 */
export function negotiate(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'text-0.0.4';
  let om = -1;
  let text = -1;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    let version: string | undefined;
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k === 'q' && v !== undefined) q = Number.isFinite(Number(v)) ? Number(v) : 0;
      if (k === 'version') version = v;
    }
    if (
      type === 'application/openmetrics-text' &&
      (version === undefined || version === '1.0.0' || version === '0.0.1')
    )
      om = Math.max(om, q);
    else if (type === 'text/plain' || type === '*/*' || type === 'text/*') text = Math.max(text, q);
  }
  return om > 0 && om >= text ? 'openmetrics' : 'text-0.0.4';
}
