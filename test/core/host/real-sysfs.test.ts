/** RealSysfs over a real temporary directory: reads, writes, listings and errno mapping. */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealSysfs } from '../../../core/host/real-sysfs.js';
import { expectCode } from '../sim/sim-fixture.js';

let root: string;
let fs: RealSysfs;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vpmd-realsysfs-'));
  await mkdir(join(root, 'sys/devices/system/cpu/cpufreq/policy0'), { recursive: true });
  for (const name of ['policy10', 'policy2', 'policy1'])
    await mkdir(join(root, `sys/devices/system/cpu/cpufreq/${name}`));
  await writeFile(join(root, 'sys/devices/system/cpu/online'), '0-3\n');
  await writeFile(join(root, 'sys/devices/system/cpu/cpufreq/policy0/scaling_governor'), 'schedutil\n');
  await symlink('cpufreq/policy0', join(root, 'sys/devices/system/cpu/cpu0-link'));
  fs = new RealSysfs(root);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('RealSysfs', () => {
  it('reads without the trailing newline, accepting a leading slash', async () => {
    expect(await fs.read('sys/devices/system/cpu/online')).toBe('0-3');
    expect(await fs.read('/sys/devices/system/cpu/online')).toBe('0-3');
    // Its own content (the write test changes this file, before or after this one).
    await writeFile(join(root, 'sys/devices/system/cpu/cpufreq/policy0/scaling_governor'), 'schedutil\n');
    expect(await fs.read('sys/devices/system/cpu/cpu0-link/scaling_governor')).toBe('schedutil');
  });

  it('writes the value as given, replacing the old content', async () => {
    await fs.write('sys/devices/system/cpu/cpufreq/policy0/scaling_governor', 'powersave');
    expect(await readFile(join(root, 'sys/devices/system/cpu/cpufreq/policy0/scaling_governor'), 'utf8')).toBe(
      'powersave',
    );
  });

  it('lists naturally and answers exists', async () => {
    expect(await fs.list('sys/devices/system/cpu/cpufreq')).toEqual(['policy0', 'policy1', 'policy2', 'policy10']);
    expect(await fs.exists('sys/devices/system/cpu/online')).toBe(true);
    expect(await fs.exists('sys/devices/system/cpu/offline')).toBe(false);
    expect(await fs.exists('sys/devices/system/cpu/online/x')).toBe(false);
  });

  it('maps ENOENT to E_HOST_NOT_FOUND and never creates a missing attribute', async () => {
    const file = join(root, 'sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq');
    const read = await expectCode(
      fs.read('sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq'),
      'E_HOST_NOT_FOUND',
    );
    expect(read.details).toEqual({ file, errno: 'ENOENT' });
    const write = await expectCode(
      fs.write('sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq', '2000000'),
      'E_HOST_NOT_FOUND',
    );
    expect(write.details).toEqual({ file, errno: 'ENOENT', value: '2000000' });
    expect(write.message).toContain(file);
    expect(write.message).toContain('"2000000"');
    expect(existsSync(file)).toBe(false);
    await expectCode(fs.list('sys/class/powercap'), 'E_HOST_NOT_FOUND');
  });

  it('maps a directory written as a file to E_HOST_IO with errno EISDIR', async () => {
    const err = await expectCode(fs.write('sys/devices/system/cpu/cpufreq/policy1', '1'), 'E_HOST_IO');
    expect(err.details).toMatchObject({
      errno: 'EISDIR',
      value: '1',
      file: join(root, 'sys/devices/system/cpu/cpufreq/policy1'),
    });
    expect((await expectCode(fs.read('sys/devices/system/cpu'), 'E_HOST_IO')).details.errno).toBe('EISDIR');
    expect((await expectCode(fs.list('sys/devices/system/cpu/online'), 'E_HOST_IO')).details.errno).toBe('ENOTDIR');
  });

  it('maps EACCES to E_HOST_ACCESS, naming file and value', async () => {
    // Root ignores file modes; a read-only sysfs attribute still refuses root with EACCES.
    const isRoot = process.getuid?.() === 0;
    const target = 'sys/read-only';
    if (isRoot) {
      await symlink('/sys/devices/system/cpu/possible', join(root, target));
    } else {
      await writeFile(join(root, target), '0-3\n');
      await chmod(join(root, target), 0o444);
    }
    const err = await expectCode(fs.write(target, '0'), 'E_HOST_ACCESS');
    expect(err.details).toMatchObject({ errno: 'EACCES', value: '0' });
    expect(err.message).toContain(join(root, target));
  });

  it('refuses paths that escape the root with E_HOST_INVALID', async () => {
    await expectCode(fs.read('../etc/passwd'), 'E_HOST_INVALID');
    await expectCode(fs.read('sys/../../etc/passwd'), 'E_HOST_INVALID');
    await expectCode(fs.write('sys/devices/../../../tmp/x', '1'), 'E_HOST_INVALID');
    await expectCode(fs.list('..'), 'E_HOST_INVALID');
    await expectCode(fs.exists('a/\0/b'), 'E_HOST_INVALID');
  });

  it('defaults to the real root', () => {
    expect(new RealSysfs().root).toBe('/');
  });
});
