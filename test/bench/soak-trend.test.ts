import { describe, expect, it } from 'vitest';
import { fitTrend, growthTrends, judgeGrowth, type MemorySample } from '../../bench/soak/trend.js';

/** Samples every 10 s for `minutes`, `y(t)` in MiB. */
const series = (from: number, minutes: number, y: (t: number) => number): Array<{ t: number; y: number }> =>
  Array.from({ length: (minutes * 60) / 10 }, (_, i) => ({ t: from + i * 10, y: y(from + i * 10) }));
// A deterministic sawtooth standing in for GC cycles: 3 MiB peak to peak, a 60 s period.
const saw = (t: number): number => ((t % 60) / 60) * 3;

describe('fitTrend', () => {
  it('finds a known slope in MiB per hour through sawtooth noise', () => {
    const fit = fitTrend([series(600, 50, (t) => 100 + (t / 3600) * 4 + saw(t))]);
    expect(fit?.slopeMiBPerHour).toBeCloseTo(4, 0);
    expect(fit?.points).toBe(300);
  });

  it('does not count a step between windows as growth', () => {
    const before = series(600, 14, () => 100);
    const after = series(1800, 30, () => 110);
    expect(fitTrend([before, after])?.slopeMiBPerHour).toBe(0);
    // The same points as one window: the step reads as growth.
    expect(fitTrend([[...before, ...after]])!.slopeMiBPerHour).toBeGreaterThan(10);
  });

  it('widens the standard error when residuals are autocorrelated', () => {
    const slow = fitTrend([series(0, 60, (t) => 3 * Math.sin(t / 300))])!;
    const fast = fitTrend([series(0, 60, (t) => 3 * (Math.floor(t / 10) % 2))])!;
    expect(slow.lag1Autocorrelation).toBeGreaterThan(0.9);
    expect(fast.lag1Autocorrelation).toBeLessThan(0);
    expect(slow.stdErrMiBPerHour).toBeGreaterThan(fast.stdErrMiBPerHour);
  });

  it('gives no slope for too few points', () => {
    expect(fitTrend([[{ t: 0, y: 1 }]])).toBeUndefined();
    expect(fitTrend([[], []])).toBeUndefined();
  });
});

/** Hour-long samples with an agent heap and RSS growing at the given rates (MiB/h). */
const soak = (heapPerHour: number, rssPerHour: number, bareRssPerHour: number): MemorySample[] =>
  series(600, 50, () => 0).map(({ t }) => {
    const h = t / 3600;
    const parts = (rss: number, heap: number) => ({
      rssMiB: rss + 40,
      rssAnonMiB: rss,
      rssFileMiB: 40,
      heapUsedMiB: heap,
      heapTotalMiB: heap + 10,
      heapCodeMiB: 8,
      externalMiB: 5,
      arrayBuffersMiB: 1,
    });
    return {
      t,
      afterGc: t % 60 === 0,
      agent: parts(100 + rssPerHour * h + saw(t), 30 + heapPerHour * h + (t % 120 === 0 ? 0.1 : 0)),
      bareNode: parts(40 + bareRssPerHour * h + saw(t) / 3, 4),
    };
  });

describe('judgeGrowth', () => {
  it('passes a flat heap and an RSS drifting like the bare process', () => {
    const v = judgeGrowth(growthTrends([soak(0, 5, 5)]));
    expect(v).toMatchObject({ heap: 'pass', rss: 'pass', pass: 'pass' });
  });

  it('fails a live heap growing by 2 MiB an hour', () => {
    const v = judgeGrowth(growthTrends([soak(2, 2, 2)]));
    expect(v).toMatchObject({ heap: 'fail', pass: 'fail' });
  });

  it('fails an anonymous RSS growing 6 MiB an hour faster than the bare process, with a flat heap', () => {
    const v = judgeGrowth(growthTrends([soak(0, 8, 2)]));
    expect(v).toMatchObject({ heap: 'pass', rss: 'fail', pass: 'fail' });
    expect(v.rssAnonExcessOverBareMiBPerHour).toBeCloseTo(6, 0);
  });

  it('does not count file-backed RSS (code pages faulted in) as growth', () => {
    const samples = soak(0, 0, 0);
    samples.forEach((s) => {
      s.agent.rssFileMiB += (s.t / 3600) * 8;
      s.agent.rssMiB += (s.t / 3600) * 8;
    });
    const g = growthTrends([samples]);
    expect(g.agentRss!.slopeMiBPerHour).toBeGreaterThan(6);
    expect(judgeGrowth(g)).toMatchObject({ rss: 'pass', pass: 'pass' });
  });

  it('reports compiled code growing but judges the heap on what the program keeps', () => {
    const samples = soak(0, 0, 0);
    samples.forEach((s) => {
      s.agent.heapCodeMiB += (s.t / 3600) * 4;
      s.agent.heapUsedMiB += (s.t / 3600) * 4;
    });
    const g = growthTrends([samples]);
    expect(g.agentHeapCodeAfterGc!.slopeMiBPerHour).toBeCloseTo(4, 1);
    expect(g.agentHeapUsedAfterGc!.slopeMiBPerHour).toBeCloseTo(4, 1);
    expect(judgeGrowth(g).heap).toBe('pass');
  });

  it('is inconclusive, not passing, when the run is too short to see a leak', () => {
    const short = soak(0, 0, 0).filter((s) => s.t < 900);
    short.forEach((s, i) => (s.agent.heapUsedMiB += i % 12 === 0 ? 2 : 0));
    expect(judgeGrowth(growthTrends([short])).heap).toBe('inconclusive');
  });
});
