/**
 * A BMC's Server-Sent Events stream (EventService.ServerSentEventUri), followed while the
 * poller runs: each event makes the poller read the BMC's logs at once instead of at every
 * interval. The stream is reopened after a failure with doubling waits; while it is down the
 * poller polls the logs again.
 */
import type { ClientRequest } from 'node:http';
import type { RedfishTarget } from './target.js';

/** Longest stretch without a byte before a stream counts as dead (SSE services send keep-alives). */
const IDLE_MS = 5 * 60_000;

/** One followed stream. */
export class EventStream {
  private req: ClientRequest | undefined;
  private stopped = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  /** Events received since start. */
  received = 0;

  constructor(
    private readonly t: RedfishTarget,
    private readonly uri: string,
    private readonly onEvent: (data: string) => void,
    private readonly onState: (up: boolean, why?: string) => void,
  ) {}

  /** Opens the stream (and keeps reopening it). */
  start(): void {
    void this.open();
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    let auth: Record<string, string>;
    try {
      auth = await this.t.session.authHeaders();
    } catch (e) {
      this.down((e as Error).message);
      return;
    }
    if (this.stopped) return;
    const req = this.t.session.transport.openStream(this.uri, auth);
    this.req = req;
    req.setTimeout(IDLE_MS, () => req.destroy(new Error('stream idle')));
    req.once('error', (e) => this.down(e.message));
    req.once('response', (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        res.resume();
        req.destroy();
        this.down(`HTTP ${res.statusCode ?? 0} ${String(res.headers['content-type'] ?? '')}`);
        return;
      }
      this.failures = 0;
      this.onState(true);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > 4 * 1024 * 1024) {
          req.destroy(new Error('event larger than 4 MiB'));
          return;
        }
        let end: number;
        while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end).replace(/^\r?\n\r?\n/, '');
          const data = block
            .split(/\r?\n/)
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data !== '') {
            this.received++;
            this.onEvent(data);
          }
        }
      });
      res.once('end', () => this.down('stream ended'));
      res.once('error', (e) => this.down(e.message));
    });
    req.end();
  }

  private down(why: string): void {
    if (this.req === undefined && this.retry !== undefined) return;
    this.req = undefined;
    this.onState(false, why);
    if (this.stopped || this.retry !== undefined) return;
    this.failures++;
    const wait = Math.min(300_000, 1_000 * 2 ** Math.min(this.failures - 1, 9));
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.open();
    }, wait);
    this.retry.unref();
  }

  /** Closes the stream for good. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.req?.destroy();
    this.req = undefined;
  }
}
