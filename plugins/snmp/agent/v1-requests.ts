/**
 * SNMPv1 Get and GetNext (RFC 1157) over the same MIB index, with the RFC 2576 4.1.2 rules:
 * v1 has no exception values, so a missing instance or the end of the MIB is error noSuchName
 * at that varbind, and Counter64 instances (not expressible in v1) are skipped by GetNext and
 * noSuchName to Get. With a view, an instance outside it is noSuchName to Get and skipped by
 * GetNext, as snmpd answers SNMPv1.
 */
import { TAG } from '../codec/ber.js';
import { ERR, encPdu, type Pdu } from '../codec/pdu.js';
import { encodedVarbind, type IndexedEntry, type MibIndex } from '../mib/mib-index.js';
import { nextVisiblePosition, visibleFrom, type MibView } from '../mib/mib-view.js';

/** SNMPv1 error-status values beyond the shared ones. */
export const V1_ERR = Object.freeze({ noSuchName: 2 });

function usable(e: IndexedEntry | undefined): e is IndexedEntry {
  return e !== undefined && e.value.tag !== TAG.Counter64;
}

/** The v1 Response PDU to a Get or GetNext; null for other PDU types (not answered). */
export function v1Response(index: MibIndex, pdu: Pdu, maxSize: number, view?: MibView): Buffer | null {
  if (pdu.type !== TAG.GetRequest && pdu.type !== TAG.GetNextRequest) return null;
  const out: Buffer[] = [];
  for (const [i, vb] of pdu.varbinds.entries()) {
    let e: IndexedEntry | undefined;
    if (pdu.type === TAG.GetRequest) e = view && !view.contains(vb.oid) ? undefined : index.get(vb.oid);
    else {
      let p = nextVisiblePosition(index, view, vb.oid);
      while (index.entries[p] !== undefined && !usable(index.entries[p])) p = visibleFrom(index, view, p + 1);
      e = index.entries[p];
    }
    if (!usable(e))
      return encPdu(
        TAG.Response,
        pdu.requestId,
        V1_ERR.noSuchName,
        i + 1,
        pdu.varbinds.map((v) => encodedVarbind({ oid: v.oid, value: v.value })),
      );
    out.push(encodedVarbind(e));
  }
  const size = out.reduce((n, b) => n + b.length, 0);
  if (size + 100 > maxSize) return encPdu(TAG.Response, pdu.requestId, ERR.tooBig, 0, []);
  return encPdu(TAG.Response, pdu.requestId, ERR.noError, 0, out);
}
