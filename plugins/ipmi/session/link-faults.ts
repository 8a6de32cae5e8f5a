/**
 * What came back from a BMC besides answers, and the name of the fault it shows: a BMC that
 * sends garbage, cut-off datagrams, answers for another session or a flood is not a silent one,
 * and an operator fixes each differently.
 */
import { VpmdError } from 'vpmd';

/** The fault named in status, logs and errors when a request got no usable answer. */
export type LinkFault = 'did not answer' | 'malformed reply' | 'truncated' | 'wrong session id' | 'flooding';

/** Datagram counters of one session (also what `vpmctl ipmi targets` shows). */
export interface SessionStats {
  /** Datagrams sent, retransmissions included. */
  sent: number;
  retransmits: number;
  /** Datagrams received that were not a usable answer (all the kinds below). */
  dropped: number;
  /** Datagrams received from the BMC's address. */
  received: number;
  /** Undecodable: not RMCP, bad checksum, failed integrity check. */
  malformed: number;
  /** Shorter than their own header or length field says. */
  truncated: number;
  /** Well-formed, but for another session id. */
  wrongSession: number;
}

/** Fresh counters. */
export function newStats(): SessionStats {
  return { sent: 0, retransmits: 0, dropped: 0, received: 0, malformed: 0, truncated: 0, wrongSession: 0 };
}

/** Which counter a decoding error belongs to. */
export function classifyDecodeError(e: unknown): 'malformed' | 'truncated' {
  const text = e instanceof Error ? e.message : String(e);
  return /truncated|exceeds the datagram|shorter than/.test(text) ? 'truncated' : 'malformed';
}

/**
 * The dominant fault seen since `since` (a snapshot taken when the request was first sent):
 * flooding when far more datagrams came than were sent (4x, and more than a handful), else the
 * most frequent kind of bad datagram, else silence.
 */
export function dominantFault(now: SessionStats, since: SessionStats): LinkFault {
  const sent = now.sent - since.sent;
  const received = now.received - since.received;
  if (received > 4 * sent + 16) return 'flooding';
  const kinds: Array<[LinkFault, number]> = [
    ['malformed reply', now.malformed - since.malformed],
    ['truncated', now.truncated - since.truncated],
    ['wrong session id', now.wrongSession - since.wrongSession],
  ];
  let best: LinkFault = 'did not answer';
  let most = 0;
  for (const [fault, n] of kinds) {
    if (n > most) {
      best = fault;
      most = n;
    }
  }
  return best;
}

/** The error of a request that got no usable answer within its budget. */
export function noAnswerError(
  target: { readonly name: string; readonly host: string; readonly port: number },
  what: string,
  attempts: number,
  elapsedMs: number,
  fault: LinkFault,
  now: SessionStats,
  since: SessionStats,
): VpmdError {
  const where = `BMC ${target.name} (${target.host}:${target.port})`;
  const tail = `after ${attempts} attempts (${Math.round(elapsedMs)} ms)`;
  const details = { target: target.name, attempts, fault };
  if (fault === 'did not answer')
    return new VpmdError('E_IPMI_TIMEOUT', `${where} did not answer ${what} ${tail}`, details);
  const counts: Record<Exclude<LinkFault, 'did not answer'>, string> = {
    'malformed reply': `${now.malformed - since.malformed} undecodable datagram(s)`,
    truncated: `${now.truncated - since.truncated} truncated datagram(s)`,
    'wrong session id': `${now.wrongSession - since.wrongSession} datagram(s) for another session`,
    flooding: `${now.received - since.received} datagrams for ${now.sent - since.sent} sent`,
  };
  return new VpmdError(
    'E_IPMI_PROTOCOL',
    `${where}: ${fault} to ${what}: ${counts[fault]}, no valid answer ${tail}`,
    details,
  );
}
