/**
 * `power-control@1`: the controller's policy as the surfaces see it (vpmctl, Redfish, SNMP).
 * Checks privilege and input, then hands the change to the controller, which persists, audits
 * and applies it within the call.
 */
import {
  VpmdError,
  type AccessPolicy,
  type PowerBudgetSpec,
  type PowerBudgetStatus,
  type PowerCapChange,
  type PowerCapStatus,
  type PowerControl,
  type PowerControlStatus,
  type Principal,
} from 'vpmd';
import type { PowerController } from './controller.js';

function invalid(message: string, details: Record<string, string | number | boolean | null> = {}): VpmdError {
  return new VpmdError('E_POWER_INVALID', message, details);
}

/** Checks a budget: a VM, exactly one of watts or joules, a window and a priority in range. */
export function checkBudget(spec: PowerBudgetSpec): PowerBudgetSpec {
  if (typeof spec.vm !== 'string' || spec.vm.trim() === '') throw invalid('a budget needs a VM name or UUID');
  const hasW = spec.watts !== undefined;
  const hasJ = spec.joules !== undefined;
  if (hasW === hasJ) throw invalid(`budget of ${spec.vm}: give exactly one of --watts or --joules`, { vm: spec.vm });
  const v = hasW ? spec.watts : spec.joules;
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0))
    throw invalid(`budget of ${spec.vm}: ${hasW ? 'watts' : 'joules'} must be a positive number, got ${String(v)}`, {
      vm: spec.vm,
    });
  if (!(Number.isInteger(spec.windowS) && spec.windowS >= 1 && spec.windowS <= 86_400))
    throw invalid(`budget of ${spec.vm}: window must be 1..86400 s, got ${spec.windowS}`, { vm: spec.vm });
  if (!(Number.isInteger(spec.priority) && spec.priority >= 0 && spec.priority <= 100))
    throw invalid(`budget of ${spec.vm}: priority must be 0..100, got ${spec.priority}`, { vm: spec.vm });
  return {
    vm: spec.vm.trim(),
    ...(hasW ? { watts: spec.watts } : { joules: spec.joules }),
    windowS: spec.windowS,
    priority: spec.priority,
  };
}

export class PowerControlService implements PowerControl {
  constructor(
    private readonly controller: () => PowerController,
    private readonly access: AccessPolicy,
  ) {}

  status(): Promise<PowerControlStatus> {
    return this.controller().status();
  }

  async setCap(change: PowerCapChange, by: Principal): Promise<PowerCapStatus> {
    this.access.require(by, 'ConfigureComponents', 'power cap');
    const c = this.controller();
    await c.checkCap(change.watts, change.correctionMs);
    await c.change(by, `power cap ${change.watts === null ? 'off' : `${change.watts} W`}`, (p) => ({
      ...p,
      cap: { watts: change.watts, correctionMs: change.correctionMs ?? p.cap.correctionMs },
    }));
    return c.capStatus();
  }

  async setBudget(spec: PowerBudgetSpec, by: Principal): Promise<PowerBudgetStatus> {
    this.access.require(by, 'ConfigureComponents', 'power budget');
    const b = checkBudget(spec);
    const c = this.controller();
    await c.change(by, `power budget ${b.vm} ${b.watts !== undefined ? `${b.watts} W` : `${b.joules} J`}`, (p) => ({
      ...p,
      budgets: [...p.budgets.filter((x) => x.vm !== b.vm), b],
    }));
    const s = (await c.status()).budgets.find((x) => x.vm === b.vm);
    if (s === undefined) throw new VpmdError('E_POWER_NOT_FOUND', `budget of ${b.vm} vanished`, { vm: b.vm });
    return s;
  }

  async removeBudget(vm: string, by: Principal): Promise<void> {
    this.access.require(by, 'ConfigureComponents', 'power budget remove');
    const c = this.controller();
    if (!c.policy.budgets.some((b) => b.vm === vm))
      throw new VpmdError(
        'E_POWER_NOT_FOUND',
        `no budget for ${vm} (budgets: ${c.policy.budgets.map((b) => b.vm).join(', ') || 'none'})`,
        {
          vm,
        },
      );
    await c.change(
      by,
      `power budget ${vm} removed`,
      (p) => ({ ...p, budgets: p.budgets.filter((b) => b.vm !== vm) }),
      vm,
    );
  }
}
