/**
 * MIB views for communities and users, with the semantics of snmpd's `view NAME included|excluded
 * OID` (RFC 3415 vacmViewTreeFamilyTable, without masks): an OID is in the view when the longest
 * configured subtree that contains it is an included one.
 *
 * A subtree is one contiguous range in OID order ([P, P with its last arc + 1)), so the nested
 * include/exclude rules are compiled once into a sorted list of disjoint visible ranges. A check
 * is then one binary search over a handful of ranges, and a walk skips a hidden stretch of the
 * MIB with one binary search over the index instead of testing every instance in it.
 */
import { VpmdError } from 'vpmd';
import { compareOid, oidText } from '../codec/pdu.js';
import type { MibIndex } from './mib-index.js';

/** A view as configured: included subtrees and, inside them, excluded ones (dotted numeric OIDs). */
export interface ViewConfig {
  readonly include: readonly string[];
  readonly exclude?: readonly string[];
}

/** The largest arc value (RFC 2578 7.1.3: at most 2^32-1) and arcs per OID (at most 128). */
const MAX_ARC = 4294967295;
const MAX_ARCS = 128;

interface Rule {
  readonly prefix: readonly number[];
  readonly included: boolean;
}

function parseArcs(text: string, where: string): number[] {
  const t = text.startsWith('.') ? text.slice(1) : text;
  if (!/^\d+(\.\d+)*$/.test(t))
    throw new VpmdError(
      'E_SNMP_CONFIG',
      `${where}: '${text}' is not a dotted numeric OID (e.g. 1.3.6.1.2.1.1; names are not accepted)`,
      { path: where },
    );
  const arcs = t.split('.').map(Number);
  if (arcs.length > MAX_ARCS)
    throw new VpmdError(
      'E_SNMP_CONFIG',
      `${where}: '${text}' has ${arcs.length} arcs; an OID has at most ${MAX_ARCS}`,
      { path: where },
    );
  const big = arcs.findIndex((a) => a > MAX_ARC);
  if (big >= 0)
    throw new VpmdError('E_SNMP_CONFIG', `${where}: arc ${big + 1} of '${text}' is larger than ${MAX_ARC}`, {
      path: where,
    });
  return arcs;
}

/** The first OID after the whole subtree at `prefix` (the subtree is [prefix, end)). */
function subtreeEnd(prefix: readonly number[]): number[] {
  // Arcs are at most 2^32-1, so last + 1 is past every OID of the subtree even at the maximum.
  return [...prefix.slice(0, -1), (prefix[prefix.length - 1] as number) + 1];
}

function isPrefix(root: readonly number[], oid: readonly number[]): boolean {
  if (oid.length < root.length) return false;
  for (let i = 0; i < root.length; i++) if (root[i] !== oid[i]) return false;
  return true;
}

/** A compiled view: sorted, disjoint, non-adjacent visible ranges [start, end). */
export class MibView {
  private constructor(
    private readonly starts: ReadonlyArray<readonly number[]>,
    private readonly ends: ReadonlyArray<readonly number[]>,
    /** The configured subtrees, for logs and status. */
    readonly summary: string,
  ) {}

  /**
   * Compiles a configured view. `where` is the config path for errors.
   * @throws VpmdError E_SNMP_CONFIG for an OID that is not dotted numeric, a subtree listed twice
   * or both included and excluded, or an excluded subtree that is inside no included one.
   */
  static compile(config: ViewConfig, where: string): MibView {
    const rules: Rule[] = [];
    const seen = new Map<string, string>();
    for (const [kind, list] of [
      ['include', config.include],
      ['exclude', config.exclude ?? []],
    ] as const) {
      for (const [i, text] of list.entries()) {
        const at = `${where}.${kind}[${i}]`;
        const prefix = parseArcs(text, at);
        const key = oidText(prefix);
        const before = seen.get(key);
        if (before !== undefined)
          throw new VpmdError('E_SNMP_CONFIG', `${at}: subtree ${key} is already listed at ${before}`, { path: at });
        seen.set(key, at);
        rules.push({ prefix, included: kind === 'include' });
      }
    }
    if (!rules.some((r) => r.included))
      throw new VpmdError('E_SNMP_CONFIG', `${where}.include: list at least one subtree`, { path: `${where}.include` });
    for (const [i, text] of (config.exclude ?? []).entries()) {
      const prefix = parseArcs(text, `${where}.exclude[${i}]`);
      if (!rules.some((r) => r.included && r.prefix.length < prefix.length && isPrefix(r.prefix, prefix))) {
        const at = `${where}.exclude[${i}]`;
        throw new VpmdError(
          'E_SNMP_CONFIG',
          `${at}: ${oidText(prefix)} is inside no included subtree, so excluding it changes nothing`,
          { path: at },
        );
      }
    }
    return MibView.fromRules(
      rules,
      [...config.include.map((s) => `+${s}`), ...(config.exclude ?? []).map((s) => `-${s}`)].join(' '),
    );
  }

  /** Builds the visible ranges: between two consecutive rule boundaries the longest match is constant. */
  private static fromRules(rules: readonly Rule[], summary: string): MibView {
    const bounds = rules.flatMap((r) => [r.prefix, subtreeEnd(r.prefix)]).sort(compareOid);
    const visibleAt = (oid: readonly number[]): boolean => {
      let best: Rule | undefined;
      for (const r of rules) if (isPrefix(r.prefix, oid) && (!best || r.prefix.length > best.prefix.length)) best = r;
      return best?.included ?? false;
    };
    const starts: (readonly number[])[] = [];
    const ends: (readonly number[])[] = [];
    let open: readonly number[] | undefined;
    for (const [i, b] of bounds.entries()) {
      if (i > 0 && compareOid(bounds[i - 1] as readonly number[], b) === 0) continue;
      const visible = visibleAt(b);
      if (visible && !open) open = b;
      else if (!visible && open) {
        starts.push(open);
        ends.push(b);
        open = undefined;
      }
    }
    // The last boundary is the end of the largest subtree, beyond which nothing is visible.
    return new MibView(starts, ends, summary);
  }

  /** Index of the first range whose end is after `oid` (ranges.length when none). */
  private rangeAfter(oid: readonly number[]): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareOid(this.ends[mid] as readonly number[], oid) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** True when `oid` is in the view. */
  contains(oid: readonly number[]): boolean {
    const i = this.rangeAfter(oid);
    return i < this.starts.length && compareOid(this.starts[i] as readonly number[], oid) <= 0;
  }

  /** Position in `index` of the first visible instance at or after position `pos` (index.size when none). */
  firstVisible(index: MibIndex, pos: number): number {
    const entries = index.entries;
    for (;;) {
      const e = entries[pos];
      if (!e) return entries.length;
      const i = this.rangeAfter(e.oid);
      if (i === this.starts.length) return entries.length;
      const start = this.starts[i] as readonly number[];
      if (compareOid(start, e.oid) <= 0) return pos;
      // A hidden stretch: jump to the next range's start instead of testing each instance.
      pos = index.position(start);
    }
  }
}

/** Position of the first instance at or after position `pos` that `view` shows (any, without a view). */
export function visibleFrom(index: MibIndex, view: MibView | undefined, pos: number): number {
  return view ? view.firstVisible(index, pos) : pos;
}

/** Position of the first instance after `oid` that `view` shows (all instances without a view). */
export function nextVisiblePosition(index: MibIndex, view: MibView | undefined, oid: readonly number[]): number {
  return visibleFrom(index, view, index.nextPosition(oid));
}
