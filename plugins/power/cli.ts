/**
 * `vpmctl power cap|budget|status|policy`: the controller's policy and what it did. Reading
 * needs Login; every change needs ConfigureComponents (checked and audited by the service).
 */
import {
  StringEnum,
  Type,
  VpmdError,
  defineCommand,
  formatKeyValues,
  formatTable,
  type PluginContext,
  type PowerBudgetStatus,
  type PowerCapStatus,
  type PowerControlStatus,
} from 'vpmd';
import type { PowerController } from './controller.js';
import type { PowerControlService } from './service.js';

function capLines(c: PowerCapStatus): string {
  return formatKeyValues([
    ['Cap', c.watts === null ? 'none' : `${c.watts} W`],
    ['Effective cap', c.effectiveWatts === null ? 'none' : `${Math.round(c.effectiveWatts * 10) / 10} W`],
    ['Correction time', `${c.correctionMs} ms`],
    ['Allowed', `${c.allowableMin}..${c.allowableMax} W`],
    ['Mode', c.mode],
    ['Health', c.detail === undefined ? c.health : `${c.health} (${c.detail})`],
    ['Package power', c.readingWatts === null ? 'unknown' : `${c.readingWatts} W`],
    ...(c.bmc === undefined ? [] : ([['BMC', c.bmc]] as [string, string][])),
  ]);
}

function budgetTable(budgets: readonly PowerBudgetStatus[]): string {
  if (budgets.length === 0) return 'Budgets: none';
  return formatTable(budgets, [
    { header: 'VM', value: (b) => b.vm },
    {
      header: 'BUDGET',
      value: (b) => (b.watts !== undefined ? `${b.watts} W/${b.windowS}s` : `${b.joules} J/${b.windowS}s`),
    },
    { header: 'PRIO', value: (b) => b.priority, align: 'right' },
    {
      header: 'AVERAGE',
      value: (b) => (b.averageWatts === null ? '-' : `${b.averageWatts.toFixed(1)} W`),
      align: 'right',
    },
    { header: 'STATE', value: (b) => b.state },
    { header: 'ACTUATORS', value: (b) => b.actuators.join(', ') || '-' },
  ]);
}

function statusText(s: PowerControlStatus): string {
  const parts = [
    `Controller: ${s.paused ? 'PAUSED (every knob back to its own value)' : 'running'}, period ${s.periodMs} ms`,
    capLines(s.cap),
  ];
  parts.push(budgetTable(s.budgets));
  if (s.facility.constraints.length > 0 || s.facility.level > 0)
    parts.push(
      `Facility level ${s.facility.level}: ` +
        (s.facility.constraints
          .map(
            (c) =>
              `${c.name} ${c.value ?? '?'}/${c.limit}${c.utilisation === null ? '' : ` (${(c.utilisation * 100).toFixed(0)} %)`}`,
          )
          .join('; ') || 'no readings'),
    );
  parts.push(
    s.lastActions.length === 0
      ? 'Last actions: none'
      : `Last actions:\n${s.lastActions.map((a) => `  ${new Date(a.timestamp).toISOString()}  ${a.action}  (cause: ${a.cause})`).join('\n')}`,
  );
  return parts.join('\n\n');
}

function positiveNumber(text: string, what: string): number {
  const n = Number(text);
  if (!(text.trim() !== '' && Number.isFinite(n) && n > 0))
    throw new VpmdError('E_POWER_INVALID', `${what} must be a positive number of watts or 'off', got '${text}'`, {
      value: text,
    });
  return n;
}

export function registerCommands(
  ctx: Pick<PluginContext, 'commands'>,
  service: () => PowerControlService,
  controller: () => PowerController,
): void {
  ctx.commands.register(
    defineCommand({
      name: 'power cap',
      summary: "Show or set the host power cap: WATTS, or 'off'",
      privilege: 'Login',
      args: Type.Object({
        value: Type.Optional(Type.String({ description: "cap in W (package power), or 'off'" })),
        correction: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'correction time, ms' })),
      }),
      positional: ['value'],
      handler: async ({ value, correction }, inv) => {
        if (value === undefined && correction === undefined) return controller().capStatus();
        const watts =
          value === undefined ? controller().policy.cap.watts : value === 'off' ? null : positiveNumber(value, 'cap');
        return service().setCap(
          { watts, ...(correction === undefined ? {} : { correctionMs: correction }) },
          inv.principal,
        );
      },
      human: capLines,
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'power budget',
      summary: 'Set (--watts or --joules), show or --remove the power budget of a VM',
      privilege: 'Login',
      args: Type.Object({
        vm: Type.Optional(Type.String({ description: 'VM name or UUID' })),
        watts: Type.Optional(Type.Number({ description: 'rolling-average budget, W' })),
        joules: Type.Optional(Type.Number({ description: 'energy per window, J' })),
        window: Type.Optional(Type.Integer({ description: 'window, s (default 60)' })),
        priority: Type.Optional(Type.Integer({ description: '0 (throttled first) .. 100 (default 50)' })),
        remove: Type.Optional(Type.Boolean({ description: 'remove the budget and put its knobs back' })),
      }),
      positional: ['vm'],
      handler: async ({ vm, watts, joules, window, priority, remove }, inv) => {
        const all = (await controller().status()).budgets;
        if (vm === undefined) return { budgets: all };
        if (remove === true) {
          await service().removeBudget(vm, inv.principal);
          return { budgets: (await controller().status()).budgets, removed: vm };
        }
        if (watts === undefined && joules === undefined) {
          const b = all.find((x) => x.vm === vm);
          if (b === undefined) throw new VpmdError('E_POWER_NOT_FOUND', `no budget for ${vm}`, { vm });
          return { budgets: [b] };
        }
        const old = all.find((x) => x.vm === vm);
        const b = await service().setBudget(
          {
            vm,
            ...(watts === undefined ? {} : { watts }),
            ...(joules === undefined ? {} : { joules }),
            windowS: window ?? old?.windowS ?? 60,
            priority: priority ?? old?.priority ?? 50,
          },
          inv.principal,
        );
        return { budgets: [b] };
      },
      human: (r) => budgetTable(r.budgets) + ('removed' in r ? `\nRemoved the budget of ${String(r.removed)}` : ''),
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'power status',
      summary: 'Caps, budgets, facility limits, and what the controller did last and why',
      privilege: 'Login',
      args: Type.Object({}),
      handler: () => controller().status(),
      human: statusText,
    }),
  );

  ctx.commands.register(
    defineCommand({
      name: 'power policy',
      summary: 'pause: put every knob back and stop acting (kill switch); resume: act again',
      privilege: 'ConfigureComponents',
      args: Type.Object({ action: StringEnum(['pause', 'resume'] as const, { description: 'pause | resume' }) }),
      positional: ['action'],
      handler: async ({ action }, inv) => {
        if (action === 'pause') await controller().pause(inv.principal);
        else await controller().resume(inv.principal);
        return { paused: action === 'pause' };
      },
      human: (r) =>
        r.paused ? 'Power policy paused: every knob vpmd touched is back to its own value.' : 'Power policy resumed.',
    }),
  );
}
