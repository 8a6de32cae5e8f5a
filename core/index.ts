/**
 * vpmd's public API for plugin authors: the plugin contract, the helpers to declare commands and
 * capabilities, the error catalogue, contracts (events, telemetry), formatting helpers, and
 * TypeBox (re-exported so a plugin's schemas use the same instance as the core).
 */
export { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
export {
  definePlugin,
  TOKENS,
  type PluginManifest,
  type PluginConfigProblem,
  type PluginContext,
  type PluginInstance,
  type PluginHealth,
  type ScopedTelemetry,
  type CoreSettings,
  type DemoEnvironment,
  type DemoSetup,
} from './kernel/plugin-contract.js';
export { CORE_API_VERSION } from './kernel/manifest.js';
export { defineCapability, type CapabilityToken, type ScopedCapabilities } from './kernel/capabilities.js';
export {
  defineCommand,
  type CommandSpec,
  type Invocation,
  type StdinField,
  type CommandInfo,
} from './services/commands.js';
export type { ScopedEventBus, EventListener } from './services/event-bus.js';
export { EVENT_NAMES } from './services/event-bus.js';
export type { ScopedScheduler, TaskHandle, EveryOptions } from './services/scheduler.js';
export { formatTable, formatKeyValues, formatHuman, type Column } from './services/format.js';
export { ConcurrencyLimiter } from './services/concurrency-limiter.js';
export {
  readSecretLine,
  describeSecretProblem,
  type SecretLine,
  type SecretFileProblem,
} from './config/secret-file.js';
export { StringEnum, Port } from './config/schema-helpers.js';
export {
  VpmdError,
  isVpmdError,
  toVpmdError,
  ERROR_CATALOGUE,
  ERROR_CATEGORIES,
  EXIT_CODES,
  PLUGIN_EXIT_CODE_RANGE,
  exitCodeFor,
  defineErrors,
  errorSpecOf,
  type ErrorCode,
  type CoreErrorCode,
  type PluginErrorCode,
  type PluginErrorRegistry,
  type PluginErrors,
  type PluginErrorSpec,
  type ErrorSpec,
  type ErrorCategory,
  type ErrorDetails,
  type VpmdErrorJson,
} from './errors.js';
export {
  PRIVILEGES,
  ROLES,
  ROLE_PRIVILEGES,
  roleHas,
  type Privilege,
  type Role,
  type Principal,
  type Origin,
} from './access/privileges.js';
export type { AccessPolicy } from './access/access-policy.js';
export type { CoreEventMap, CoreEventName, VpmdEventMap, VpmdEventName, PluginState } from './contracts/events.js';
export * from './contracts/telemetry.js';
export type { Logger } from './logger.js';
export type { StateStore, StateSpec } from './state/index.js';
export type * from './host/index.js';
export * from './contracts/host-sleep.js';
export * from './contracts/guest-channels.js';
export * from './contracts/bmc.js';
export * from './contracts/host-power.js';
export * from './contracts/audit-log.js';
export * from './contracts/domains.js';
export * from './contracts/energy.js';
export * from './contracts/power-control.js';
export * from './contracts/cpu-limits.js';
export * from './contracts/power-profiles.js';
export {
  CpuLimitsService,
  intersect as intersectCpuLimits,
  type CpuLimitsDeps,
} from './cpu-limits/cpu-limits-service.js';
export { BmcRouter, type CapabilityLookup } from './bmc/bmc-router.js';
/** Helpers for plugins that read facts under the host root (through the host's sysfs backend). */
export { formatCpuList, parseCpuList } from './host/cpu-ranges.js';
export { readOptional, readOptionalInt, readOptionalWords, listOptional, splitWords } from './host/sysfs-read.js';
/** Turns raw RAPL readings (wrapping at `max_energy_range_uj`) into a monotonic total. */
export { EnergyCounter, type EnergySample } from './host/energy-counter.js';
/** Cumulative CPU time of many host threads, re-read each interval through kept-open files. */
export { ThreadCpuReader, type ThreadRef, type ThreadCpuReaderOptions } from './host/thread-cpu.js';
/** The host's own file tree (`new RealSysfs('/')`): for a plugin that reads the real /proc whatever the host model. */
export { RealSysfs } from './host/real-sysfs.js';
/** Small files re-read every interval (`/proc/stat`, `scaling_cur_freq`) through kept-open descriptors. */
export { KeptOpenFiles } from './host/kept-open-files.js';
/** Writes a file atomically (temp file, fsync, rename), as the state store does. */
export { writeFileAtomic } from './state/atomic-file.js';
/** HTTPS certificates for plugin listeners: configured PEM files or a self-signed one kept in state. */
export { loadTlsMaterial, type TlsMaterial, type TlsMaterialOptions } from './net/tls-material.js';
export * from './contracts/plugin-status.js';
/** The agent's version (package.json). */
export { VPMD_VERSION } from './version.js';
