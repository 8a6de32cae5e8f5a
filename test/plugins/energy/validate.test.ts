/** `vpmd check-config` for plugins.energy: the frequency weight's voltage range must rise. */
import { describe, expect, it } from 'vitest';
import energy from '../../../plugins/energy/index.js';

const check = async (model?: Record<string, number>) => energy.validate?.(model ? { model } : {});

describe('energy config checks (check-config)', () => {
  it('accepts no model, a rising range, and one bound below the default other', async () => {
    expect(await check()).toEqual([]);
    expect(await check({ minVoltage: 0.6, maxVoltage: 1.3 })).toEqual([]);
    expect(await check({ minVoltage: 1.0 })).toEqual([]);
  });

  it('refuses a range that does not rise, naming the bound given', async () => {
    expect(await check({ minVoltage: 1.2, maxVoltage: 0.9 })).toEqual([
      {
        path: 'model.maxVoltage',
        message: 'the voltage range must rise: minVoltage 1.2 V is not below maxVoltage 0.9 V',
      },
    ]);
    expect(await check({ minVoltage: 1.5 })).toEqual([
      {
        path: 'model.minVoltage',
        message:
          'the voltage range must rise: minVoltage 1.5 V is not below maxVoltage 1.2 V (the other bound is its default)',
      },
    ]);
  });
});
