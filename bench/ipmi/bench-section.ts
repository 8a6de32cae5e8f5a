/**
 * The `ipmi` section the IPMI benchmarks give vpmd: compared like for like with FreeIPMI's
 * ipmi-sensors, which reads sensors only, over cipher suite 3, with the sweeps triggered by the
 * benchmark itself.
 */
import type { IpmiSimTarget } from '../../testkit/index.js';

/** Sweeps in parallel and requests in flight (FreeIPMI's `--fanout` on the other side). */
export interface BenchIpmiLimits {
  readonly concurrency: number;
  readonly maxInFlight: number;
}

/** vpmd's `ipmi` section polling `targets` as the benchmarks do. */
export function benchIpmiSection(targets: readonly IpmiSimTarget[], limits: BenchIpmiLimits): Record<string, unknown> {
  return {
    // Long interval: the benchmark triggers every sweep itself.
    interval: 86400,
    concurrency: limits.concurrency,
    maxInFlight: limits.maxInFlight,
    sel: false,
    // ipmi-sensors reads sensors only. (ipmi_sim forks a shell script for every Get Chassis
    // Status: 3.6 ms of its CPU each, 9x a warm FreeIPMI poll.)
    chassis: false,
    // FreeIPMI is told suite 3 (-I 3): so is vpmd, which then lists no suites either.
    targets: targets.map((t) => ({
      name: t.name,
      host: t.host,
      port: t.port,
      username: t.username,
      password: t.password,
      cipherSuite: 3,
    })),
  };
}
