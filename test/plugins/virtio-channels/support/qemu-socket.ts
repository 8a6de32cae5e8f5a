/**
 * QEMU's side of a virtio-serial power channel, for tests: a unix stream socket that QEMU would
 * listen on (`DIR/VM.N`). The agent connects to it; the test writes guest requests and reads the
 * replies, as a guest would through the port. (The real DPDK guest test uses socat + librte_power.)
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';

/** A listening channel socket with at most one peer (the agent). */
export class QemuSocket {
  private peer: Socket | undefined;
  private rx = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {
    server.on('connection', (s) => {
      this.peer = s;
      s.on('data', (d: Buffer) => {
        this.rx = Buffer.concat([this.rx, d]);
        this.wake();
      });
      s.on('close', () => {
        if (this.peer === s) this.peer = undefined;
        this.wake();
      });
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what} on ${this.path}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Listens at `path` (replacing a stale socket). */
  static async listen(path: string): Promise<QemuSocket> {
    await rm(path, { force: true });
    const server = createServer();
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(path, () => res());
    });
    return new QemuSocket(path, server);
  }

  /** Waits for the agent to connect. */
  connected(ms = 5_000): Promise<void> {
    return this.until(() => this.peer !== undefined, ms, 'the agent to connect');
  }

  /** Writes bytes to the agent. */
  send(buf: Buffer): void {
    if (!this.peer) throw new Error(`no agent connected to ${this.path}`);
    this.peer.write(buf);
  }

  /** Reads exactly `size` reply bytes. */
  async read(size: number, ms = 5_000): Promise<Buffer> {
    await this.until(() => this.rx.length >= size, ms, `${size} reply bytes`);
    const out = this.rx.subarray(0, size);
    this.rx = this.rx.subarray(size);
    return Buffer.from(out);
  }

  /** Bytes received and not read yet, after waiting `ms` for more. */
  async pending(ms = 200): Promise<number> {
    await new Promise((r) => setTimeout(r, ms));
    return this.rx.length;
  }

  /** Stops listening and drops the agent's connection (the VM stopped). */
  async close(): Promise<void> {
    this.peer?.destroy();
    this.peer = undefined;
    await new Promise<void>((res) => this.server.close(() => res()));
    await rm(this.path, { force: true });
  }
}
