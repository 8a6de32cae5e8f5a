/**
 * Talking to a running ipmi_sim: RMCP presence pings (is the LAN port served yet?), its TCP
 * command console (change a sensor at run time), and ipmitool, the reference client.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { describe, peerFailedError, peerTimeoutError } from './peer-errors.js';
import { requireProgram } from './program-lookup.js';

const PEER = 'ipmi_sim';

/**
 * RMCP/ASF Presence Ping: RMCP header (version 6, no ack, class ASF), IANA 4542, type 0x80,
 * tag 0x01. ipmi_sim answers with a Presence Pong once its event loop serves the port, which
 * happens only after it has read its configuration and command file.
 */
const PRESENCE_PING = Buffer.from('0600ff06000011be80010000', 'hex');

/**
 * Pings every port until each has answered.
 * @param check - called between rounds; throw to give up (e.g. ipmi_sim exited)
 * @throws VpmdError (timeout) listing the ports still silent
 */
export function awaitPresence(
  ports: readonly number[],
  timeoutMs: number,
  check: () => void,
  output: () => string,
): Promise<void> {
  const pending = new Set(ports);
  const socket = createSocket('udp4');
  return new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.close();
      if (err === undefined) resolve();
      else reject(err);
    };
    socket.on('message', (msg, rinfo) => {
      // A pong is RMCP class ASF with message type 0x40.
      if (msg.length >= 9 && msg[3] === 0x06 && msg[8] === 0x40) pending.delete(rinfo.port);
      if (pending.size === 0) finish();
    });
    socket.on('error', () => undefined); // ICMP port unreachable while a port is not bound yet
    const round = (): void => {
      try {
        check();
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (pending.size === 0) return;
      if (Date.now() >= deadline) {
        const silent = [...pending].slice(0, 10).join(', ');
        finish(
          peerTimeoutError(
            PEER,
            `presence pong from UDP ${silent}${pending.size > 10 ? ' ...' : ''}`,
            timeoutMs,
            output(),
          ),
        );
        return;
      }
      for (const port of pending) socket.send(PRESENCE_PING, port, '127.0.0.1');
      timer = setTimeout(round, 50);
    };
    socket.bind(0, '127.0.0.1', round);
  });
}

/**
 * Runs one command on ipmi_sim's console (`console 127.0.0.1 PORT` in lan.conf) and returns
 * what it printed. The console speaks telnet: negotiation bytes are dropped, and each command
 * is answered by its output followed by a "> " prompt. The connection is closed, never sent
 * `quit` (which would end the simulator).
 * @throws VpmdError (peer failed) when the command prints an error ("**...")
 */
export function consoleCommand(port: number, command: string, timeoutMs = 3_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let sent = false;
    const timer = setTimeout(
      () => done(peerTimeoutError(PEER, `console command "${command}"`, timeoutMs, text)),
      timeoutMs,
    );
    const done = (err: Error | undefined, out?: string): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(out ?? '');
    };
    socket.on('error', (err) =>
      done(peerFailedError(PEER, `console on 127.0.0.1:${port}: ${describe(err)}`, { port }, '', err)),
    );
    socket.on('data', (chunk: Buffer) => {
      // Keep printable ASCII and newlines; telnet IAC sequences are bytes >= 0xf0 plus options.
      text += chunk
        .toString('latin1')
        .replace(/\xff[\xfb-\xfe]./gs, '')
        .replace(/[^\x20-\x7e\n]/g, '');
      if (!sent && text.endsWith('> ')) {
        sent = true;
        text = '';
        socket.write(`${command}\n`);
        return;
      }
      if (sent && text.endsWith('\n> ')) {
        const out = text.slice(0, -2).replace(command, '').trim();
        if (out.includes('**'))
          done(peerFailedError(PEER, `console command "${command}" failed: ${out}`, { port, command }));
        else done(undefined, out);
      }
    });
  });
}

/** Where and how ipmitool logs in; an {@link IpmiSimTarget} fits. */
export interface IpmitoolTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
}

/** What ipmitool printed. */
export interface IpmitoolResult {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `ipmitool -I lanplus -H HOST -p PORT -U USER -E -C 3 ARGS...` (password through
 * IPMI_PASSWORD, cipher suite 3) with one quick retry per request.
 * @throws VpmdError: ipmitool missing (names scripts/setup-peers.sh), or a non-zero exit with its stderr
 */
export async function runIpmitool(
  target: IpmitoolTarget,
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<IpmitoolResult> {
  const program = await requireProgram('ipmitool', 'ipmitool', 'ipmitool');
  const argv = [
    '-I',
    'lanplus',
    '-H',
    target.host,
    '-p',
    String(target.port),
    '-U',
    target.username,
    '-E',
    '-C',
    '3',
    '-N',
    '1',
    '-R',
    '2',
    ...args,
  ];
  return new Promise<IpmitoolResult>((resolve, reject) => {
    execFile(
      program,
      argv,
      { timeout: timeoutMs, env: { ...process.env, IPMI_PASSWORD: target.password } },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ stdout, stderr });
          return;
        }
        const what = `ipmitool ${args.join(' ')} against ${target.host}:${target.port}`;
        reject(
          peerFailedError(
            'ipmitool',
            `${what} failed: ${describe(err)}`,
            { port: target.port, command: args.join(' ') },
            `${stderr}${stdout}`,
            err,
          ),
        );
      },
    );
  });
}
