/**
 * Sleep-state discovery: which of suspend-to-RAM, hibernate, hybrid sleep and
 * suspend-then-hibernate the host supports, decided as libvirt decides (logind's Can* answer
 * "yes" or "challenge"), with the kernel's own view beside it so an operator sees why.
 */
import type { HostSleep, KernelSleepView, LogindAnswer, SleepSupport, SleepTarget, SleepTargetSupport } from 'vpmd';

/** Every sleep target, in the order documents list them. */
export const SLEEP_TARGETS: readonly SleepTarget[] = ['mem', 'disk', 'hybrid', 'suspend-then-hibernate'];

/** The logind verb of each target (for messages; the core's host power makes the calls). */
export const VERB_OF: Readonly<Record<SleepTarget, string>> = {
  mem: 'Suspend',
  disk: 'Hibernate',
  hybrid: 'HybridSleep',
  'suspend-then-hibernate': 'SuspendThenHibernate',
};

/** What libvirt calls each target in its errors. */
export const LIBVIRT_NAME: Readonly<Record<SleepTarget, string>> = {
  mem: 'Suspend-to-RAM',
  disk: 'Suspend-to-Disk',
  hybrid: 'Hybrid-Suspend',
  'suspend-then-hibernate': 'Suspend-then-Hibernate',
};

/** Asks logind one Can* question about `target`; throws when logind is missing or slow. */
export type CanAsker = (target: SleepTarget) => Promise<LogindAnswer>;

function choiceText(name: string, choice: KernelSleepView['memSleep']): string {
  if (choice === undefined) return `no ${name}`;
  return `${name}: ${choice.options.map((o) => (o === choice.selected ? `[${o}]` : o)).join(' ')}`;
}

/** Explains, per target, what the kernel offers; returns the text and whether it is enough. */
export function kernelVerdict(target: SleepTarget, k: KernelSleepView): { text: string; offers: boolean } {
  const mem = k.states.includes('mem');
  const disk = k.states.includes('disk');
  const state = `/sys/power/state: ${k.states.length ? k.states.join(' ') : '(empty)'}`;
  const memText = (): { text: string; offers: boolean } => {
    if (!mem) return { text: `${state}: mem not offered`, offers: false };
    if (k.memSleep === undefined) return { text: `${state}; no mem_sleep (pre-4.10 kernel: mem is S3)`, offers: true };
    const sel = k.memSleep.selected;
    if (!k.memSleep.options.includes('deep')) {
      return {
        text: `mem offered, ${choiceText('mem_sleep', k.memSleep)} only: not S3 (suspend-to-idle)`,
        offers: false,
      };
    }
    if (sel !== 'deep') {
      return {
        text: `mem offered, ${choiceText('mem_sleep', k.memSleep)}: S3 available but ${sel ?? 'nothing'} is selected, so mem suspends to ${sel ?? 'an unknown mode'}`,
        offers: true,
      };
    }
    return { text: `mem offered, ${choiceText('mem_sleep', k.memSleep)}: S3`, offers: true };
  };
  const diskText = (): { text: string; offers: boolean } =>
    disk
      ? { text: `disk offered, ${choiceText('disk', k.disk)}: S4`, offers: true }
      : { text: `${state}: disk not offered`, offers: false };
  switch (target) {
    case 'mem':
      return memText();
    case 'disk':
      return diskText();
    case 'hybrid': {
      const d = diskText();
      if (!d.offers) return d;
      const suspendMode = k.disk === undefined || k.disk.options.includes('suspend');
      const m = memText();
      return {
        text: `${d.text}; ${m.text}${suspendMode ? '' : '; disk has no suspend mode'}`,
        offers: m.offers && suspendMode,
      };
    }
    case 'suspend-then-hibernate': {
      const m = memText();
      const d = diskText();
      return { text: `${m.text}; ${d.text}`, offers: m.offers && d.offers };
    }
  }
}

/** The kernel view as the contract shapes it. */
export async function readKernelView(sleep: HostSleep): Promise<KernelSleepView> {
  const s = await sleep.states();
  return {
    states: s.states,
    ...(s.memSleep === undefined ? {} : { memSleep: s.memSleep }),
    ...(s.disk === undefined ? {} : { disk: s.disk }),
    s3: s.s3,
    s4: s.s4,
    s2idle: s.s2idle,
  };
}

/**
 * Runs discovery. `ask` is undefined when there is no logind connection (its problem in
 * `logindProblem`). The first logind failure stops further questions: a missing or frozen logind
 * costs one timeout, not four.
 */
export async function discoverSleep(
  sleep: HostSleep,
  ask: CanAsker | undefined,
  logindProblem: string | undefined,
  now = Date.now,
): Promise<SleepSupport> {
  const kernel = await readKernelView(sleep);
  let problem = logindProblem;
  const targets: SleepTargetSupport[] = [];
  for (const target of SLEEP_TARGETS) {
    let answer: LogindAnswer = 'unavailable';
    if (ask !== undefined && problem === undefined) {
      try {
        answer = await ask(target);
      } catch (e) {
        problem = e instanceof Error ? e.message : String(e);
      }
    }
    const verdict = kernelVerdict(target, kernel);
    targets.push({
      target,
      supported: answer === 'yes' || answer === 'challenge',
      logind: answer,
      kernel: verdict.text,
      kernelOffers: verdict.offers,
    });
  }
  return { targets, discoveredAt: now(), ...(problem === undefined ? {} : { logindProblem: problem }), kernel };
}

/** Targets supported in `s`. */
export function supportedTargets(s: SleepSupport | undefined): SleepTarget[] {
  return (s?.targets ?? []).filter((t) => t.supported).map((t) => t.target);
}

/** A key that differs exactly when two discoveries differ in what an operator would notice. */
export function resultKey(s: SleepSupport): string {
  const parts = s.targets.map(
    (t) => `${t.target}:${t.supported ? 1 : 0}:${t.logind}:${t.kernelOffers === true ? 1 : 0}`,
  );
  return `${parts.join(',')}|logind:${s.logindProblem === undefined ? 'ok' : 'problem'}`;
}

/** Targets whose support differs between two discoveries (every supported one when `before` is undefined). */
export function changedTargets(before: SleepSupport | undefined, after: SleepSupport): SleepTarget[] {
  if (before === undefined) return supportedTargets(after);
  return SLEEP_TARGETS.filter((t) => {
    const a = before.targets.find((x) => x.target === t);
    const b = after.targets.find((x) => x.target === t);
    return a?.supported !== b?.supported || a?.logind !== b?.logind || a?.kernelOffers !== b?.kernelOffers;
  });
}
