/**
 * Redfish error responses: an HTTP status plus one or more messages from the Base registry,
 * rendered as `{"error":{"code","message","@Message.ExtendedInfo":[...]}}` as DSP0266 requires.
 * Every refusal of the service goes through {@link RedfishError}.
 */
import { MESSAGE_REGISTRIES } from '../generated/message-registries.js';
import { isVpmdError } from 'vpmd';

/** The Base registry prefix with its version, e.g. `Base.1.22.1`. */
export const BASE = 'Base.1.22.1';
/** The ResourceEvent registry prefix with its version. */
export const RESOURCE_EVENT = 'ResourceEvent.1.4.3';

type BaseId = keyof (typeof MESSAGE_REGISTRIES)['Base.1.22.1'];
type EventId = keyof (typeof MESSAGE_REGISTRIES)['ResourceEvent.1.4.3'];

/** One entry of `@Message.ExtendedInfo`. */
export interface ExtendedInfo {
  readonly '@odata.type': '#Message.v1_3_0.Message';
  readonly MessageId: string;
  readonly Message: string;
  readonly MessageArgs: string[];
  readonly MessageSeverity: string;
  readonly Resolution: string;
  readonly RelatedProperties?: string[];
}

function fill(text: string, args: readonly string[]): string {
  return text.replace(/%(\d+)/g, (_m, n: string) => args[Number(n) - 1] ?? `%${n}`);
}

/** Builds a message of the Base registry with its arguments. */
export function baseMessage(id: BaseId, args: readonly (string | number)[] = [], related?: string): ExtendedInfo {
  const spec = MESSAGE_REGISTRIES[BASE][id];
  const a = args.map(String);
  return {
    '@odata.type': '#Message.v1_3_0.Message',
    MessageId: `${BASE}.${id}`,
    Message: fill(spec.message, a),
    MessageArgs: a,
    MessageSeverity: spec.severity,
    Resolution: spec.resolution,
    ...(related !== undefined ? { RelatedProperties: [related] } : {}),
  };
}

/** Builds a message of the ResourceEvent registry (for events). */
export function eventMessage(
  id: EventId,
  args: readonly (string | number)[] = [],
): { MessageId: string; Message: string; MessageArgs: string[]; MessageSeverity: string } {
  const spec = MESSAGE_REGISTRIES[RESOURCE_EVENT][id];
  const a = args.map(String);
  return {
    MessageId: `${RESOURCE_EVENT}.${id}`,
    Message: fill(spec.message, a),
    MessageArgs: a,
    MessageSeverity: spec.severity,
  };
}

/** A refusal with its HTTP status and Base messages. */
export class RedfishError extends Error {
  constructor(
    readonly status: number,
    readonly messages: readonly ExtendedInfo[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(messages[0]?.Message ?? `HTTP ${status}`);
    this.name = 'RedfishError';
  }

  /** The response body. */
  body(): Record<string, unknown> {
    const first = this.messages[0];
    const general = this.messages.length === 1 && first ? first : baseMessage('GeneralError');
    return {
      error: {
        code: general.MessageId,
        message: general.Message,
        '@Message.ExtendedInfo': this.messages,
      },
    };
  }
}

/** Shorthand: a RedfishError with one Base message. */
export function fail(
  status: number,
  id: BaseId,
  args: readonly (string | number)[] = [],
  related?: string,
): RedfishError {
  return new RedfishError(status, [baseMessage(id, args, related)]);
}

const CATEGORY_STATUS: Record<string, [number, BaseId]> = {
  invalid: [400, 'GeneralError'],
  denied: [403, 'InsufficientPrivilege'],
  'not-found': [404, 'GeneralError'],
  conflict: [409, 'ResourceInUse'],
  unsupported: [400, 'ActionNotSupported'],
  unavailable: [503, 'ServiceTemporarilyUnavailable'],
  timeout: [503, 'ServiceTemporarilyUnavailable'],
  internal: [500, 'InternalError'],
};

/**
 * Maps any thrown value to a RedfishError. A VpmdError's category picks the status (the one
 * place where vpmd's catalogue meets Redfish); its own message goes into the extended info so
 * the client learns what was wrong.
 */
export function toRedfishError(e: unknown): RedfishError {
  if (e instanceof RedfishError) return e;
  if (isVpmdError(e)) {
    const [status, id] = CATEGORY_STATUS[e.category] ?? [500, 'InternalError'];
    const base =
      id === 'ServiceTemporarilyUnavailable'
        ? baseMessage(id, ['30'])
        : id === 'ActionNotSupported'
          ? baseMessage(id, [e.message])
          : baseMessage(id);
    const detail: ExtendedInfo = { ...baseMessage('GeneralError'), Message: `${e.code}: ${e.message}` };
    return new RedfishError(status, [detail, base]);
  }
  return new RedfishError(500, [baseMessage('InternalError')]);
}
