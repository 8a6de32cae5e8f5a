/**
 * `vpmd check-config` for `plugins.energy`: the cross-field rule the schema cannot say (the
 * frequency weight's voltage range). `wallPower` names a telemetry metric, known only once the
 * agent runs: `vpmctl vm energy` reports it when it is missing.
 */
import type { PluginConfigProblem } from 'vpmd';
import { DEFAULT_FREQUENCY_MODEL } from './frequency-weight.js';

/** The part of the section checked here. */
export interface EnergyModelSection {
  readonly model?: { readonly minVoltage?: number; readonly maxVoltage?: number };
}

/** Every problem of the section. */
export function energyConfigProblems(cfg: EnergyModelSection): PluginConfigProblem[] {
  const m = cfg.model;
  if (m?.minVoltage === undefined && m?.maxVoltage === undefined) return [];
  // One bound given meets the other's default.
  const lo = m.minVoltage ?? DEFAULT_FREQUENCY_MODEL.minVoltage;
  const hi = m.maxVoltage ?? DEFAULT_FREQUENCY_MODEL.maxVoltage;
  if (lo < hi) return [];
  return [
    {
      path: m.maxVoltage !== undefined ? 'model.maxVoltage' : 'model.minVoltage',
      message: `the voltage range must rise: minVoltage ${lo} V is not below maxVoltage ${hi} V${m.maxVoltage === undefined || m.minVoltage === undefined ? ' (the other bound is its default)' : ''}`,
    },
  ];
}
