import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../../core/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination }) };
}

describe('logger', () => {
  it('writes JSON lines with the plugin binding of a child logger', () => {
    const { lines, log } = capture();
    log.child({ plugin: 'ipmi' }).info({ target: 'bmc1' }, 'polled');
    const rec = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 'info', plugin: 'ipmi', target: 'bmc1', msg: 'polled', name: 'vpmd' });
  });

  it('never writes passwords, keys, tokens or communities, at any depth we log', () => {
    const { lines, log } = capture();
    log.info(
      {
        password: 'hunter2',
        target: { name: 'bmc1', password: 'p4ss', kg: 'k3y' },
        user: { auth: { authPassphrase: 'authpass123', privPassphrase: 'privpass123' } },
        session: { headers: { xAuthToken: 'tok-123' } },
        community: 'public',
      },
      'configured',
    );
    const text = lines.join('');
    for (const secret of ['hunter2', 'p4ss', 'k3y', 'authpass123', 'privpass123', 'tok-123', 'public'])
      expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    expect(text).toContain('bmc1');
  });
});
