/**
 * Names the IPMI specification gives to numbers: sensor types (table 42-3), base units (43-15),
 * threshold event offsets and the common generic and sensor-specific states (42-2, 42-3), in
 * ipmitool's wording so human output reads the same.
 */

/** Sensor type names by code. */
export const SENSOR_TYPES: readonly string[] = [
  'reserved', 'Temperature', 'Voltage', 'Current', 'Fan', 'Physical Security', 'Platform Security', 'Processor',
  'Power Supply', 'Power Unit', 'Cooling Device', 'Other', 'Memory', 'Drive Slot / Bay', 'POST Memory Resize',
  'System Firmwares', 'Event Logging Disabled', 'Watchdog1', 'System Event', 'Critical Interrupt', 'Button',
  'Module / Board', 'Microcontroller', 'Add-in Card', 'Chassis', 'Chip Set', 'Other FRU', 'Cable / Interconnect',
  'Terminator', 'System Boot Initiated', 'Boot Error', 'OS Boot', 'OS Critical Stop', 'Slot / Connector',
  'System ACPI Power State', 'Watchdog2', 'Platform Alert', 'Entity Presence', 'Monitor ASIC', 'LAN',
  'Management Subsys Health', 'Battery', 'Session Audit', 'Version Change', 'FRU State',
];

/** The name of sensor type `code` (OEM types 0xC0-0xFF included). */
export function sensorTypeName(code: number): string {
  if (code >= 0xc0) return 'OEM';
  return SENSOR_TYPES[code] ?? `Unknown (0x${code.toString(16)})`;
}

/** Base unit names by code (table 43-15), as ipmitool prints them. */
export const UNIT_NAMES: readonly string[] = [
  'unspecified', 'degrees C', 'degrees F', 'degrees K', 'Volts', 'Amps', 'Watts', 'Joules', 'Coulombs', 'VA', 'Nits',
  'lumen', 'lux', 'Candela', 'kPa', 'PSI', 'Newton', 'CFM', 'RPM', 'Hz', 'microsecond', 'millisecond', 'second',
  'minute', 'hour', 'day', 'week', 'mil', 'inches', 'feet', 'cu in', 'cu feet', 'mm', 'cm', 'm', 'cu cm', 'cu m',
  'liters', 'fluid ounce', 'radians', 'steradians', 'revolutions', 'cycles', 'gravities', 'ounce', 'pound', 'ft-lb',
  'oz-in', 'gauss', 'gilberts', 'henry', 'millihenry', 'farad', 'microfarad', 'ohms', 'siemens', 'mole', 'becquerel',
  'PPM', 'reserved', 'Decibels', 'DbA', 'DbC', 'gray', 'sievert', 'color temp deg K', 'bit', 'kilobit', 'megabit',
  'gigabit', 'byte', 'kilobyte', 'megabyte', 'gigabyte', 'word', 'dword', 'qword', 'line', 'hit', 'miss', 'retry',
  'reset', 'overflow', 'underrun', 'collision', 'packets', 'messages', 'characters', 'error', 'correctable error',
  'uncorrectable error', 'fatal error', 'grams',
];

/** Threshold event offsets (event/reading type 01h). */
export const THRESHOLD_EVENTS: readonly string[] = [
  'Lower Non-critical going low', 'Lower Non-critical going high', 'Lower Critical going low', 'Lower Critical going high',
  'Lower Non-recoverable going low', 'Lower Non-recoverable going high', 'Upper Non-critical going low',
  'Upper Non-critical going high', 'Upper Critical going low', 'Upper Critical going high',
  'Upper Non-recoverable going low', 'Upper Non-recoverable going high',
];

/** Generic discrete states by event/reading type 02h-0Ch. */
const GENERIC: Readonly<Record<number, readonly string[]>> = {
  0x02: ['Transition to Idle', 'Transition to Active', 'Transition to Busy'],
  0x03: ['State Deasserted', 'State Asserted'],
  0x04: ['Predictive Failure Deasserted', 'Predictive Failure Asserted'],
  0x05: ['Limit Not Exceeded', 'Limit Exceeded'],
  0x06: ['Performance Met', 'Performance Lags'],
  0x07: ['Transition to OK', 'Transition to Non-critical from OK', 'Transition to Critical from less severe', 'Transition to Non-recoverable from less severe', 'Transition to Non-critical from more severe', 'Transition to Critical from Non-recoverable', 'Transition to Non-recoverable', 'Monitor', 'Informational'],
  0x08: ['Device Absent', 'Device Present'],
  0x09: ['Device Disabled', 'Device Enabled'],
  0x0a: ['Transition to Running', 'Transition to In Test', 'Transition to Power Off', 'Transition to On Line', 'Transition to Off Line', 'Transition to Off Duty', 'Transition to Degraded', 'Transition to Power Save', 'Install Error'],
  0x0b: ['Fully Redundant', 'Redundancy Lost', 'Redundancy Degraded', 'Non-Redundant: Sufficient from Redundant', 'Non-Redundant: Sufficient from Insufficient', 'Non-Redundant: Insufficient Resources', 'Redundancy Degraded from Fully Redundant', 'Redundancy Degraded from Non-Redundant'],
  0x0c: ['D0 Power State', 'D1 Power State', 'D2 Power State', 'D3 Power State'],
};

/** Sensor-specific states (event/reading type 6Fh) of common sensor types. */
const SPECIFIC: Readonly<Record<number, readonly string[]>> = {
  0x05: ['General Chassis intrusion', 'Drive Bay intrusion', 'I/O Card area intrusion', 'Processor area intrusion', 'System unplugged from LAN', 'Unauthorized dock', 'FAN area intrusion'],
  0x07: ['IERR', 'Thermal Trip', 'FRB1/BIST failure', 'FRB2/Hang in POST failure', 'FRB3/Processor Startup/Init failure', 'Configuration Error', 'SM BIOS Uncorrectable CPU-complex Error', 'Presence detected', 'Disabled', 'Terminator presence detected', 'Throttled', 'Uncorrectable machine check exception', 'Correctable machine check error'],
  0x08: ['Presence detected', 'Failure detected', 'Predictive failure', 'Power Supply AC lost', 'AC lost or out-of-range', 'AC out-of-range, but present', 'Config Error'],
  0x09: ['Power off/down', 'Power cycle', '240VA power down', 'Interlock power down', 'AC lost', 'Soft-power control failure', 'Failure detected', 'Predictive failure'],
  0x0c: ['Correctable ECC', 'Uncorrectable ECC', 'Parity', 'Memory Scrub Error', 'Memory Device Disabled', 'Correctable ECC logging limit reached', 'Presence Detected', 'Configuration Error', 'Spare', 'Throttled', 'Critical Overtemperature'],
  0x0d: ['Drive Present', 'Drive Fault', 'Predictive Failure', 'Hot Spare', 'Parity Check In Progress', 'In Critical Array', 'In Failed Array', 'Rebuild in Progress', 'Rebuild Aborted'],
  0x10: ['Correctable memory error logging disabled', 'Event logging disabled', 'Log area reset/cleared', 'All event logging disabled', 'Log full', 'Log almost full'],
  0x12: ['System Reconfigured', 'OEM System boot event', 'Undetermined system hardware failure', 'Entry added to auxiliary log', 'PEF Action', 'Timestamp Clock Sync'],
  0x14: ['Power Button pressed', 'Sleep Button pressed', 'Reset Button pressed', 'FRU Latch', 'FRU Service'],
  0x22: ['S0/G0: working', 'S1: sleeping with system h/w & processor context maintained', 'S2: sleeping, processor context lost', 'S3: sleeping, processor & h/w context lost, memory retained', 'S4: non-volatile sleep/suspend-to-disk', 'S5/G2: soft-off', 'S4/S5: soft-off', 'G3: mechanical off', 'Sleeping in S1/S2/S3 state', 'G1: sleeping', 'S5: entered by override', 'Legacy ON state', 'Legacy OFF state', 'Unknown'],
  0x23: ['Timer expired', 'Hard reset', 'Power down', 'Power cycle', 'reserved', 'reserved', 'reserved', 'reserved', 'Timer interrupt'],
  0x25: ['Present', 'Absent', 'Disabled'],
};

/** The text of state `offset` for a discrete sensor, or undefined when the tables lack it. */
export function discreteStateText(eventReadingType: number, sensorType: number, offset: number): string | undefined {
  if (eventReadingType === 0x01) return THRESHOLD_EVENTS[offset];
  if (eventReadingType === 0x6f) return SPECIFIC[sensorType]?.[offset];
  return GENERIC[eventReadingType]?.[offset];
}

/** Severity of an event for the hardware log. */
export function eventSeverity(eventReadingType: number, sensorType: number, offset: number): 'info' | 'warning' | 'critical' {
  if (eventReadingType === 0x01) return offset >= 2 && offset <= 5 ? 'critical' : offset >= 8 ? 'critical' : 'warning';
  if (eventReadingType === 0x6f) {
    const critical: Readonly<Record<number, readonly number[]>> = { 0x07: [0, 1, 11], 0x08: [1, 3], 0x09: [4, 6], 0x0c: [1, 10], 0x0d: [1, 6] };
    const warning: Readonly<Record<number, readonly number[]>> = { 0x05: [0, 1, 2, 3, 4, 5, 6], 0x07: [2, 3, 4, 5, 6, 10, 12], 0x08: [2, 4, 5, 6], 0x09: [5, 7], 0x0c: [0, 2, 3, 4, 5, 7, 9], 0x0d: [2, 5], 0x10: [4] };
    if (critical[sensorType]?.includes(offset)) return 'critical';
    if (warning[sensorType]?.includes(offset)) return 'warning';
    return 'info';
  }
  if (eventReadingType === 0x07) return offset === 2 || offset === 3 || offset >= 5 ? 'critical' : offset === 1 || offset === 4 ? 'warning' : 'info';
  if (eventReadingType === 0x04 || eventReadingType === 0x05 || eventReadingType === 0x06) return offset === 1 ? 'warning' : 'info';
  if (eventReadingType === 0x0b) return offset === 1 || offset === 5 ? 'critical' : offset === 0 ? 'info' : 'warning';
  return 'info';
}
