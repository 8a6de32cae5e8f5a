/**
 * The wire layout of DPDK's VM power channel (`rte_power_guest_channel.h`, DPDK 22.11 and
 * later): fixed-size C structs in the guest's byte order (x86-64, little-endian), natural
 * alignment, no header. Offsets are checked against the real header by a test that compiles a C
 * program printing `sizeof`/`offsetof` (test/plugins/virtio-channels/layout-c.test.ts).
 */

/** Size of `struct rte_power_channel_packet` (the request). */
export const REQUEST_SIZE = 464;
/** Size of `struct rte_power_channel_packet_freq_list` (the FREQ_LIST reply). */
export const FREQ_LIST_SIZE = 88;
/** Size of `struct rte_power_channel_packet_caps_list` (the CAPS_LIST reply). */
export const CAPS_LIST_SIZE = 184;

/** RTE_POWER_MAX_VFS. */
export const MAX_VFS = 10;
/** RTE_POWER_VM_MAX_NAME_SZ. */
export const VM_MAX_NAME_SZ = 32;
/** RTE_POWER_MAX_VCPU_PER_VM. */
export const MAX_VCPU_PER_VM = 8;
/** RTE_POWER_HOURS_PER_DAY. */
export const HOURS_PER_DAY = 24;

/** Byte offsets of every field of the request. */
export const REQUEST_OFFSETS = Object.freeze({
  resource_id: 0,
  unit: 8,
  command: 12,
  vm_name: 16,
  vfid: 48,
  nb_mac_to_monitor: 128,
  traffic_policy: 132,
  vcpu_to_control: 144,
  num_vcpu: 152,
  timer_policy: 156,
  busy_hours: 156,
  quiet_hours: 252,
  hours_to_use_traffic_profile: 348,
  core_type: 444,
  workload: 448,
  policy_to_use: 452,
  t_boost_status: 456,
});

/** Byte offsets of the FREQ_LIST reply. */
export const FREQ_LIST_OFFSETS = Object.freeze({
  resource_id: 0,
  unit: 8,
  command: 12,
  vm_name: 16,
  freq_list: 48,
  num_vcpu: 80,
});

/** Byte offsets of the CAPS_LIST reply. */
export const CAPS_LIST_OFFSETS = Object.freeze({
  resource_id: 0,
  unit: 8,
  command: 12,
  vm_name: 16,
  turbo: 48,
  priority: 112,
  num_vcpu: 176,
});

/** Guest-to-host commands. */
export const Command = Object.freeze({
  CPU_POWER: 1,
  CPU_POWER_CONNECT: 2,
  PKT_POLICY: 3,
  PKT_POLICY_REMOVE: 4,
  QUERY_FREQ_LIST: 7,
  QUERY_FREQ: 8,
  QUERY_CAPS_LIST: 9,
  QUERY_CAPS: 10,
});

/** Host-to-guest reply commands. */
export const Reply = Object.freeze({ ACK: 1, NACK: 2, FREQ_LIST: 3, CAPS_LIST: 4 });

/** CPU_POWER units. */
export const Unit = Object.freeze({
  SCALE_UP: 1,
  SCALE_DOWN: 2,
  SCALE_MAX: 3,
  SCALE_MIN: 4,
  ENABLE_TURBO: 5,
  DISABLE_TURBO: 6,
});

/** Names of the CPU_POWER units, by value (for logs and the JSON interface). */
export const UNIT_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'SCALE_UP',
  2: 'SCALE_DOWN',
  3: 'SCALE_MAX',
  4: 'SCALE_MIN',
  5: 'ENABLE_TURBO',
  6: 'DISABLE_TURBO',
});

/** Names of the guest commands, by value. */
export const COMMAND_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'CPU_POWER',
  2: 'CPU_POWER_CONNECT',
  3: 'PKT_POLICY',
  4: 'PKT_POLICY_REMOVE',
  7: 'QUERY_FREQ_LIST',
  8: 'QUERY_FREQ',
  9: 'QUERY_CAPS_LIST',
  10: 'QUERY_CAPS',
});

/** `enum rte_power_workload_level`. */
export const Workload = Object.freeze({ HIGH: 0, MEDIUM: 1, LOW: 2 });

/** `enum rte_power_policy`. */
export const Policy = Object.freeze({ TRAFFIC: 0, TIME: 1, WORKLOAD: 2, BRANCH_RATIO: 3 });

/** Names of the policies, by value. */
export const POLICY_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'TRAFFIC',
  1: 'TIME',
  2: 'WORKLOAD',
  3: 'BRANCH_RATIO',
});
