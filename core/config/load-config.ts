/**
 * Reading and checking vpmd's YAML configuration. Every problem is reported with its path in the
 * file (`plugins.ipmi.targets[2].port: must be 1-65535`) and, where the YAML says, its line, and
 * all problems are reported at once so an operator fixes a file in one pass.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { VpmdError } from '../errors.js';
import { parseCidr } from '../access/address-list.js';
import { CoreConfigSchema, type CoreConfig } from './core-schema.js';
import { schemaErrors } from './schema-errors.js';

/** One problem in a configuration file. */
export interface ConfigProblem {
  /** Dotted path, e.g. `plugins.ipmi.targets[2].port` ('' for the whole file). */
  readonly path: string;
  readonly message: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
}

/** A parsed configuration: the raw document plus the core part validated with defaults applied. */
export interface ParsedConfig {
  readonly file: string;
  readonly config: CoreConfig;
  readonly problems: readonly ConfigProblem[];
  /** Finds the line of a path (for problems found later, e.g. in plugin sections). */
  lineOf(path: string): number | undefined;
}

function pathSegments(path: string): (string | number)[] {
  const segs: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) segs.push(Number(m[2]));
    else if (m[1] !== undefined) segs.push(m[1]);
  }
  return segs;
}

function makeLineOf(doc: Document, lc: LineCounter): (path: string) => number | undefined {
  return (path) => {
    let segs = pathSegments(path);
    // Walk up to the nearest existing node (a missing key is reported at its parent).
    while (segs.length > 0) {
      const node = doc.getIn(segs, true);
      if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
      segs = segs.slice(0, -1);
    }
    return undefined;
  };
}

/** Checks the rules JSON Schema cannot express (addresses, CIDRs). */
function semanticProblems(cfg: CoreConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  // Runs even when the schema found problems elsewhere, so guard every shape it relies on.
  const m: CoreConfig['management'] =
    typeof cfg.management === 'object' && cfg.management !== null ? cfg.management : { allow: [] };
  if (typeof m.address === 'string' && isIP(m.address) === 0) {
    out.push({ path: 'management.address', message: `'${m.address}' is not an IPv4 or IPv6 address` });
  }
  if (m.address !== undefined && m.interface !== undefined) {
    out.push({ path: 'management', message: 'set management.address or management.interface, not both' });
  }
  (Array.isArray(m.allow) ? m.allow : []).forEach((c, i) => {
    if (typeof c === 'string' && !parseCidr(c))
      out.push({ path: `management.allow[${i}]`, message: `'${c}' is not a CIDR (e.g. 10.0.0.0/24, fd00::/64)` });
  });
  for (const name of Object.keys(typeof cfg.plugins === 'object' && cfg.plugins !== null ? cfg.plugins : {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) {
      out.push({ path: `plugins.${name}`, message: 'plugin names are lower-case letters, digits and dashes' });
    }
  }
  return out;
}

/**
 * Parses YAML text into a configuration. Never throws for problems in the content: they are
 * returned in `problems` (the config then holds whatever could be read, with defaults).
 */
export function parseConfigText(text: string, file = '<config>'): ParsedConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const lineOf = makeLineOf(doc, lc);
  const problems: ConfigProblem[] = [];
  for (const e of doc.errors) {
    problems.push({
      path: '',
      message: `YAML: ${e.message.split('\n')[0] ?? e.message}`,
      line: lc.linePos(e.pos[0]).line,
    });
  }
  let raw: unknown = problems.length > 0 ? {} : doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push({
      path: '',
      message: 'the configuration must be a mapping of keys (host, control, state, management, plugins, ...)',
    });
    raw = {};
  }
  const errs = schemaErrors(CoreConfigSchema, raw);
  for (const e of errs) problems.push({ ...e, ...withLine(lineOf(e.path)) });
  const config = raw as CoreConfig;
  const seen = new Set(problems.map((p) => p.path));
  for (const p of semanticProblems(config)) if (!seen.has(p.path)) problems.push({ ...p, ...withLine(lineOf(p.path)) });
  return { file, config, problems, lineOf };
}

function withLine(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}

/**
 * Reads and parses a configuration file.
 * @throws VpmdError E_CONFIG_READ when the file cannot be read.
 */
export async function readConfigFile(file: string): Promise<ParsedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new VpmdError(
      'E_CONFIG_READ',
      `${file}: cannot read configuration (${code})`,
      { file, errno: code },
      { cause: e },
    );
  }
  return parseConfigText(text, file);
}

/** Formats problems one per line: `FILE:LINE: path: message`. */
export function formatProblems(file: string, problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => `${file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message}`)
    .join('\n');
}

/** Throws E_CONFIG_INVALID listing every problem, if there are any. */
export function assertNoProblems(file: string, problems: readonly ConfigProblem[]): void {
  if (problems.length > 0) {
    throw new VpmdError(
      'E_CONFIG_INVALID',
      `${file}: ${problems.length} problem(s) in the configuration\n${formatProblems(file, problems)}`,
      {
        file,
        problems: problems.map((p) => `${p.path}: ${p.message}`),
      },
    );
  }
}
