import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { validateManifest, CORE_API_VERSION } from '../../../core/kernel/manifest.js';
import { VpmdError } from '../../../core/errors.js';

const good = {
  name: 'demo-plugin',
  version: '1.2.3',
  description: 'a plugin',
  coreApi: '^1.0.0',
  config: Type.Object({}),
  register: () => ({ start() {}, stop() {} }),
};

function errorOf(fn: () => unknown): VpmdError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VpmdError) return e;
    throw e;
  }
  throw new Error('expected a VpmdError');
}

describe('validateManifest', () => {
  it('accepts a complete manifest', () => {
    expect(validateManifest(good, 'built-in').name).toBe('demo-plugin');
  });

  it('rejects a non-object default export and says what is expected', () => {
    const e = errorOf(() => validateManifest(undefined, './x.js'));
    expect(e.code).toBe('E_PLUGIN_MANIFEST');
    expect(e.message).toContain('./x.js');
    expect(e.message).toContain('default export must be a manifest');
  });

  it('lists every problem of a manifest at once, naming the plugin', () => {
    const e = errorOf(() =>
      validateManifest(
        { ...good, version: 'one', description: '', config: { type: 'string' }, provides: ['Bad Id'], register: 5 },
        'built-in',
      ),
    );
    expect(e.code).toBe('E_PLUGIN_MANIFEST');
    expect(e.message).toContain('plugin demo-plugin');
    for (const part of ['version:', 'description:', 'config:', 'provides[0]', 'register:'])
      expect(e.message).toContain(part);
    expect(e.details.problems).toHaveLength(5);
  });

  it('names the origin when the name itself is invalid', () => {
    const e = errorOf(() => validateManifest({ ...good, name: 'Bad_Name' }, '/opt/p/index.js'));
    expect(e.message).toContain('from /opt/p/index.js');
    expect(e.message).toContain('name: must be lower-case');
  });

  it('refuses a plugin whose core API range excludes this core', () => {
    const e = errorOf(() => validateManifest({ ...good, coreApi: '^2.0.0' }, 'built-in'));
    expect(e.code).toBe('E_PLUGIN_API_VERSION');
    expect(e.message).toContain(`needs core API ^2.0.0, this vpmd offers ${CORE_API_VERSION}`);
  });
});
