/**
 * The real-time clock's wake alarm (`/sys/class/rtc/rtcN/{name,wakealarm,since_epoch}`): how a
 * suspended host wakes itself. Times are epoch seconds.
 */
import { VpmdError } from '../errors.js';
import type { SysfsBackend } from './sysfs-backend.js';
import { FaultLog, faultsField, type HostFault } from './host-faults.js';
import { attrRaw, parseIntAttr } from './sysfs-attr.js';
import { fullPath, parseIntStrict, readOptional } from './sysfs-read.js';

/** The default RTC device. */
export const DEFAULT_RTC = 'rtc0';

/** An RTC's state. */
export interface RtcState {
  /** `rtc0`. */
  readonly device: string;
  /** Driver name: `rtc_cmos`, `rtc-efi`... */
  readonly name: string;
  /** The RTC's time in epoch seconds. */
  readonly sinceEpoch?: number;
  /** The pending wake alarm in epoch seconds, undefined when none is set. */
  readonly wakeAlarm?: number;
  /** Files that could not be read (present only when some could not). */
  readonly faults?: readonly HostFault[];
}

function rtcDir(device: string): string {
  return `sys/class/rtc/${device}`;
}

/**
 * Reads an RTC.
 *
 * @throws VpmdError E_HOST_UNSUPPORTED when the host has no such RTC (VMs often have none).
 */
export async function readRtc(backend: SysfsBackend, device = DEFAULT_RTC): Promise<RtcState> {
  const dir = rtcDir(device);
  const name = await readOptional(backend, `${dir}/name`);
  if (name === undefined) {
    throw new VpmdError('E_HOST_UNSUPPORTED', `This host has no RTC ${device} (${fullPath(backend, dir)} is missing)`, {
      device,
    });
  }
  const log = new FaultLog();
  const [since, alarm] = await Promise.all([
    attrRaw(backend, `${dir}/since_epoch`, log, { required: true }),
    attrRaw(backend, `${dir}/wakealarm`, log, { required: true }),
  ]);
  const state: {
    device: string;
    name: string;
    sinceEpoch?: number;
    wakeAlarm?: number;
    faults?: readonly HostFault[];
  } = { device, name: name.trim() };
  if (since !== undefined) state.sinceEpoch = parseIntAttr(backend, `${dir}/since_epoch`, since, log);
  // An empty wakealarm is the kernel's "no alarm", not a fault.
  if (alarm !== undefined && alarm.trim() !== '')
    state.wakeAlarm = parseIntAttr(backend, `${dir}/wakealarm`, alarm, log);
  return { ...state, ...faultsField(log) };
}

/**
 * Arms the wake alarm for `epochSeconds`. The kernel refuses a new alarm while one is set
 * (EBUSY), so the alarm is cleared first; the value is read back.
 *
 * @throws VpmdError E_HOST_INVALID for a time not after the RTC's current time;
 *   E_HOST_UNSUPPORTED without the RTC; E_HOST_VERIFY when the alarm read back differs.
 */
export async function setWakeAlarm(
  backend: SysfsBackend,
  epochSeconds: number,
  device = DEFAULT_RTC,
): Promise<RtcState> {
  const state = await readRtc(backend, device);
  if (!Number.isSafeInteger(epochSeconds) || epochSeconds <= (state.sinceEpoch ?? 0)) {
    throw new VpmdError(
      'E_HOST_INVALID',
      `Wake alarm ${epochSeconds} must be an integer epoch time after the RTC's current time ${state.sinceEpoch ?? 'unknown'}`,
      { device, epochSeconds, ...(state.sinceEpoch === undefined ? {} : { rtcTime: state.sinceEpoch }) },
    );
  }
  const file = `${rtcDir(device)}/wakealarm`;
  await backend.write(file, '0');
  await backend.write(file, String(epochSeconds));
  const text = (await backend.read(file)).trim();
  const readBack = text === '' ? undefined : parseIntStrict(backend, file, text);
  if (readBack !== epochSeconds) {
    throw new VpmdError(
      'E_HOST_VERIFY',
      `Wrote ${epochSeconds} to ${fullPath(backend, file)} but read back ${readBack ?? 'nothing'}`,
      {
        file: fullPath(backend, file),
        value: String(epochSeconds),
      },
    );
  }
  return { ...state, wakeAlarm: epochSeconds };
}

/**
 * Clears the wake alarm (writing 0) and verifies that none is pending.
 *
 * @throws VpmdError E_HOST_UNSUPPORTED without the RTC; E_HOST_VERIFY when an alarm remains.
 */
export async function clearWakeAlarm(backend: SysfsBackend, device = DEFAULT_RTC): Promise<void> {
  await readRtc(backend, device);
  const file = `${rtcDir(device)}/wakealarm`;
  await backend.write(file, '0');
  const after = await readRtc(backend, device);
  if (after.wakeAlarm !== undefined) {
    throw new VpmdError(
      'E_HOST_VERIFY',
      `Wrote 0 to ${fullPath(backend, file)} but the alarm ${after.wakeAlarm} is still set`,
      {
        file: fullPath(backend, file),
        value: '0',
      },
    );
  }
}
