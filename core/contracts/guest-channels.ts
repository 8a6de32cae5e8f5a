/**
 * Guest power channels (DPDK VM power management): provided by `virtio-channels`, consumed by
 * SNMP (statistics, per-pCPU requested frequency, policy bounds) and Redfish (processors'
 * allowed frequency range feeding the host precedence policy).
 */
import { defineCapability } from '../kernel/capabilities.js';
import type { Principal } from '../access/privileges.js';

/** Per-VM request counters. */
export interface GuestChannelStats {
  readonly vm: string;
  readonly channels: number;
  readonly connected: number;
  readonly accepted: number;
  readonly clamped: number;
  readonly limited: number;
  readonly refused: number;
  /**
   * Of the refused, the requests to raise the frequency that a raise denial forbade (the VM
   * over its power budget, cpu-limits@1); absent from providers that do not count them.
   */
  readonly denied?: number;
  /**
   * Of the accepted, the requests whose frequency change joined one waiting for the pCPU's
   * change limit (ACKed, applied later with the latest wanted frequency); absent from providers
   * that do not coalesce.
   */
  readonly coalesced?: number;
  /**
   * Resynchronisations: garbage or stale partial frames skipped on the channels (not requests,
   * no reply); absent from providers that do not count them.
   */
  readonly dropped?: number;
}

/** Host bounds on what guests may ask for one pCPU, in kHz. */
export interface PcpuBounds {
  readonly pcpu: number;
  readonly minKHz?: number;
  readonly maxKHz?: number;
}

/** Per-pCPU frequency: what guests asked and what is applied, in kHz. */
export interface PcpuFrequency {
  readonly pcpu: number;
  readonly requestedKHz?: number;
  readonly appliedKHz?: number;
  readonly vms: readonly string[];
}

/** The guest-channels capability. */
export interface GuestChannels {
  stats(): readonly GuestChannelStats[];
  frequencies(): Promise<readonly PcpuFrequency[]>;
  bounds(): readonly PcpuBounds[];
  /** Sets host bounds for a pCPU (re-applied at once). @throws E_ACCESS_DENIED, E_COMMAND_USAGE. */
  setBounds(bounds: PcpuBounds, by: Principal): Promise<void>;
}

/** Token of {@link GuestChannels}. */
export const GUEST_CHANNELS = defineCapability<GuestChannels>('guest-channels@1');
