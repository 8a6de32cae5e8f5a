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

  /** @param text exactly `JSON.stringify` of the properties the caller then assigns, in order. */
  constructor(text: string) {
    this.#text = text;
  }

  /** The text of `v` when it is a TextBody. */
  static textOf(v: object): string | undefined {
    return v instanceof TextBody ? v.#text : undefined;
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

/** `JSON.stringify(v)`, using the kept texts of the bodies inside it. */
export function jsonText(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (v instanceof TextBody) return TextBody.textOf(v) as string;
  if (Array.isArray(v)) {
    if (!v.some(special)) return JSON.stringify(v);
    // As JSON.stringify: an undefined, function or symbol item is null.
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      s +=
        (i > 0 ? ',' : '') +
        (x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : jsonText(x));
    }
    return `${s}]`;
  }
  if (!(v instanceof Built)) return JSON.stringify(v);
  let s = '{';
  let first = true;
  for (const k of Object.keys(v)) {
    const x: unknown = v[k];
    // As JSON.stringify: undefined, function and symbol properties are left out.
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    s += `${first ? '' : ','}${JSON.stringify(k)}:${jsonText(x)}`;
    first = false;
  }
  return `${s}}`;
}
