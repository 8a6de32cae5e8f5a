/**
 * The capabilities the core itself provides. Any plugin may get them without declaring them
 * (declaring one under `requires` documents the dependency and is accepted); no plugin may
 * provide them. They are registered before the first plugin starts, under the owner `core`.
 */
import { AUDIT_LOG } from '../contracts/audit-log.js';
import { HOST_POWER } from '../contracts/host-power.js';
import { BMCS } from '../contracts/bmc.js';
import { CPU_LIMITS } from '../contracts/cpu-limits.js';
import { PLUGIN_STATUS } from '../contracts/plugin-status.js';
import { CORE_OWNER } from './capabilities.js';

export { CORE_OWNER };

/** Ids of the core's own capabilities. */
export const CORE_CAPABILITY_IDS: readonly string[] = [
  HOST_POWER.id,
  AUDIT_LOG.id,
  BMCS.id,
  CPU_LIMITS.id,
  PLUGIN_STATUS.id,
];
