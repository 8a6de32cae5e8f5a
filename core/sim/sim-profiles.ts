/**
 * The built-in simulated hosts. They span the drivers a host agent meets: acpi-cpufreq with a
 * frequency table and `cpufreq/boost`, intel_pstate passive (intel_cpufreq) and active with HWP,
 * amd-pstate-epp, and an Arm server with cppc_cpufreq and no RAPL, turbo or S3/S4.
 */
import { VpmdError } from '../errors.js';
import type { SimCpufreqMode, SimIdleState, SimProfile, SimProfileName } from './sim-profile.js';

const ALL_GOVERNORS = ['conservative', 'ondemand', 'userspace', 'powersave', 'performance', 'schedutil'] as const;

const X86_FLAGS = (
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm ' +
  'pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid ' +
  'aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic ' +
  'movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch epb invpcid_single ssbd ibrs ' +
  'ibpb stibp tpr_shadow vnmi flexpriority ept vpid fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx ' +
  'smap xsaveopt dtherm ida arat pln pts md_clear flush_l1d'
).split(' ');

const INTEL_IDLE: readonly SimIdleState[] = [
  { name: 'POLL', desc: 'CPUIDLE CORE POLL IDLE', latencyUs: 0, residencyUs: 0, idlePower: 1 },
  { name: 'C1', desc: 'MWAIT 0x00', latencyUs: 2, residencyUs: 2, idlePower: 0.3 },
  { name: 'C1E', desc: 'MWAIT 0x01', latencyUs: 10, residencyUs: 20, idlePower: 0.15 },
  { name: 'C6', desc: 'MWAIT 0x20', latencyUs: 133, residencyUs: 600, idlePower: 0.02 },
];

const AMD_IDLE: readonly SimIdleState[] = [
  { name: 'POLL', desc: 'CPUIDLE CORE POLL IDLE', latencyUs: 0, residencyUs: 0, idlePower: 1 },
  { name: 'C1', desc: 'ACPI FFH MWAIT 0x0', latencyUs: 1, residencyUs: 2, idlePower: 0.3 },
  { name: 'C2', desc: 'ACPI IOPORT 0x814', latencyUs: 18, residencyUs: 36, idlePower: 0.03 },
];

const ARM_IDLE: readonly SimIdleState[] = [
  { name: 'WFI', desc: 'ARM WFI', latencyUs: 1, residencyUs: 1, idlePower: 0.25 },
  { name: 'cpu-sleep', desc: 'cpu-sleep', latencyUs: 150, residencyUs: 300, idlePower: 0.03 },
];

/** A generic (non-setpolicy) mode: the full governor list and `scaling_setspeed`. */
function genericMode(driver: string, extra: Partial<SimCpufreqMode> = {}): SimCpufreqMode {
  return {
    driver,
    governors: ALL_GOVERNORS,
    defaultGovernor: 'schedutil',
    epp: false,
    baseFrequency: false,
    setpolicy: false,
    numericEpp: false,
    ...extra,
  };
}

/** intel_pstate active: `performance powersave` only. */
function pstateActive(hwp: boolean): SimCpufreqMode {
  return {
    driver: 'intel_pstate',
    governors: ['performance', 'powersave'],
    defaultGovernor: 'powersave',
    epp: hwp,
    baseFrequency: hwp,
    setpolicy: true,
    numericEpp: hwp,
  };
}

const ACPI_TABLE = [
  3801000, 3800000, 3600000, 3400000, 3200000, 3000000, 2800000, 2600000, 2400000, 2200000, 2000000, 1800000, 1600000,
  1400000, 1200000,
];

const PROFILES: readonly SimProfile[] = [
  {
    name: 'intel-acpi-cpufreq-8',
    description:
      'Intel Xeon E-2174G, 4 cores / 8 threads, acpi-cpufreq with a frequency table and cpufreq/boost, S3 and S4',
    arch: 'x86_64',
    identity: {
      vendor: 'GenuineIntel',
      modelName: 'Intel(R) Xeon(R) E-2174G CPU @ 3.80GHz',
      family: 6,
      model: 158,
      stepping: 10,
      flags: X86_FLAGS,
    },
    packages: 1,
    coresPerPackage: 4,
    threadsPerCore: 2,
    numaNodes: 1,
    memKiB: 32_768_000,
    cpufreq: {
      minKHz: 1_200_000,
      maxKHz: 3_801_000,
      nominalKHz: 3_800_000,
      table: ACPI_TABLE,
      latencyNs: 10_000,
      turbo: 'boost',
      initialMode: 'default',
      modes: { default: genericMode('acpi-cpufreq') },
    },
    cpuidle: { driver: 'intel_idle', governor: 'menu', states: INTEL_IDLE },
    caches: [
      { level: 1, type: 'Data', sizeKiB: 32, coresPerInstance: 1 },
      { level: 1, type: 'Instruction', sizeKiB: 32, coresPerInstance: 1 },
      { level: 2, type: 'Unified', sizeKiB: 256, coresPerInstance: 1 },
      { level: 3, type: 'Unified', sizeKiB: 8192, coresPerInstance: 4 },
    ],
    power: {
      packageIdleW: 6,
      packageMaxW: 80,
      dramIdleW: 1.5,
      dramMaxW: 5,
      ambientC: 30,
      thermalResistance: 0.6,
      thermalTimeConstantS: 20,
      tdpW: 71,
    },
    platform: {
      rapl: { prefix: 'intel-rapl', subdomain: 'dram' },
      zones: ['acpitz', 'x86_pkg_temp'],
      cpuHwmon: 'coretemp',
      boardHwmon: ['nct6775'],
      sleep: {
        state: 'freeze mem disk',
        memSleep: 's2idle [deep]',
        disk: '[platform] shutdown reboot suspend test_resume',
      },
      rtcName: 'rtc_cmos',
      cmdline:
        'BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID=6f1c0e52-2d8a-4e0b-9a5e-2d1b1c7f3a10 ro quiet intel_pstate=disable',
    },
  },
  {
    name: 'intel-cpufreq-passive-16',
    description:
      'Intel Xeon E5-2667 v4, 8 cores / 16 threads, intel_pstate passive (intel_cpufreq, no HWP), intel_pstate/no_turbo',
    arch: 'x86_64',
    identity: {
      vendor: 'GenuineIntel',
      modelName: 'Intel(R) Xeon(R) CPU E5-2667 v4 @ 3.20GHz',
      family: 6,
      model: 79,
      stepping: 1,
      flags: X86_FLAGS,
    },
    packages: 1,
    coresPerPackage: 8,
    threadsPerCore: 2,
    numaNodes: 1,
    memKiB: 65_536_000,
    cpufreq: {
      minKHz: 1_200_000,
      maxKHz: 3_600_000,
      nominalKHz: 3_200_000,
      latencyNs: 20_000,
      turbo: 'no_turbo',
      statusDriver: 'intel_pstate',
      initialMode: 'passive',
      modes: { passive: genericMode('intel_cpufreq'), active: pstateActive(false), off: null },
    },
    cpuidle: { driver: 'intel_idle', governor: 'menu', states: INTEL_IDLE },
    caches: [
      { level: 1, type: 'Data', sizeKiB: 32, coresPerInstance: 1 },
      { level: 1, type: 'Instruction', sizeKiB: 32, coresPerInstance: 1 },
      { level: 2, type: 'Unified', sizeKiB: 256, coresPerInstance: 1 },
      { level: 3, type: 'Unified', sizeKiB: 25_600, coresPerInstance: 8 },
    ],
    power: {
      packageIdleW: 20,
      packageMaxW: 135,
      dramIdleW: 4,
      dramMaxW: 15,
      ambientC: 28,
      thermalResistance: 0.35,
      thermalTimeConstantS: 30,
      tdpW: 135,
    },
    platform: {
      rapl: { prefix: 'intel-rapl', subdomain: 'dram' },
      zones: ['acpitz', 'x86_pkg_temp'],
      cpuHwmon: 'coretemp',
      boardHwmon: [],
      sleep: {
        state: 'freeze mem disk',
        memSleep: 's2idle [deep]',
        disk: '[platform] shutdown reboot suspend test_resume',
      },
      rtcName: 'rtc_cmos',
      cmdline:
        'BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/mapper/vg0-root ro intel_pstate=passive intel_idle.max_cstate=3',
    },
  },
  {
    name: 'intel-pstate-hwp-32',
    description:
      'Two Intel Xeon Silver 4110, 2 x 8 cores x 2 threads, 2 NUMA nodes, intel_pstate active with HWP and EPP',
    arch: 'x86_64',
    identity: {
      vendor: 'GenuineIntel',
      modelName: 'Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz',
      family: 6,
      model: 85,
      stepping: 4,
      flags: [...X86_FLAGS, 'hwp', 'hwp_act_window', 'hwp_epp', 'hwp_pkg_req', 'avx512f', 'avx512dq'],
    },
    packages: 2,
    coresPerPackage: 8,
    threadsPerCore: 2,
    numaNodes: 2,
    memKiB: 196_608_000,
    cpufreq: {
      minKHz: 800_000,
      maxKHz: 3_000_000,
      nominalKHz: 2_100_000,
      baseKHz: 2_100_000,
      latencyNs: 0,
      turbo: 'no_turbo',
      statusDriver: 'intel_pstate',
      initialMode: 'active',
      modes: {
        active: pstateActive(true),
        passive: genericMode('intel_cpufreq', { epp: true, baseFrequency: true, numericEpp: true }),
        off: null,
      },
    },
    cpuidle: { driver: 'intel_idle', governor: 'menu', states: INTEL_IDLE },
    caches: [
      { level: 1, type: 'Data', sizeKiB: 32, coresPerInstance: 1 },
      { level: 1, type: 'Instruction', sizeKiB: 32, coresPerInstance: 1 },
      { level: 2, type: 'Unified', sizeKiB: 1024, coresPerInstance: 1 },
      { level: 3, type: 'Unified', sizeKiB: 11_264, coresPerInstance: 8 },
    ],
    power: {
      packageIdleW: 18,
      packageMaxW: 85,
      dramIdleW: 5,
      dramMaxW: 20,
      platformW: 70,
      ambientC: 25,
      thermalResistance: 0.5,
      thermalTimeConstantS: 30,
      tdpW: 85,
    },
    platform: {
      rapl: { prefix: 'intel-rapl', subdomain: 'dram' },
      zones: ['acpitz', 'x86_pkg_temp'],
      cpuHwmon: 'coretemp',
      boardHwmon: ['power_meter'],
      sleep: {
        state: 'freeze mem disk',
        memSleep: 's2idle [deep]',
        disk: '[platform] shutdown reboot suspend test_resume',
      },
      rtcName: 'rtc_cmos',
      cmdline: 'BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/sda2 ro hugepagesz=1G hugepages=16 default_hugepagesz=1G',
    },
  },
  {
    name: 'amd-pstate-epp-64',
    description:
      'Two AMD EPYC 9124, 2 x 16 cores x 2 threads, 2 NUMA nodes, amd-pstate-epp with EPP and cpufreq/boost, amd-rapl',
    arch: 'x86_64',
    identity: {
      vendor: 'AuthenticAMD',
      modelName: 'AMD EPYC 9124 16-Core Processor',
      family: 25,
      model: 17,
      stepping: 1,
      flags: [
        ...X86_FLAGS.filter((f) => !['vmx', 'smx', 'ept', 'vpid', 'flexpriority', 'tpr_shadow', 'vnmi'].includes(f)),
        'svm',
        'cppc',
        'amd_ppin',
      ],
    },
    packages: 2,
    coresPerPackage: 16,
    threadsPerCore: 2,
    numaNodes: 2,
    memKiB: 393_216_000,
    cpufreq: {
      minKHz: 400_000,
      maxKHz: 3_711_000,
      nominalKHz: 3_000_000,
      latencyNs: 20_000,
      turbo: 'boost',
      statusDriver: 'amd_pstate',
      initialMode: 'active',
      modes: {
        active: { ...pstateActive(true), driver: 'amd-pstate-epp', baseFrequency: false, numericEpp: false },
        passive: genericMode('amd-pstate'),
        guided: genericMode('amd-pstate'),
        disable: null,
      },
    },
    cpuidle: { driver: 'acpi_idle', governor: 'menu', states: AMD_IDLE },
    caches: [
      { level: 1, type: 'Data', sizeKiB: 32, coresPerInstance: 1 },
      { level: 1, type: 'Instruction', sizeKiB: 32, coresPerInstance: 1 },
      { level: 2, type: 'Unified', sizeKiB: 1024, coresPerInstance: 1 },
      { level: 3, type: 'Unified', sizeKiB: 16_384, coresPerInstance: 4 },
    ],
    power: {
      packageIdleW: 30,
      packageMaxW: 200,
      ambientC: 25,
      thermalResistance: 0.25,
      thermalTimeConstantS: 40,
      tdpW: 200,
    },
    platform: {
      rapl: { prefix: 'amd-rapl', subdomain: 'core' },
      zones: [],
      cpuHwmon: 'k10temp',
      boardHwmon: [],
      sleep: {
        state: 'freeze mem disk',
        memSleep: '[s2idle] deep',
        disk: '[platform] shutdown reboot suspend test_resume',
      },
      rtcName: 'rtc_cmos',
      cmdline:
        'BOOT_IMAGE=/boot/vmlinuz-6.6.13 root=UUID=0b9e3c6e-8f3c-4d59-9d0c-0f7d2b2c4b11 ro amd_pstate=active iommu=pt',
    },
  },
  {
    name: 'arm-cppc-8',
    description:
      'Arm Neoverse-N1, 8 cores, cppc_cpufreq, aarch64; no RAPL, no turbo, no S3 (s2idle only), no hibernation',
    arch: 'aarch64',
    identity: {
      vendor: 'ARM',
      modelName: 'Neoverse-N1',
      family: 8,
      model: 0xd0c,
      stepping: 1,
      flags:
        'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs'.split(
          ' ',
        ),
      armImplementer: '0x41',
      armPart: '0xd0c',
    },
    packages: 1,
    coresPerPackage: 8,
    threadsPerCore: 1,
    numaNodes: 1,
    memKiB: 16_384_000,
    cpufreq: {
      minKHz: 1_000_000,
      maxKHz: 3_000_000,
      nominalKHz: 3_000_000,
      latencyNs: 1_000,
      turbo: 'none',
      initialMode: 'default',
      modes: { default: genericMode('cppc_cpufreq') },
    },
    cpuidle: { driver: 'psci_idle', governor: 'menu', states: ARM_IDLE },
    caches: [
      { level: 1, type: 'Data', sizeKiB: 64, coresPerInstance: 1 },
      { level: 1, type: 'Instruction', sizeKiB: 64, coresPerInstance: 1 },
      { level: 2, type: 'Unified', sizeKiB: 1024, coresPerInstance: 1 },
      { level: 3, type: 'Unified', sizeKiB: 32_768, coresPerInstance: 8 },
    ],
    power: {
      packageIdleW: 5,
      packageMaxW: 40,
      ambientC: 30,
      thermalResistance: 0.8,
      thermalTimeConstantS: 15,
      tdpW: 40,
    },
    platform: {
      zones: ['cpu-thermal'],
      boardHwmon: [],
      sleep: { state: 'freeze mem', memSleep: '[s2idle]' },
      rtcName: 'rtc-efi',
      cmdline:
        'BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-arm64 root=UUID=a3c7d7a8-55f1-4f41-a8a4-7d0a6b1e2f00 ro console=ttyAMA0',
    },
  },
];

/** Name and description of a built-in profile. */
export interface SimProfileInfo {
  readonly name: SimProfileName;
  readonly description: string;
}

/** The built-in profiles, for listings (`vpmd --list-profiles`). */
export const SIM_PROFILES: readonly SimProfileInfo[] = PROFILES.map((p) => ({
  name: p.name,
  description: p.description,
}));

/**
 * The full definition of a built-in profile.
 *
 * @throws VpmdError E_HOST_INVALID for an unknown name, listing the known ones.
 */
export function getSimProfile(name: string): SimProfile {
  const profile = PROFILES.find((p) => p.name === name);
  if (profile === undefined) {
    throw new VpmdError(
      'E_HOST_INVALID',
      `Unknown simulated host profile ${JSON.stringify(name)}; profiles: ${PROFILES.map((p) => p.name).join(', ')}`,
      {
        profile: name,
        known: PROFILES.map((p) => p.name),
      },
    );
  }
  return profile;
}
