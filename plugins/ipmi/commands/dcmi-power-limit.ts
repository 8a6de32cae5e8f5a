/**
 * DCMI power limiting (DCMI 1.5 §6.6, NetFn 2Ch, group extension DCh): Get Power Limit (03h),
 * Set Power Limit (04h: exception action, limit in W, correction time in ms, sampling period
 * in s) and Activate/Deactivate Power Limit (05h). Completion code 80h on Get means "a limit is
 * set but not active" (the fields are still returned). A BMC without DCMI power limiting answers
 * C1h (invalid command), as OpenIPMI's ipmi_sim does: reported as E_BMC_UNSUPPORTED.
 */
import { VpmdError, type BmcPowerLimit, type BmcPowerLimitChange, type PowerLimitException } from 'vpmd';
import type { IpmiSession } from '../session/session.js';

const NETFN_DCMI = 0x2c;
const GROUP = 0xdc;
const CC_NO_ACTIVE_LIMIT = 0x80;
const CC_INVALID_COMMAND = 0xc1;

const EXCEPTION_CODE: Readonly<Record<PowerLimitException, number>> = { none: 0x00, 'power-off': 0x01, log: 0x11 };

function exceptionOf(code: number): PowerLimitException {
  return code === 0x01 ? 'power-off' : code === 0x11 ? 'log' : 'none';
}

const SET_ERRORS: Readonly<Record<number, string>> = {
  0x84: 'power limit out of range',
  0x85: 'correction time out of range',
  0x89: 'statistics reporting period out of range',
};

function unsupported(s: IpmiSession, what: string): VpmdError {
  return new VpmdError(
    'E_BMC_UNSUPPORTED',
    `BMC ${s.target.name} does not implement DCMI ${what} (completion code C1h)`,
    {
      target: s.target.name,
    },
  );
}

function refused(s: IpmiSession, what: string, cc: number): VpmdError {
  return new VpmdError(
    'E_IPMI_COMMAND',
    `BMC ${s.target.name} refused DCMI ${what}: ${SET_ERRORS[cc] ?? `completion code ${cc.toString(16).padStart(2, '0')}h`}`,
    { target: s.target.name, cc },
  );
}

/** The raw Get Power Limit answer (DCMI 1.5 table 6-19), with whether it is active. */
export interface DcmiPowerLimit {
  readonly active: boolean;
  readonly exception: PowerLimitException;
  readonly watts: number;
  readonly correctionMs: number;
  readonly samplingS: number;
}

/** Decodes the data of a Get Power Limit answer (after the completion code). */
export function decodePowerLimit(cc: number, d: Buffer): DcmiPowerLimit | undefined {
  if ((cc !== 0 && cc !== CC_NO_ACTIVE_LIMIT) || d.length < 14 || d[0] !== GROUP) return undefined;
  return {
    active: cc === 0,
    exception: exceptionOf(d[3] ?? 0),
    watts: d.readUInt16LE(4),
    correctionMs: d.readUInt32LE(6),
    samplingS: d.readUInt16LE(12),
  };
}

/** Encodes a Set Power Limit request. */
export function encodeSetPowerLimit(
  watts: number,
  correctionMs: number,
  exception: PowerLimitException,
  samplingS: number,
): number[] {
  const b = Buffer.alloc(15);
  b[0] = GROUP;
  b[4] = EXCEPTION_CODE[exception];
  b.writeUInt16LE(watts, 5);
  b.writeUInt32LE(correctionMs, 7);
  b.writeUInt16LE(samplingS, 13);
  return [...b];
}

export async function getPowerLimit(s: IpmiSession): Promise<DcmiPowerLimit> {
  const r = await s.request(NETFN_DCMI, 0x03, [GROUP, 0x00, 0x00]);
  if (r.cc === CC_INVALID_COMMAND) throw unsupported(s, 'Get Power Limit');
  const limit = decodePowerLimit(r.cc, r.data);
  if (limit === undefined) throw refused(s, 'Get Power Limit', r.cc);
  return limit;
}

/** Sets (and activates) or deactivates the limit; returns the limit read back. */
export async function setPowerLimit(s: IpmiSession, change: BmcPowerLimitChange): Promise<BmcPowerLimit | null> {
  const cur = await getPowerLimit(s);
  if (change.watts !== null) {
    const watts = Math.round(change.watts);
    if (!(watts >= 1 && watts <= 0xffff))
      throw new VpmdError('E_IPMI_CONFIG', `DCMI power limit ${change.watts} W is outside 1..65535 W`, {
        watts: change.watts,
      });
    const r = await s.request(
      NETFN_DCMI,
      0x04,
      encodeSetPowerLimit(
        watts,
        change.correctionMs ?? cur.correctionMs,
        change.exception ?? cur.exception,
        cur.samplingS || 1,
      ),
    );
    if (r.cc === CC_INVALID_COMMAND) throw unsupported(s, 'Set Power Limit');
    if (r.cc !== 0) throw refused(s, 'Set Power Limit', r.cc);
  }
  const act = await s.request(NETFN_DCMI, 0x05, [GROUP, change.watts === null ? 0x00 : 0x01, 0x00, 0x00]);
  if (act.cc === CC_INVALID_COMMAND) throw unsupported(s, 'Activate/Deactivate Power Limit');
  if (act.cc !== 0) throw refused(s, 'Activate/Deactivate Power Limit', act.cc);
  return toBmcLimit(await getPowerLimit(s));
}

export function toBmcLimit(l: DcmiPowerLimit): BmcPowerLimit | null {
  if (!l.active && l.watts === 0) return null;
  return { watts: l.watts, active: l.active, correctionMs: l.correctionMs, exception: l.exception };
}
