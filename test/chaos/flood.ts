/**
 * Floods for the chaos suite: a separate Node process that sends datagrams at a fixed rate to a
 * loopback port until killed, so the flood never shares the agent's event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** What the flooder sends. */
export type FloodKind = 'garbage' | 'discovery';

const SCRIPT = `
const dgram = require('node:dgram');
const [port, rate, kind] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
const s = dgram.createSocket('udp4');
// An SNMPv3 discovery probe (empty engine ID, reportable), captured from net-snmp's snmpget.
const discovery = Buffer.from('303e020103301102041a15cfb3020300ffe30401040201030410300e0400020100020100040004000400301404000400a00e02042f9ed3980201000201003000', 'hex');
let n = 0;
const batch = Math.max(1, Math.round(rate / 200));
setInterval(() => {
  for (let i = 0; i < batch; i++) {
    n++;
    const buf = kind === 'discovery' ? discovery : Buffer.from(Array.from({ length: 40 + (n % 60) }, (_, j) => (n * 31 + j * 7) & 0xff));
    s.send(buf, port, '127.0.0.1');
  }
}, 5);
process.on('SIGTERM', () => { process.stdout.write(String(n)); process.exit(0); });
`;

/** A running flood; `stop()` resolves with the number of datagrams sent. */
export interface Flood {
  readonly child: ChildProcess;
  stop(): Promise<number>;
}

/** Starts `rate` datagrams per second of `kind` towards 127.0.0.1:`port`. */
export function startFlood(port: number, rate: number, kind: FloodKind): Flood {
  const child = spawn(process.execPath, ['-e', SCRIPT, String(port), String(rate), kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return Number(out) || 0;
    },
  };
}

/** p-th percentile (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
