/**
 * What the poller keeps about each BMC across restarts, in the plugin's state directory (key
 * `bmc-memory`, written atomically by the core state store): the SDR cache with its key (the
 * repository's record count and add/erase timestamps) and the cipher suite the BMC accepted.
 * A restarted agent's first poll of a BMC then checks the timestamps (one request) instead of
 * reading the repository again, and logs in without listing cipher suites. An entry belongs to
 * a target name and address: a target moved to another BMC starts afresh.
 */
import { Type, type Logger, type Static, type StateStore } from 'vpmd';
import { restoreCache } from '../commands/sdr-repository.js';
import type { TargetPoller } from './target-poller.js';

const Byte = Type.Integer({ minimum: 0, maximum: 255 });
const Thresholds = Type.Object(
  {
    lnr: Type.Optional(Byte),
    lc: Type.Optional(Byte),
    lnc: Type.Optional(Byte),
    unc: Type.Optional(Byte),
    uc: Type.Optional(Byte),
    unr: Type.Optional(Byte),
  },
  { additionalProperties: false },
);
const Entry = Type.Object(
  {
    host: Type.String(),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    suite: Type.Optional(Byte),
    sdr: Type.Optional(
      Type.Object(
        {
          /** `count:add:erase` of the repository the records were read from. */
          key: Type.String({ minLength: 1, maxLength: 64 }),
          records: Type.Array(
            Type.Object(
              { bytes: Type.String({ pattern: '^(?:[0-9a-f]{2})+$', maxLength: 1024 }), thresholds: Thresholds },
              { additionalProperties: false },
            ),
            {
              maxItems: 4096,
            },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
const Memory = Type.Record(Type.String(), Entry);
const SPEC = { version: 1, schema: Memory } as const;
const KEY = 'bmc-memory';

/** Writes wait this long to gather the changes of many targets (a cold sweep learns thousands). */
const WRITE_DELAY_MS = 2_000;

/** The persisted memory of every configured BMC. */
export class BmcMemory {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly state: StateStore,
    private readonly log: Logger,
    private readonly entries: Record<string, Static<typeof Entry>>,
  ) {}

  /**
   * Reads the memory, keeping the entries of `targets` only. An unreadable file is logged and
   * replaced on the next write: it is a cache, every repository can be read again.
   */
  static async open(state: StateStore, log: Logger, targets: readonly string[]): Promise<BmcMemory> {
    let stored: Record<string, Static<typeof Entry>> = {};
    try {
      stored = (await state.read(KEY, SPEC)) ?? {};
    } catch (e) {
      log.warn(
        { err: (e as Error).message },
        'IPMI BMC memory (SDR caches, cipher suites) unreadable: every BMC is read afresh',
      );
    }
    const entries: Record<string, Static<typeof Entry>> = {};
    for (const name of targets) {
      const entry = stored[name];
      if (entry !== undefined) entries[name] = entry;
    }
    return new BmcMemory(state, log, entries);
  }

  /** Gives `tp` what is remembered about its BMC (when it is still the same address). */
  restore(tp: TargetPoller): void {
    const e = this.entries[tp.target.name];
    if (e === undefined || e.host !== tp.target.host || e.port !== tp.target.port) return;
    if (e.suite !== undefined) tp.suiteHint = e.suite;
    if (e.sdr !== undefined) {
      tp.sdr = restoreCache(
        e.sdr.key,
        e.sdr.records.map((r) => Buffer.from(r.bytes, 'hex')),
        e.sdr.records.map((r) => r.thresholds),
      );
    }
  }

  /** Records what `tp` knows now; written a little later, together with other changes. */
  remember(tp: TargetPoller): void {
    const t = tp.target;
    const sdr = tp.sdr;
    this.entries[t.name] = {
      host: t.host,
      port: t.port,
      ...(tp.suiteHint !== undefined ? { suite: tp.suiteHint } : {}),
      ...(sdr !== undefined
        ? {
            sdr: {
              key: sdr.key,
              records: sdr.raw.map((bytes, i) => ({
                bytes: bytes.toString('hex'),
                thresholds: { ...sdr.sensors[i]?.thresholds },
              })),
            },
          }
        : {}),
    };
    this.timer ??= setTimeout(() => void this.write(), WRITE_DELAY_MS).unref();
  }

  private write(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const snapshot = { ...this.entries };
    this.writing = this.writing
      .then(() => this.state.write(KEY, SPEC, snapshot))
      .catch((e: unknown) =>
        this.log.warn(
          { err: (e as Error).message },
          'IPMI BMC memory not saved: the next start reads the SDR repositories again',
        ),
      );
    return this.writing;
  }

  /** Writes pending changes now (on stop). */
  async flush(): Promise<void> {
    if (this.timer !== undefined) await this.write();
    else await this.writing;
  }
}
