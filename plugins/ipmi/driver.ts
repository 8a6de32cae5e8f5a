/**
 * The ipmi plugin's BMC driver (`bmc-driver.ipmi@1`, routed by the core's `bmcs@1`): chassis
 * control, identify, the DCMI power limit, the boot override and the SEL. Every change checks
 * ConfigureComponents and is audited, so the audit names the protocol that acted.
 */
import {
  VpmdError,
  type BmcBootOverride,
  type BmcBootOverrideChange,
  type BmcDriver,
  type BmcLogEntry,
  type Principal,
} from 'vpmd';
import { chassis, setLimit, type CommandContext } from './cli.js';
import { chassisIdentify, chassisStatus } from './commands/chassis.js';
import { getBootOverride, setBootOverride } from './commands/boot-options.js';
import { getPowerLimit, toBmcLimit } from './commands/dcmi-power-limit.js';
import { clearSel, readSel, selInfo, type SelEntry } from './commands/sel.js';
import type { Poller } from './poller/poller.js';

/** IPMI timestamps below this count seconds since the BMC started ("Pre-Init"), not the epoch. */
const PRE_INIT = 0x20000000;

/** The SEL as a driver log entry. */
export function selLogEntry(e: SelEntry): BmcLogEntry {
  return {
    id: String(e.id),
    ...(e.timestamp >= PRE_INIT ? { created: e.timestamp * 1000 } : {}),
    severity: e.severity,
    message: `${e.sensorType} #0x${e.sensorNumber.toString(16).padStart(2, '0')} | ${e.description} | ${e.direction}`,
    ...(e.recordType === 0x02
      ? {
          sel: {
            recordId: e.id,
            recordType: e.recordType,
            sensorType: e.sensorType,
            sensorTypeCode: e.sensorTypeCode,
            sensorNumber: e.sensorNumber,
            generatorId: e.generator,
            eventType: e.eventType,
            direction: e.direction,
            eventData: e.data,
          },
        }
      : {}),
  };
}

/** Builds the driver over the running poller (`running()` throws when the plugin is stopped). */
export function ipmiDriver(ctx: CommandContext, running: () => Poller): BmcDriver {
  // What vpmd last asked of each identify light: BMCs that do not report the state (misc
  // chassis state bit 6 clear) are answered with it, and with nothing when vpmd never set it.
  const identifySet = new Map<string, { on: boolean; until?: number }>();
  // The SEL of each target as last read, keyed by its add/erase timestamps (one Get SEL Info
  // per request tells whether it changed).
  const selCache = new Map<string, { key: string; entries: readonly BmcLogEntry[] }>();

  const audited = async <T>(by: Principal, what: string, fn: () => Promise<T>): Promise<T> => {
    ctx.access.require(by, 'ConfigureComponents', what);
    try {
      const r = await fn();
      ctx.access.audit(by, what, 'ok');
      return r;
    } catch (e) {
      ctx.access.audit(by, what, 'failed', (e as Error).message);
      throw e;
    }
  };

  return {
    protocol: 'ipmi',
    targets: () => {
      try {
        return [...running().targets.values()].map((t) => t.describe());
      } catch {
        return [];
      }
    },
    chassis: (target, action, by) => chassis(ctx, running(), target, action, by),
    identify: (target, on, by, seconds) =>
      audited(by, `ipmi chassis ${target} identify ${on ? (seconds ?? 'force') : 'off'}`, async () => {
        await running()
          .target(target)
          .withSession((s) => chassisIdentify(s, on, seconds));
        identifySet.set(target, {
          on,
          ...(on && seconds !== undefined ? { until: Date.now() + seconds * 1000 } : {}),
        });
      }),
    identifyState: async (target) => {
      const status = await running()
        .target(target)
        .withSession((s) => chassisStatus(s));
      if (status.identify !== undefined) return status.identify !== 'off';
      const set = identifySet.get(target);
      if (set === undefined) return null;
      return set.on && (set.until === undefined || Date.now() < set.until);
    },
    powerLimit: (target) =>
      running()
        .target(target)
        .withSession(async (s) => toBmcLimit(await getPowerLimit(s))),
    setPowerLimit: (target, change, by) => setLimit(ctx, running(), target, change, by),
    bootOverride: (target) =>
      running()
        .target(target)
        .withSession((s) => getBootOverride(s)),
    setBootOverride: (target, change: BmcBootOverrideChange, by) => {
      const what = `ipmi chassis ${target} bootdev ${change.target ?? '-'} ${change.enabled ?? '-'} ${change.mode ?? '-'}`;
      return audited(by, what, () =>
        running()
          .target(target)
          .withSession(async (s): Promise<BmcBootOverride> => {
            const cur = await getBootOverride(s);
            const target2 = change.target ?? cur.target;
            if (target2 === undefined)
              throw new VpmdError('E_IPMI_COMMAND', `the BMC reports a boot device with no Redfish name: give one`, {
                target,
              });
            await setBootOverride(s, {
              enabled: change.enabled ?? cur.enabled,
              target: target2,
              mode: change.mode ?? cur.mode,
            });
            return getBootOverride(s);
          }),
      );
    },
    logEntries: async (target) => {
      const tp = running().target(target);
      const info = await tp.withSession((s) => selInfo(s));
      const key = `${info.addTimestamp}:${info.eraseTimestamp}:${info.entries}`;
      const cached = selCache.get(target);
      if (cached?.key === key) return cached.entries;
      const entries = info.entries === 0 ? [] : (await tp.withSession((s) => readSel(s))).map(selLogEntry);
      selCache.set(target, { key, entries });
      return entries;
    },
    clearLog: (target, by) =>
      audited(by, `ipmi sel ${target} --clear`, async () => {
        await running()
          .target(target)
          .withSession((s) => clearSel(s));
        selCache.delete(target);
      }),
  };
}
