import { describe, expect, it } from 'vitest';
import { GlobalFlagError, longestCommand, splitGlobalFlags } from '../../app/global-flags.js';

describe('splitGlobalFlags', () => {
  it('takes vpmctl options from anywhere before --, keeping the command words in order', () => {
    const before = splitGlobalFlags(['--json', '--socket', '/s', 'ipmi', 'sel', 'bmc0', '--clear']);
    const after = splitGlobalFlags(['ipmi', 'sel', '-j', 'bmc0', '--clear', '-s', '/s']);
    const joined = splitGlobalFlags(['ipmi', 'sel', 'bmc0', '--clear', '--socket=/s', '--json']);
    for (const r of [before, after, joined]) {
      expect(r.flags).toEqual({ json: true, socket: '/s', help: false, version: false });
      expect(r.command).toEqual(['ipmi', 'sel', 'bmc0', '--clear']);
    }
  });

  it('never reads a word after -- as an option, and hands the -- on to the command', () => {
    const r = splitGlobalFlags(['account', 'add', '--json', '--', '--json', '-s', '--help']);
    expect(r.flags).toEqual({ json: true, help: false, version: false });
    expect(r.command).toEqual(['account', 'add', '--', '--json', '-s', '--help']);
  });

  it('recognises --help and --version anywhere, and nothing else before the command', () => {
    expect(splitGlobalFlags(['status', '--help']).flags.help).toBe(true);
    expect(splitGlobalFlags(['-V']).flags).toEqual({ json: false, help: false, version: true });
    expect(() => splitGlobalFlags(['--bogus', 'status'])).toThrow(GlobalFlagError);
    expect(() => splitGlobalFlags(['--bogus', 'status'])).toThrow(
      /unknown option '--bogus' \(vpmctl's options: -s\/--socket/,
    );
    expect(() => splitGlobalFlags(['status', '--socket'])).toThrow(/--socket needs the path of the control socket/);
    expect(() => splitGlobalFlags(['status', '--socket='])).toThrow(GlobalFlagError);
    // After the command word, an unknown option is the command's.
    expect(splitGlobalFlags(['host', 'set-governor', '--all']).command).toEqual(['host', 'set-governor', '--all']);
  });
});

describe('longestCommand', () => {
  it('picks the longest command name the words start with', () => {
    const names = ['ipmi', 'ipmi sel', 'ipmi sensors', 'status'];
    expect(longestCommand(['ipmi', 'sel', 'bmc0', '--clear'], names)).toBe('ipmi sel');
    expect(longestCommand(['status'], names)).toBe('status');
    expect(longestCommand(['nothing'], names)).toBeUndefined();
  });
});
