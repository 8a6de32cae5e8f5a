/**
 * Provides `power-profiles@1` for Redfish (`ComputerSystem.PowerMode`, the OEM profile
 * resource) and SNMP (the VPMD-MIB profile table). Writes are privilege-checked and audited.
 */
import {
  POWER_PROFILES,
  REDFISH_POWER_MODES,
  VpmdError,
  type PluginContext,
  type PowerProfileInfo,
  type RedfishPowerMode,
} from 'vpmd';
import { profileRows } from './cli.js';
import type { ProfilesConfig } from './config.js';
import type { ProfileEngine } from './engine.js';

/** The mode whose assignments all hold now. */
export function currentPowerMode(config: ProfilesConfig, assigned: ReadonlyMap<string, string>): RedfishPowerMode {
  for (const [mode, map] of Object.entries(config.powerModes)) {
    const entries = Object.entries(map);
    if (entries.length > 0 && entries.every(([pool, profile]) => assigned.get(pool) === profile))
      return mode as RedfishPowerMode;
  }
  return assigned.size === 0 ? 'OSControlled' : 'OEM';
}

/** Registers the capability. */
export function providePowerProfiles(ctx: PluginContext<ProfilesConfig>, engine: () => ProfileEngine): void {
  ctx.capabilities.provide(POWER_PROFILES, {
    profiles: (): PowerProfileInfo[] =>
      profileRows(engine()).map((r) => ({
        name: r.name,
        ...(r.description !== undefined ? { description: r.description } : {}),
        pools: r.pools,
        ...(r.settings.governor !== undefined ? { governor: r.settings.governor } : {}),
        ...(r.settings.epp !== undefined ? { epp: r.settings.epp } : {}),
        ...(r.settings.minKHz !== undefined ? { minKHz: r.settings.minKHz } : {}),
        ...(r.settings.maxKHz !== undefined ? { maxKHz: r.settings.maxKHz } : {}),
        ...(r.settings.turbo !== undefined ? { turbo: r.settings.turbo } : {}),
        ...(r.settings.resumeLatencyUs !== undefined ? { resumeLatencyUs: r.settings.resumeLatencyUs } : {}),
        ...(r.settings.uncore?.minKHz !== undefined ? { uncoreMinKHz: r.settings.uncore.minKHz } : {}),
        ...(r.settings.uncore?.maxKHz !== undefined ? { uncoreMaxKHz: r.settings.uncore.maxKHz } : {}),
      })),
    pools: () => engine().pools(),
    powerMode: () => {
      const e = engine();
      const configured = Object.keys(e.config.powerModes) as RedfishPowerMode[];
      return { mode: currentPowerMode(e.config, e.assignments()), allowed: configured };
    },
    async setPowerMode(mode, by) {
      ctx.access.require(by, 'ConfigureComponents', 'set power mode');
      const map = (REDFISH_POWER_MODES as readonly string[]).includes(mode)
        ? engine().config.powerModes[mode]
        : undefined;
      if (map === undefined) {
        const allowed = Object.keys(engine().config.powerModes).join(', ') || 'none configured';
        throw new VpmdError('E_PROFILES_INVALID', `power mode '${mode}' is not configured (allowed: ${allowed})`, {
          mode,
        });
      }
      try {
        const r = await engine().applyMany(map, `power mode ${mode}`);
        ctx.access.audit(by, 'set power mode', 'ok', `${mode}: ${r.written} written`);
      } catch (e) {
        ctx.access.audit(by, 'set power mode', 'failed', e instanceof Error ? e.message : String(e));
        throw e;
      }
    },
    async apply(pool, profile, by) {
      ctx.access.require(by, 'ConfigureComponents', 'profile apply');
      try {
        const r = await engine().apply(pool, profile);
        ctx.access.audit(by, 'profile apply', 'ok', `${pool} -> ${profile}: ${r.written} written`);
      } catch (e) {
        ctx.access.audit(by, 'profile apply', 'failed', e instanceof Error ? e.message : String(e));
        throw e;
      }
    },
  });
}
