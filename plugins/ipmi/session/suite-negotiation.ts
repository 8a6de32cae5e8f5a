/**
 * Reading a BMC's cipher suites (Get Channel Cipher Suites, "list algorithms by cipher suite")
 * and the error when none of them is acceptable.
 */
import { VpmdError } from 'vpmd';
import { parseCipherSuiteRecords } from '../codec/cipher-suites.js';
import type { SessionTarget } from './session-target.js';

/**
 * The suite ids the BMC lists; `ask(index)` sends Get Channel Cipher Suites for one 16-byte
 * part of the list. Undefined when the BMC does not implement the command.
 */
export async function listCipherSuites(ask: (index: number) => Promise<Buffer>): Promise<number[] | undefined> {
  const records: number[] = [];
  for (let index = 0; index < 64; index++) {
    let data: Buffer;
    try {
      data = await ask(index);
    } catch (e) {
      if (e instanceof VpmdError && e.code === 'E_IPMI_COMMAND') return undefined;
      throw e;
    }
    records.push(...data.subarray(1));
    if (data.length < 17) break;
  }
  return parseCipherSuiteRecords(Buffer.from(records));
}

/** E_IPMI_CIPHER naming the offered suites, the floor and a pinned suite. */
export function noAcceptableSuite(target: SessionTarget, offered: readonly number[] | undefined): VpmdError {
  return new VpmdError(
    'E_IPMI_CIPHER',
    `BMC ${target.name} offers cipher suites [${offered?.join(', ') ?? 'unknown'}]; none meets the floor '${target.cipherFloor}'` +
      (target.cipherSuite !== undefined ? ` with suite ${target.cipherSuite} pinned` : '') +
      " (suites without integrity and confidentiality need cipherFloor 'integrity' or 'none' for this target)",
    { target: target.name, floor: target.cipherFloor },
  );
}
