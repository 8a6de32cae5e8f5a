/**
 * `bmcs@1`: one view over every BMC driver (IPMI, Redfish). Drivers are looked up at each call,
 * not at construction, because they come and go with their plugins; a target's name picks its
 * driver. The router adds nothing of its own to an action: the driver checks the privilege and
 * audits, so the audit names the protocol that acted.
 */
import { VpmdError } from '../errors.js';
import type { Principal } from '../access/privileges.js';
import {
  BMC_DRIVERS,
  type BmcBootOverride,
  type BmcBootOverrideChange,
  type BmcDriver,
  type BmcLogEntry,
  type BmcPowerLimit,
  type BmcPowerLimitChange,
  type Bmcs,
  type BmcTarget,
  type ChassisAction,
} from '../contracts/bmc.js';

/** Reads a provided capability by id (the registry's `get`). */
export type CapabilityLookup = (id: string) => unknown;

/** The core's `bmcs@1` implementation. */
export class BmcRouter implements Bmcs {
  constructor(private readonly lookup: CapabilityLookup) {}

  private drivers(): BmcDriver[] {
    return BMC_DRIVERS.map((t) => this.lookup(t.id) as BmcDriver | undefined).filter(
      (d): d is BmcDriver => d !== undefined,
    );
  }

  targets(): readonly BmcTarget[] {
    return this.drivers().flatMap((d) => d.targets());
  }

  private driverOf(target: string): BmcDriver {
    const drivers = this.drivers();
    const d = drivers.find((x) => x.targets().some((t) => t.name === target));
    if (d !== undefined) return d;
    const known = drivers.flatMap((x) => x.targets().map((t) => t.name));
    throw new VpmdError(
      'E_BMC_NOT_FOUND',
      known.length === 0
        ? `no BMC named '${target}': no BMC is configured (plugins.ipmi.targets, plugins.redfish.targets)`
        : `no BMC named '${target}'; configured: ${known.join(', ')}`,
      { target, known },
    );
  }

  private unsupported(d: BmcDriver, target: string, what: string): VpmdError {
    return new VpmdError('E_BMC_UNSUPPORTED', `BMC '${target}' (${d.protocol}) cannot ${what} through vpmd`, {
      target,
      protocol: d.protocol,
    });
  }

  async chassis(target: string, action: ChassisAction, by: Principal): Promise<void> {
    await this.driverOf(target).chassis(target, action, by);
  }

  async identify(target: string, on: boolean, by: Principal, seconds?: number): Promise<void> {
    const d = this.driverOf(target);
    if (d.identify === undefined) throw this.unsupported(d, target, 'identify');
    await d.identify(target, on, by, seconds);
  }

  async powerLimit(target: string): Promise<BmcPowerLimit | null> {
    const d = this.driverOf(target);
    if (d.powerLimit === undefined) throw this.unsupported(d, target, 'report a power limit');
    return d.powerLimit(target);
  }

  async setPowerLimit(target: string, change: BmcPowerLimitChange, by: Principal): Promise<BmcPowerLimit | null> {
    const d = this.driverOf(target);
    if (d.setPowerLimit === undefined) throw this.unsupported(d, target, 'set a power limit');
    return d.setPowerLimit(target, change, by);
  }

  hostBmc(): BmcTarget | undefined {
    const marked = this.targets().filter((t) => t.hostBmc === true);
    if (marked.length > 1)
      throw new VpmdError(
        'E_BMC_CONFIG',
        `${marked.length} BMC targets are marked hostBmc (${marked.map((t) => `${t.protocol} target ${t.name}`).join(', ')}): mark only the BMC of the host vpmd runs on`,
        { targets: marked.map((t) => t.name) },
      );
    return marked[0];
  }

  async identifyState(target: string): Promise<boolean | null> {
    const d = this.driverOf(target);
    if (d.identifyState === undefined) throw this.unsupported(d, target, 'report its identify light');
    return d.identifyState(target);
  }

  async bootOverride(target: string): Promise<BmcBootOverride> {
    const d = this.driverOf(target);
    if (d.bootOverride === undefined) throw this.unsupported(d, target, 'report a boot override');
    return d.bootOverride(target);
  }

  async setBootOverride(target: string, change: BmcBootOverrideChange, by: Principal): Promise<BmcBootOverride> {
    const d = this.driverOf(target);
    if (d.setBootOverride === undefined) throw this.unsupported(d, target, 'set a boot override');
    return d.setBootOverride(target, change, by);
  }

  async logEntries(target: string): Promise<readonly BmcLogEntry[]> {
    const d = this.driverOf(target);
    if (d.logEntries === undefined) throw this.unsupported(d, target, 'read its log');
    return d.logEntries(target);
  }

  async clearLog(target: string, by: Principal): Promise<void> {
    const d = this.driverOf(target);
    if (d.clearLog === undefined) throw this.unsupported(d, target, 'clear its log');
    await d.clearLog(target, by);
  }
}
