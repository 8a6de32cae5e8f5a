/**
 * The main thread's handle on the guest worker (`guest-load.ts`), shared by bench:channels
 * (`run.ts`) and bench:channels-stock (`stock-compare.ts`). guest-load.ts itself cannot export
 * it: importing that module runs the worker's body.
 */
import { Worker } from 'node:worker_threads';
import type { GuestCommand, GuestEvent, Mode, RunResult } from './guest-load.js';
import { cpuSecondsOf } from './stock-host.js';

/** Options for {@link Guests.start}. */
export interface GuestsOptions {
  /** Channels per VM: the worker numbers each channel's vCPU from it. */
  readonly perVm: number;
  /**
   * Have the worker report its thread id at boot, so that {@link Guests.threadCpuSeconds} can
   * read the thread's own CPU time (Linux /proc): a host in this process then subtracts the
   * guests' share from the process's CPU time.
   */
  readonly threadCpu?: boolean;
}

/** A run, with this process's CPU time per answered request. */
export interface GuestRun extends RunResult {
  /**
   * The whole process's CPU time (host if it runs here, guests, background tasks) per answered
   * request, in microseconds: unlike latency, it hardly moves with load from elsewhere.
   */
  readonly cpuUsPerRequest: number;
}

/** The boot code's first message when `threadCpu` is set. */
interface ThreadEvent {
  readonly kind: 'thread';
  readonly tid: number;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** The worker playing every guest: one listening socket per channel, runs on demand. */
export class Guests {
  private readonly events: GuestEvent[] = [];
  private wake: (() => void) | undefined;
  /** The worker's thread id, so its CPU time can be told apart from the host's. */
  private workerTid: number | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (e: GuestEvent | ThreadEvent) => {
      if (e.kind === 'thread') this.workerTid = e.tid;
      else this.events.push(e);
      this.wake?.();
    });
  }

  /** Starts the worker listening on `paths` and resolves once every socket listens. */
  static async start(paths: string[], opts: GuestsOptions): Promise<Guests> {
    // Workers do not inherit tsx's loader: register it, then load the TypeScript entry.
    const entry = new URL('./guest-load.ts', import.meta.url).href;
    const load = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
    // The thread id is read first, from /proc/thread-self, before the entry starts its work.
    const reportThread = `require('node:worker_threads').parentPort.postMessage({ kind: 'thread', tid: Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()) });`;
    const boot = opts.threadCpu === true ? `${reportThread}\n${load}` : load;
    const g = new Guests(new Worker(boot, { eval: true, workerData: { paths, perVm: opts.perVm } }));
    await g.next('listening');
    return g;
  }

  /** Resolves once the host has connected to every channel. */
  connected(): Promise<unknown> {
    return this.next('connected');
  }

  /** One run: closed loop, or paced at `rate` requests/s. */
  async run(mode: Mode, seconds: number, rate?: number): Promise<GuestRun> {
    const cpu0 = process.cpuUsage();
    this.worker.postMessage({
      kind: 'run',
      mode,
      seconds,
      ...(rate === undefined ? {} : { rate }),
    } satisfies GuestCommand);
    const result = (await this.next('result', seconds * 1000 + 120_000)).result;
    const cpu = process.cpuUsage(cpu0);
    return { ...result, cpuUsPerRequest: round((cpu.user + cpu.system) / result.requests) };
  }

  /**
   * The worker's thread id (Linux).
   * @throws Error when started without `threadCpu`, or the thread id never arrived
   */
  tid(): number {
    if (this.workerTid === undefined)
      throw new Error('guest worker: its thread id never arrived (start with threadCpu: true)');
    return this.workerTid;
  }

  /**
   * CPU seconds the guest worker thread has used.
   * @throws Error when started without `threadCpu`, or the thread id never arrived
   */
  threadCpuSeconds(): Promise<number> {
    return cpuSecondsOf(`/proc/self/task/${this.tid()}/stat`);
  }

  /** Closes every channel and waits for the worker to exit. */
  async close(): Promise<void> {
    this.worker.postMessage({ kind: 'close' } satisfies GuestCommand);
    await new Promise((r) => this.worker.once('exit', r));
  }

  private async next<K extends GuestEvent['kind']>(
    kind: K,
    timeoutMs = 60_000,
  ): Promise<Extract<GuestEvent, { kind: K }>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.kind === kind);
      if (i !== -1) return this.events.splice(i, 1)[0] as Extract<GuestEvent, { kind: K }>;
      if (Date.now() > end) throw new Error(`guest worker: no '${kind}' within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        this.wake = res;
        setTimeout(res, 100);
      });
    }
  }
}
