/**
 * PATCH and POST body checks with Base-registry answers: unknown property → PropertyUnknown,
 * read-only property → PropertyNotWritable, wrong JSON type → PropertyValueTypeError, value
 * outside the allowed set or range → PropertyValueNotInList / PropertyValueOutOfRange. All
 * problems are reported together, and nothing is changed when there is any. A body holding only
 * OData annotations gets NoOperation.
 */
import { RedfishError, baseMessage, type ExtendedInfo } from '../http/redfish-error.js';

/** How one writable property is checked. */
export type FieldCheck =
  | {
      readonly type: 'string';
      readonly values?: readonly string[];
      readonly pattern?: RegExp;
      readonly maxLength?: number;
    }
  | { readonly type: 'boolean' }
  | { readonly type: 'integer'; readonly min?: number; readonly max?: number }
  | { readonly type: 'object'; readonly fields: Readonly<Record<string, FieldCheck>> };

function checkValue(path: string, v: unknown, c: FieldCheck, problems: ExtendedInfo[]): void {
  const shown = JSON.stringify(v) ?? 'undefined';
  switch (c.type) {
    case 'string':
      if (typeof v !== 'string') return void problems.push(baseMessage('PropertyValueTypeError', [shown, path], path));
      if (c.values && !c.values.includes(v))
        return void problems.push(baseMessage('PropertyValueNotInList', [v, path], path));
      if ((c.pattern && !c.pattern.test(v)) || (c.maxLength !== undefined && v.length > c.maxLength)) {
        problems.push(baseMessage('PropertyValueFormatError', [v, path], path));
      }
      return;
    case 'boolean':
      if (typeof v !== 'boolean') problems.push(baseMessage('PropertyValueTypeError', [shown, path], path));
      return;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v))
        return void problems.push(baseMessage('PropertyValueTypeError', [shown, path], path));
      if ((c.min !== undefined && v < c.min) || (c.max !== undefined && v > c.max))
        problems.push(baseMessage('PropertyValueOutOfRange', [shown, path], path));
      return;
    case 'object':
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        return void problems.push(baseMessage('PropertyValueTypeError', [shown, path], path));
      checkFields(path, v as Record<string, unknown>, c.fields, {}, problems);
  }
}

function checkFields(
  prefix: string,
  body: Record<string, unknown>,
  fields: Readonly<Record<string, FieldCheck>>,
  current: Record<string, unknown>,
  problems: ExtendedInfo[],
): void {
  for (const [k, v] of Object.entries(body)) {
    const path = prefix ? `${prefix}/${k}` : k;
    if (k.includes('@odata.') && prefix === '') continue; // annotations echoed back by clients
    const c = fields[k];
    if (c) checkValue(path, v, c, problems);
    else if (k in current) problems.push(baseMessage('PropertyNotWritable', [path], path));
    else problems.push(baseMessage('PropertyUnknown', [path], path));
  }
}

/**
 * Checks `body` against the writable `fields`; `current` is the resource as GET shows it (so
 * its other properties are read-only rather than unknown).
 * @throws RedfishError 400 with one extended-info entry per problem.
 */
export function checkBody(
  body: Record<string, unknown>,
  fields: Readonly<Record<string, FieldCheck>>,
  current: Record<string, unknown> = {},
  required: readonly string[] = [],
): void {
  const problems: ExtendedInfo[] = [];
  const missing = required.filter((r) => !(r in body));
  if (missing.length) problems.push(baseMessage('CreateFailedMissingReqProperties', [missing.join(', ')]));
  checkFields('', body, fields, current, problems);
  // A body of OData annotations only (a client echoing `@odata.id` back) changes nothing:
  // DSP0266 answers it with NoOperation; a truly empty object is EmptyJSON.
  const keys = Object.keys(body);
  if (required.length === 0 && keys.every((k) => k.includes('@odata.')))
    problems.push(baseMessage(keys.length === 0 ? 'EmptyJSON' : 'NoOperation'));
  if (problems.length) throw new RedfishError(400, problems);
}
