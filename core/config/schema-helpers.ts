/** Small TypeBox helpers shared by the core's and the plugins' schemas. */
import { Type, type SchemaOptions, type TUnsafe } from '@sinclair/typebox';

/** A string restricted to `values`, as a plain JSON Schema `enum` (clear errors, static union type). */
export function StringEnum<const T extends readonly string[]>(values: T, opts: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...opts, type: 'string', enum: [...values] });
}

/** A TCP/UDP port number. */
export function Port(opts: SchemaOptions = {}) {
  return Type.Integer({ minimum: 1, maximum: 65535, ...opts });
}
