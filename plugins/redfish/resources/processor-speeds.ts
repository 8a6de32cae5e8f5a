/**
 * What a Processor shows of cpufreq, read at the cost of a poller's GET. A full policy read is
 * some 27 files per policy, several of them absent on a given driver (each absence a thrown
 * error): about 2 ms of CPU per GET on an 8-CPU simulated host and 11 ms on a file tree. Which
 * policies govern which CPUs, and their hardware limits, change only with CPU hotplug or a
 * driver switch, so they are read at most every `placementTtlMs` (as the topology is). The
 * settings and the current speed are read on every GET: three small files per policy, through
 * descriptors kept open ({@link KeptOpenFiles}).
 */
import { KeptOpenFiles, type CpufreqPolicy, type HostModel } from 'vpmd';

/** One policy as a Processor shows it. */
export type PolicySpeeds = Pick<
  CpufreqPolicy,
  'id' | 'cpuinfoMinKHz' | 'cpuinfoMaxKHz' | 'scalingMinKHz' | 'scalingMaxKHz' | 'scalingCurKHz'
>;

const LIVE_FILES = ['scaling_min_freq', 'scaling_max_freq', 'scaling_cur_freq'] as const;
const INTEGER = /^\d+$/;

const kHz = (text: string | undefined): number | undefined => {
  const t = text?.trim();
  return t !== undefined && INTEGER.test(t) ? Number(t) : undefined;
};

/** The cpufreq view of processor packages (see the module comment). */
export class ProcessorSpeeds {
  private placement: { at: number; value: Promise<readonly CpufreqPolicy[]> } | undefined;
  /** One set of kept files per package: each GET reads the same paths (see KeptOpenFiles.readTexts). */
  private readonly files = new Map<number, KeptOpenFiles>();

  constructor(
    private readonly host: Pick<HostModel, 'backend' | 'cpufreq'>,
    private readonly placementTtlMs: number,
  ) {}

  /**
   * The controllable policies governing any of `cpus` (package `pkg`), settings and current
   * speed as they are now. A live file that cannot be read means the policies changed: they are
   * then read in full, now.
   */
  async ofPackage(pkg: number, cpus: ReadonlySet<number>): Promise<PolicySpeeds[]> {
    const inPackage = (p: CpufreqPolicy): boolean => p.affectedCpus.some((c) => cpus.has(c));
    const pols = (await this.policies()).filter(inPackage);
    let files = this.files.get(pkg);
    if (files === undefined) {
      files = new KeptOpenFiles(this.host.backend);
      this.files.set(pkg, files);
    }
    const texts = await files.readTexts(pols.flatMap((p) => LIVE_FILES.map((f) => `${p.path}/${f}`)));
    const out: PolicySpeeds[] = [];
    for (const [i, p] of pols.entries()) {
      const [min, max, cur] = LIVE_FILES.map((_, k) => kHz(texts[i * LIVE_FILES.length + k]));
      if (min === undefined || max === undefined) {
        this.forget();
        return (await this.policies()).filter(inPackage);
      }
      const { id, cpuinfoMinKHz, cpuinfoMaxKHz } = p;
      out.push({ id, cpuinfoMinKHz, cpuinfoMaxKHz, scalingMinKHz: min, scalingMaxKHz: max, scalingCurKHz: cur });
    }
    return out;
  }

  /** Reads the policies in full on the next GET (after a write to them, or a failed read). */
  forget(): void {
    this.placement = undefined;
  }

  /** Gives back the kept descriptors (reopened if asked again). */
  close(): void {
    for (const f of this.files.values()) f.close();
    this.files.clear();
    this.forget();
  }

  private policies(): Promise<readonly CpufreqPolicy[]> {
    const now = Date.now();
    if (this.placement === undefined || now - this.placement.at > this.placementTtlMs) {
      const value = this.host.cpufreq.policies();
      const placement = { at: now, value };
      this.placement = placement;
      value.catch(() => {
        if (this.placement === placement) this.placement = undefined;
      });
    }
    return this.placement.value;
  }
}
