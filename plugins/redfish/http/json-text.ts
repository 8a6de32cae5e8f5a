/**
 * JSON text of resource bodies without `JSON.stringify` of the whole object graph, where a
 * handler already has the text of a body: a Sensor is its metric's pre-serialised template with
 * the reading, time and status filled in (resources/sensor-body.ts). The text belongs to the
 * body object it serialises, made for one request: every reply shows the current reading.
 *
 * The contract: a {@link TextBody}'s text is exactly `JSON.stringify` of its properties, and the
 * body is not changed after it is made (handlers' bodies never are: `$select` and `$expand` build
 * new objects). A copy (`{ ...body }`) is a plain object without the text, so a changed copy can
 * never be sent with the old text. Objects that `$expand` builds are {@link Built}: {@link jsonText}
 * walks those and splices the kept texts in, stringifying only the rest: an expanded collection
 * of 23 sensors is then a few concatenations instead of a 12.5 KB stringify.
 *
 * Classes rather than a WeakMap of texts: a WeakMap entry per sensor of every request cost more
 * in `set` and in garbage collection (ephemerons) than the stringify it saved.
 */

/** A resource body made with its JSON text. Its properties are the body's; the text is private. */
export class TextBody {
  [property: string]: unknown;
  readonly #text: string;
  readonly #key: string | undefined;

  /**
   * @param text exactly `JSON.stringify` of the properties the caller then assigns, in order.
   * @param key a short string that determines `text` (the same key never stands for two texts):
   *   what the ETag of a reply with this body inside hashes instead of the text. It must not
   *   contain U+0001 (the marker around it, see {@link jsonTextAndKey}).
   */
  constructor(text: string, key?: string) {
    this.#text = text;
    this.#key = key;
  }

  /** The text of `v` when it is a TextBody. */
  static textOf(v: object): string | undefined {
    return v instanceof TextBody ? v.#text : undefined;
  }

  /** What stands for `v`'s text in an ETag's input: its key between markers, or its text. */
  static keyOf(v: TextBody): string {
    return v.#key === undefined ? v.#text : `\u0001${v.#key}\u0001`;
  }
}

/** An object `$expand` built around resolved bodies: {@link jsonText} looks inside it. */
export class Built {
  [property: string]: unknown;
}

/** True when `v` is serialised by {@link jsonText} other than by one `JSON.stringify`. */
function special(v: unknown): boolean {
  return v instanceof TextBody || v instanceof Built;
}

/**
 * `JSON.stringify(v)` (`text`), and what the reply's ETag hashes (`key`): the same text with the
 * key of each keyed {@link TextBody} in place of its text, between U+0001 markers. JSON text
 * never holds a raw U+0001 (JSON.stringify escapes control characters) and keys hold none, so
 * `key` splits back into JSON pieces and keys, and each key determines its text: the same `key`
 * is always the same `text`, and a changed body always changes the key. The ETag of an expanded
 * collection of sensors then hashes about 1 KB (their templates' hashes and readings) rather
 * than 12.5 KB of spliced text.
 */
export function jsonTextAndKey(v: unknown): { text: string; key: string } {
  if (v instanceof TextBody) return { text: TextBody.textOf(v) as string, key: TextBody.keyOf(v) };
  if (v === null || typeof v !== 'object' || !(v instanceof Built || (Array.isArray(v) && v.some(special)))) {
    const text = JSON.stringify(v);
    return { text, key: text };
  }
  const out = { text: '', key: '' };
  appendBoth(v, out);
  return out;
}

/** Appends the text and the key of `v` (as {@link jsonTextAndKey}) to `out`. */
function appendBoth(v: unknown, out: { text: string; key: string }): void {
  if (v instanceof TextBody) {
    out.text += TextBody.textOf(v) as string;
    out.key += TextBody.keyOf(v);
    return;
  }
  if (Array.isArray(v) && v.some(special)) {
    out.text += '[';
    out.key += '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) {
        out.text += ',';
        out.key += ',';
      }
      const x: unknown = v[i];
      // As JSON.stringify: an undefined, function or symbol item is null.
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') {
        out.text += 'null';
        out.key += 'null';
      } else appendBoth(x, out);
    }
    out.text += ']';
    out.key += ']';
    return;
  }
  if (!(v instanceof Built)) {
    const s = JSON.stringify(v);
    out.text += s;
    out.key += s;
    return;
  }
  let first = true;
  out.text += '{';
  out.key += '{';
  for (const k of Object.keys(v)) {
    const x: unknown = v[k];
    // As JSON.stringify: undefined, function and symbol properties are left out.
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    const name = `${first ? '' : ','}${JSON.stringify(k)}:`;
    out.text += name;
    out.key += name;
    appendBoth(x, out);
    first = false;
  }
  out.text += '}';
  out.key += '}';
}

/** `JSON.stringify(v)`, using the kept texts of the bodies inside it (a reply's text without its key). */
export function jsonText(v: unknown): string {
  return jsonTextAndKey(v).text;
}
