/**
 * The open links of every VM's channels. Each link hands its requests straight to the request
 * handler (no hop in between: a guest's reply is due within 10 ms) and keeps the channel's
 * connection state and drop counters.
 */
import type { Logger } from 'vpmd';
import { handleFrame, type HandlerDeps } from '../request-handler.js';
import { zeroCounters, type ChannelRecord, type VmRecord } from '../vm-registry.js';
import { ChannelLink, type Backoff } from './channel-link.js';
import type { Dispatcher } from './dispatcher.js';

/** Links by `VM/N`. */
export class ChannelLinks {
  private readonly links = new Map<string, ChannelLink>();
  private closed = false;

  constructor(
    private readonly backoff: Backoff,
    private readonly deps: HandlerDeps,
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
  ) {}

  /** Adds channel `num` at `path` to `vm` and connects it (unless every link was closed). */
  open(vm: VmRecord, num: number, path: string, enabled: boolean): ChannelRecord {
    const ch: ChannelRecord = {
      num,
      path,
      enabled,
      connected: false,
      processing: false,
      counters: zeroCounters(),
    };
    vm.channels.set(num, ch);
    const deps = this.deps;
    const link = new ChannelLink(
      path,
      this.backoff,
      {
        frame: (f) => handleFrame(deps, vm, ch, f),
        state: (up) => {
          ch.connected = up;
        },
        dropped: (frames) => {
          vm.counters.dropped += frames;
          ch.counters.dropped += frames;
        },
        limited: () => {
          vm.counters.limited++;
          ch.counters.limited++;
        },
      },
      this.log.child({ vm: vm.name, channel: num }),
      this.dispatcher,
    );
    this.links.set(`${vm.name}/${num}`, link);
    if (!this.closed) link.start();
    return ch;
  }

  /** Closes the links of every channel of `vm`. */
  async closeVm(vm: VmRecord): Promise<void> {
    for (const num of vm.channels.keys()) {
      const key = `${vm.name}/${num}`;
      await this.links.get(key)?.stop();
      this.links.delete(key);
    }
  }

  /** Retries `vm`'s links now (its domain just started), not after their backoff. */
  kickVm(vm: VmRecord): void {
    for (const num of vm.channels.keys()) this.links.get(`${vm.name}/${num}`)?.kick();
  }

  /** Closes every link; links opened later are not connected. */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.links.values()].map((l) => l.stop()));
    this.links.clear();
  }
}
