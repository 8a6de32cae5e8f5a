/**
 * `Chassis/{host}/Controls/PowerLimit`: the host power cap of `power-control@1` as a Redfish
 * `Control` (ControlType Power, SetPoint in W, AllowableMin/Max, ControlMode Automatic or
 * Disabled, the RAPL correction time as ControlDelaySeconds — Control v1.x has no CorrectionInMs,
 * the deprecated Power resource's name for it — and the package power it controls as Sensor).
 * PATCH sets SetPoint, ControlMode (Disabled removes the cap) and ControlDelaySeconds.
 * `EnvironmentMetrics.PowerLimitWatts` is the excerpt of the same control (see `powerLimitExcerpt`).
 */
import { POWER_CONTROL, type PowerCapStatus, type PowerControl } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import type { Route, RouteRequest } from '../http/router.js';
import { fail } from '../http/redfish-error.js';
import { checkBody, type FieldCheck } from './patch.js';
import { notFound } from './service-root.js';
import { odataType, status } from './types.js';

const C = '/redfish/v1/Chassis';

function controlBody(ch: string, cap: PowerCapStatus): Record<string, unknown> {
  const uri = `${C}/${ch}/Controls/PowerLimit`;
  return {
    '@odata.id': uri,
    '@odata.type': odataType('Control'),
    Id: 'PowerLimit',
    Name: 'Host power limit',
    Description:
      'Package power cap enforced through RAPL (and the host BMC when configured) by the vpmd power controller',
    PhysicalContext: 'Chassis',
    ControlType: 'Power',
    ControlMode: cap.mode,
    SetPoint: cap.watts,
    SetPointUnits: 'W',
    AllowableMin: cap.allowableMin,
    AllowableMax: cap.allowableMax,
    ControlDelaySeconds: cap.correctionMs / 1000,
    Sensor: { Reading: cap.readingWatts },
    Status: status(cap.health === 'ok' || cap.health === 'uncapped' || cap.health === 'paused' ? 'OK' : 'Warning'),
  };
}

/** `EnvironmentMetrics.PowerLimitWatts`, when the power plugin runs and `ch` is the host. */
export async function powerLimitExcerpt(deps: ServiceDeps, ch: string): Promise<Record<string, unknown>> {
  const control = deps.ctx.capabilities.find(POWER_CONTROL);
  if (control === undefined || ch !== deps.ctx.config.systemId) return {};
  const { cap } = await control.status();
  return {
    PowerLimitWatts: {
      // A PATCH of EnvironmentMetrics sets these (see patchEnvironmentPowerLimit).
      '@Redfish.WriteableProperties': ['SetPoint', 'ControlMode'],
      DataSourceUri: `${C}/${ch}/Controls/PowerLimit`,
      SetPoint: cap.watts,
      AllowableMin: cap.allowableMin,
      AllowableMax: cap.allowableMax,
      ControlMode: cap.mode,
      Reading: cap.readingWatts,
    },
  };
}

/** What a PATCH of the power limit may set (the Control itself also has ControlDelaySeconds). */
function capFields(cap: PowerCapStatus, withDelay: boolean): Record<string, FieldCheck> {
  return {
    SetPoint: { type: 'integer', min: cap.allowableMin, max: cap.allowableMax },
    ControlMode: { type: 'string', values: ['Automatic', 'Disabled'] },
    ...(withDelay ? { ControlDelaySeconds: { type: 'integer', min: 1, max: 600 } } : {}),
  };
}

/** Applies a checked SetPoint / ControlMode / ControlDelaySeconds change to the power cap. */
async function applyCap(c: PowerControl, cap: PowerCapStatus, body: Record<string, unknown>, req: RouteRequest) {
  const b = body as { SetPoint?: number; ControlMode?: string; ControlDelaySeconds?: number };
  const watts = b.ControlMode === 'Disabled' ? null : (b.SetPoint ?? cap.watts);
  if (watts === null && b.ControlMode === 'Automatic') throw fail(400, 'PropertyMissing', ['SetPoint'], 'SetPoint'); // Automatic needs a set point
  if (req.principal === undefined) throw fail(401, 'NoValidSession');
  return c.setCap(
    { watts, ...(b.ControlDelaySeconds === undefined ? {} : { correctionMs: b.ControlDelaySeconds * 1000 }) },
    req.principal,
  );
}

/**
 * PATCH of `EnvironmentMetrics` (the host's only): `PowerLimitWatts.SetPoint` and `ControlMode`
 * set the same cap as `Controls/PowerLimit` (the excerpt is writable in the schema).
 */
export async function patchEnvironmentPowerLimit(
  deps: ServiceDeps,
  req: RouteRequest,
  current: Record<string, unknown>,
): Promise<void> {
  const c = deps.ctx.capabilities.find(POWER_CONTROL);
  const cap = c === undefined || req.params.ch !== deps.ctx.config.systemId ? undefined : (await c.status()).cap;
  checkBody(req.body, cap ? { PowerLimitWatts: { type: 'object', fields: capFields(cap, false) } } : {}, current);
  const limit = req.body.PowerLimitWatts;
  if (c && cap && typeof limit === 'object' && limit !== null)
    await applyCap(c, cap, limit as Record<string, unknown>, req);
}

/** Members of the host chassis' Controls: the power limit when the power plugin runs. */
export function hostControls(deps: ServiceDeps, ch: string): string[] {
  return deps.ctx.capabilities.find(POWER_CONTROL) === undefined ? [] : [`${C}/${ch}/Controls/PowerLimit`];
}

/** Routes of the host chassis' power limit (the Controls collection is in chassis.ts). */
export function powerControlRoutes(deps: ServiceDeps): Route[] {
  const { ctx } = deps;
  const control = (req: RouteRequest) => {
    const ch = req.params.ch ?? '';
    if (ch !== ctx.config.systemId) throw notFound('Chassis', ch);
    const c = ctx.capabilities.find(POWER_CONTROL);
    return { ch, c };
  };
  return [
    {
      pattern: `${C}/{ch}/Controls/{control}`,
      entity: 'Control',
      get: async (req) => {
        const { ch, c } = control(req);
        if (c === undefined || req.params.control !== 'PowerLimit') throw notFound('Control', req.params.control ?? '');
        return controlBody(ch, (await c.status()).cap);
      },
      patch: async (req) => {
        const { ch, c } = control(req);
        if (c === undefined || req.params.control !== 'PowerLimit') throw notFound('Control', req.params.control ?? '');
        const cap = (await c.status()).cap;
        checkBody(req.body, capFields(cap, true), controlBody(ch, cap));
        const next = await applyCap(c, cap, req.body, req);
        return controlBody(ch, next);
      },
    },
  ];
}
