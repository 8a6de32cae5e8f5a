/**
 * Request bodies: one JSON object, at most `maxDepth` levels of objects and arrays deep. The
 * depth is measured on the text before parsing, in one pass that allocates nothing, so a
 * 30,000-deep body sent to the unauthenticated login endpoint costs a scan and a 400, not a
 * stack overflow somewhere in the code that walks the parsed value.
 */
import { RedfishError, baseMessage } from './redfish-error.js';

/** Index of the first bracket deeper than `maxDepth`, or -1. Brackets inside strings do not count. */
export function tooDeepAt(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

function malformed(detail: string): RedfishError {
  const m = baseMessage('MalformedJSON');
  return new RedfishError(400, [{ ...m, Message: `${m.Message} (${detail})` }]);
}

/**
 * Parses a POST/PATCH body; an empty body is `{}`.
 * @throws RedfishError 400 MalformedJSON saying what is wrong: not JSON, not an object, or
 *   nested deeper than allowed (with the offset and the limit).
 */
export function parseJsonBody(raw: string | undefined, maxDepth: number): Record<string, unknown> {
  if (raw === undefined || raw.trim() === '') return {};
  const at = tooDeepAt(raw, maxDepth);
  if (at >= 0)
    throw malformed(`nested deeper than ${maxDepth} levels at character ${at}; at most ${maxDepth} are allowed`);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw malformed((e as Error).message);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw malformed(
      `the body must be a JSON object, not ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`,
    );
  return v as Record<string, unknown>;
}
