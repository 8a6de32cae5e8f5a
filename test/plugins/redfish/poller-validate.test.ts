/**
 * `vpmd check-config` for the Redfish poller (plugins.redfish.targets/poll): every problem at
 * once, each under its path with what is wrong and what is allowed, files read as at start.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import redfish from '../../../plugins/redfish/index.js';
import { redfishPollerProblems } from '../../../plugins/redfish/poller/validate.js';
import { checkRedfishTargets } from '../../../plugins/redfish/poller/config.js';

type Section = Parameters<typeof redfishPollerProblems>[0];

/** The section with the schema's defaults applied, as check-config hands it over. */
function section(targets: unknown[], poll: Record<string, unknown> = {}): Section {
  const cfg = Value.Default(redfish.config, { serve: false, targets, poll }) as Section;
  expect([...Value.Errors(redfish.config, cfg)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  return cfg;
}

describe('Redfish poller config checks (check-config)', () => {
  let dir: string;
  let pw: string;
  let open: string;
  let pem: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpmd-rfpoll-validate-'));
    pw = join(dir, 'bmc.pw');
    open = join(dir, 'open.pw');
    pem = join(dir, 'not-a-cert.pem');
    await writeFile(pw, 'secret\n', { mode: 0o600 });
    await writeFile(open, 'secret\n');
    await chmod(open, 0o644);
    await writeFile(pem, 'hello\n');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a good section, and the manifest wires the check', async () => {
    const cfg = section([
      { name: 'a', url: 'https://10.0.0.5', username: 'u', passwordFile: pw },
      { name: 'b', url: 'https://10.0.0.5:8443', username: 'u', password: 'p', fingerprint: 'AB'.repeat(32) },
      { name: 'c', url: 'http://10.0.0.6', username: 'u', password: 'p', plainHttp: true },
    ]);
    expect(await redfishPollerProblems(cfg)).toEqual([]);
    expect(await redfish.validate?.(cfg as never)).toEqual([]);
  });

  it('reports every cross-field problem with its path, not just the first', async () => {
    const cfg = section(
      [
        { name: 'a', url: 'https://10.0.0.5', username: 'u', password: 'p' },
        { name: 'a', url: 'https://10.0.0.5:443/', username: 'u', password: 'p', passwordFile: pw },
        { name: 'c', url: 'http://10.0.0.7', username: 'u' },
        { name: 'd', url: 'http://10.0.0.8', username: 'u', password: 'p', plainHttp: true, ca: pem },
        { name: 'e', url: 'https://10.0.0.9', username: 'u', password: 'p', ca: pem, fingerprint: 'AB'.repeat(32) },
      ],
      { backoffMin: 60, backoffMax: 10 },
    );
    expect(await redfishPollerProblems(cfg)).toEqual([
      { path: 'targets[1].name', message: 'target a: targets[0] has the same name; give each target its own name' },
      {
        path: 'targets[1].url',
        message: 'target a: another target polls the same BMC https://10.0.0.5:443 (a); give each BMC one target',
      },
      {
        path: 'targets[1].password',
        message: 'target a: give exactly one of password and passwordFile (both are set)',
      },
      {
        path: 'targets[2].password',
        message: 'target c: give exactly one of password and passwordFile (neither is set)',
      },
      {
        path: 'targets[2].url',
        message: 'target c: http:// sends the password in clear: use https://, or set plainHttp: true (labs only)',
      },
      { path: 'targets[3].url', message: 'target d: ca and fingerprint need an https:// URL' },
      {
        path: 'targets[4].fingerprint',
        message: 'target e: give at most one of ca and fingerprint (both pin the certificate)',
      },
      { path: 'poll.backoffMax', message: 'must not be below backoffMin (60 s)' },
    ]);
    // At start the plugin refuses the first of them.
    expect(() => checkRedfishTargets(cfg)).toThrow(/targets\[a\]\.name: targets\[0\] has the same name/);
  });

  it('reads the password and CA files as the poller would at start', async () => {
    const missing = join(dir, 'nowhere.pw');
    const cfg = section([
      { name: 'a', url: 'https://10.0.0.5', username: 'u', passwordFile: missing },
      { name: 'b', url: 'https://10.0.0.6', username: 'u', passwordFile: open },
      { name: 'c', url: 'https://10.0.0.7', username: 'u', password: 'p', ca: pem },
      { name: 'd', url: 'https://10.0.0.8', username: 'u', password: 'p', ca: join(dir, 'nowhere.pem') },
    ]);
    expect(await redfishPollerProblems(cfg)).toEqual([
      {
        path: 'targets[0].passwordFile',
        message: `target a: ${missing} does not exist; give a file holding the password on its first line, mode 0600`,
      },
      {
        path: 'targets[1].passwordFile',
        message: `target b: ${open} is readable by every user; chmod o-r it; give a file holding the password on its first line, mode 0600`,
      },
      { path: 'targets[2].ca', message: `target c: ${pem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` },
      {
        path: 'targets[3].ca',
        message: `target d: ${join(dir, 'nowhere.pem')} does not exist; give the PEM file of the BMC's certificate or its CA`,
      },
    ]);
  });

  it('leaves format and bounds (URL scheme, fingerprint, interval) to the schema', () => {
    const bad = Value.Default(redfish.config, {
      targets: [{ name: 'a', url: 'ftp://x', username: 'u', password: 'p', fingerprint: 'zz', interval: 0 }],
    });
    const paths = [...Value.Errors(redfish.config, bad)].map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/targets/0/url', '/targets/0/fingerprint', '/targets/0/interval']));
  });
});
