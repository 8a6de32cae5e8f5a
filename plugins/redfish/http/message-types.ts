/** Types of the generated message registries (see generated/message-registries.ts). */

/** One message of a DMTF message registry. */
export interface MessageSpec {
  /** Text with %1..%n placeholders. */
  readonly message: string;
  readonly severity: string;
  /** Number of arguments the text takes. */
  readonly args: number;
  readonly resolution: string;
}
