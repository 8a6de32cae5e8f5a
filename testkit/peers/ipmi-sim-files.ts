/**
 * The files one ipmi_sim process reads: the LAN configuration (one `set_working_mc` block per
 * simulated BMC, each with its own loopback port, users and chassis-control program), the
 * emulator command file, and the chassis-control script that keeps each BMC's power state in a
 * file the test can read.
 */
import { peerOptionsError } from './peer-errors.js';
import {
  hex,
  renderSelCommands,
  renderSensorCommands,
  type SimSelEntry,
  type SimSensorSpec,
} from './ipmi-sim-sensors.js';

const PEER = 'ipmi_sim';

/** Privilege limits a simulated user can have. */
export type SimPrivilege = 'callback' | 'user' | 'operator' | 'admin';

/** A user account on every simulated BMC. */
export interface SimUser {
  /** 1..16 characters. */
  readonly name: string;
  /** 1..20 characters (IPMI 2.0 passwords). */
  readonly password: string;
  readonly privilege: SimPrivilege;
}

/** Default accounts: an administrator and a read-only monitor. */
export const DEFAULT_SIM_USERS: readonly SimUser[] = [
  { name: 'admin', password: 'password', privilege: 'admin' },
  { name: 'monitor', password: 'monpass', privilege: 'user' },
];

/** One simulated BMC inside a process. */
export interface SimBmcLayout {
  /** Index among all BMCs of the peer. */
  readonly index: number;
  /** IPMB address: 0x20, 0x22, ... per process. */
  readonly ipmb: number;
  readonly port: number;
  /** File holding "0" or "1", read and written by the chassis script. */
  readonly powerFile: string;
}

/** IPMB address of the `n`-th BMC of a process (even addresses from 0x20). */
export function ipmbOf(n: number): number {
  return 0x20 + 2 * n;
}

/** ipmi_sim quotes strings with "..." and has no escapes: refuse what would break the file. */
const SAFE_TEXT = /^[A-Za-z0-9._@+=:,%-]+$/;

/**
 * Validates user accounts (slots 2.. in order; slot 1 is IPMI's anonymous user).
 * @throws VpmdError (options) naming the bad field
 */
export function checkUsers(users: readonly SimUser[]): void {
  if (users.length === 0 || users.length > 14) throw peerOptionsError(PEER, 'users', users.length, '1 to 14 accounts');
  const privileges: readonly SimPrivilege[] = ['callback', 'user', 'operator', 'admin'];
  users.forEach((u, i) => {
    if (typeof u.name !== 'string' || u.name.length > 16 || !SAFE_TEXT.test(u.name)) {
      throw peerOptionsError(PEER, `users[${i}].name`, u.name, '1-16 characters from A-Z a-z 0-9 . _ @ + = : , % -');
    }
    if (typeof u.password !== 'string' || u.password.length > 20 || !SAFE_TEXT.test(u.password)) {
      throw peerOptionsError(
        PEER,
        `users[${i}].password`,
        '(hidden)',
        '1-20 characters from A-Z a-z 0-9 . _ @ + = : , % -',
      );
    }
    if (!privileges.includes(u.privilege))
      throw peerOptionsError(PEER, `users[${i}].privilege`, u.privilege, privileges.join(', '));
  });
}

/** Paths inside lan.conf are quoted without escapes: refuse spaces and quotes. */
export function checkConfigPath(path: string): void {
  if (!/^[^\s"\\]+$/.test(path))
    throw peerOptionsError(PEER, 'TMPDIR', path, 'a temp directory path without spaces, quotes or backslashes');
}

/**
 * lan.conf for one process.
 * @param name - the process's name; its state lives in STATE/ipmi_sim/NAME
 * @param guidPrefix - 16 hex digits shared by the run; each BMC appends its index
 */
export function renderLanConf(
  name: string,
  bmcs: readonly SimBmcLayout[],
  users: readonly SimUser[],
  chassisScript: string,
  consolePort: number,
  guidPrefix: string,
): string {
  const lines = [`# ipmi_sim LAN configuration written by vpmd's test kit`, `name "${name}"`, ''];
  for (const bmc of bmcs) {
    lines.push(
      `set_working_mc ${hex(bmc.ipmb)}`,
      '  startlan 1',
      `    addr 127.0.0.1 ${bmc.port}`,
      '    priv_limit admin',
      '    allowed_auths_callback md5',
      '    allowed_auths_user md5',
      '    allowed_auths_operator md5',
      '    allowed_auths_admin md5',
      `    guid ${guidPrefix}${bmc.index.toString(16).padStart(16, '0')}`,
      '  endlan',
      `  chassis_control "${chassisScript} ${bmc.powerFile}"`,
      ...users.map((u, slot) => `  user ${slot + 2} true "${u.name}" "${u.password}" ${u.privilege} 10 md5`),
      '',
    );
  }
  // A TCP console on loopback: the kit sends sensor_set_value through it at run time.
  lines.push(`console 127.0.0.1 ${consolePort}`, '');
  return lines.join('\n');
}

/**
 * The emulator command file for one process. Each controller is made the BMC (mc_setbmc)
 * before mc_add: ipmi_sim loads persisted SDRs (our compiled sdr.NN.main) only for the
 * controller that is the BMC at the moment it is added.
 */
export function renderEmu(
  bmcs: readonly SimBmcLayout[],
  sensors: readonly SimSensorSpec[],
  sel: readonly SimSelEntry[],
): string {
  const lines = [`# ipmi_sim emulator commands written by vpmd's test kit`];
  for (const bmc of bmcs) {
    const mc = hex(bmc.ipmb);
    lines.push(
      '',
      `mc_setbmc ${mc}`,
      `mc_add ${mc} 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr`,
      `sel_enable ${mc} 1000 0x0a`,
      ...renderSensorCommands(sensors, bmc.ipmb),
      ...renderSelCommands(sel, bmc.ipmb),
      `mc_enable ${mc}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The chassis-control program: `SCRIPT POWERFILE get power|boot ...` prints `power:0|1`;
 * `SCRIPT POWERFILE set power 0|1 [reset 1] [boot X] [identify "I F"]` stores the state and
 * appends "PARM VALUE" to POWERFILE.log. ipmi_sim passes identify's interval and force flag as
 * one argument ("15 0"), so it is logged as "identify 15 0". Writes go through a temp file so a reader never sees
 * an empty state.
 */
export const CHASSIS_SCRIPT = `#!/bin/sh
# ipmi_sim chassis_control program written by vpmd's test kit.
state="$1"; op="$2"
shift 2
put() { printf '%s\\n' "$2" > "$1.tmp" && mv "$1.tmp" "$1"; }
case "$op" in
  get)
    for parm in "$@"; do
      case "$parm" in
        power) printf 'power:%s\\n' "$(cat "$state" 2>/dev/null || echo 0)" ;;
        boot) printf 'boot:%s\\n' "$(cat "$state.boot" 2>/dev/null || echo default)" ;;
        *) echo "Invalid parameter: $parm"; exit 1 ;;
      esac
    done
    ;;
  set)
    while [ $# -ge 2 ]; do
      parm="$1"; val="$2"; shift 2
      printf '%s %s\\n' "$parm" "$val" >> "$state.log"
      case "$parm" in
        power) put "$state" "$val" ;;
        boot) put "$state.boot" "$val" ;;
        reset) ;;
        identify) ;;
        *) echo "Invalid parameter: $parm"; exit 1 ;;
      esac
    done
    ;;
  check) exit 1 ;;
  *) echo "Unknown operation: $op"; exit 1 ;;
esac
`;
