/**
 * `Chassis/{host}/Controls/PowerLimit`: the host power cap of `power-control@1` as a Redfish
 * `Control` (ControlType Power, SetPoint in W, AllowableMin/Max, ControlMode Automatic or
 * Disabled, the RAPL correction time as ControlDelaySeconds — Control v1.x has no CorrectionInMs,
 * the deprecated Power resource's name for it — and the package power it controls as Sensor).
 * PATCH sets SetPoint, ControlMode (Disabled removes the cap) and ControlDelaySeconds.
 * `EnvironmentMetrics.PowerLimitWatts` is the excerpt of the same control (see `powerLimitExcerpt`).
 */
import { POWER_CONTROL, type PowerCapStatus } from 'vpmd';
import type { ServiceDeps } from '../config.js';
import type { Route, RouteRequest } from '../http/router.js';
import { fail } from '../http/redfish-error.js';
import { checkBody } from './patch.js';
import { notFound } from './service-root.js';
import { link, odataType, status } from './types.js';

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
      DataSourceUri: `${C}/${ch}/Controls/PowerLimit`,
      SetPoint: cap.watts,
      AllowableMin: cap.allowableMin,
      AllowableMax: cap.allowableMax,
      ControlMode: cap.mode,
      Reading: cap.readingWatts,
    },
  };
}

/** Routes of the host chassis' controls. */
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
      pattern: `${C}/{ch}/Controls`,
      entity: 'ControlCollection',
      get: (req) => {
        const { ch, c } = control(req);
        const members = c === undefined ? [] : [link(`${C}/${ch}/Controls/PowerLimit`)];
        return {
          '@odata.id': `${C}/${ch}/Controls`,
          '@odata.type': '#ControlCollection.ControlCollection',
          Name: 'Controls',
          Members: members,
          'Members@odata.count': members.length,
        };
      },
    },
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
        checkBody(
          req.body,
          {
            SetPoint: { type: 'integer', min: cap.allowableMin, max: cap.allowableMax },
            ControlMode: { type: 'string', values: ['Automatic', 'Disabled'] },
            ControlDelaySeconds: { type: 'integer', min: 1, max: 600 },
          },
          controlBody(ch, cap),
        );
        const b = req.body as { SetPoint?: number; ControlMode?: string; ControlDelaySeconds?: number };
        const watts = b.ControlMode === 'Disabled' ? null : (b.SetPoint ?? cap.watts);
        if (watts === null && b.ControlMode === 'Automatic')
          throw fail(400, 'PropertyMissing', ['SetPoint'], 'SetPoint'); // Automatic needs a set point
        if (req.principal === undefined) throw fail(401, 'NoValidSession');
        const next = await c.setCap(
          { watts, ...(b.ControlDelaySeconds === undefined ? {} : { correctionMs: b.ControlDelaySeconds * 1000 }) },
          req.principal,
        );
        return controlBody(ch, next);
      },
    },
  ];
}
