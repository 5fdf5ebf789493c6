/** The backoff of every retry loop (shared/core/backoff.ts): bounds, growth, reset, jitter from the seed. */
import { describe, expect, it } from 'vitest';
import { Backoff, type BackoffOptions } from '../../shared/core/backoff.js';
import { createRandom } from '../../shared/core/random.js';

const delays = (backoff: Backoff, count: number): number[] => Array.from({ length: count }, () => backoff.next());

describe('backoff', () => {
  it('stays within [delayMsMin, delayMsMax] at every attempt, for every jitter', () => {
    for (const jitter of ['full', 'equal', 0, 0.25, 1] as const) {
      const backoff = new Backoff({ delayMsMin: 50, delayMsMax: 2_000, jitter }, createRandom(11));
      for (const delayMs of delays(backoff, 1_000)) {
        expect(delayMs).toBeGreaterThanOrEqual(50);
        expect(delayMs).toBeLessThanOrEqual(2_000);
      }
    }
  });

  it('grows by the factor from the minimum to the cap: without jitter, the ceiling itself', () => {
    expect(delays(new Backoff({ delayMsMin: 10, delayMsMax: 1_000, jitter: 0 }, createRandom(1)), 9)).toEqual([10, 20, 40, 80, 160, 320, 640, 1_000, 1_000]);
    expect(delays(new Backoff({ delayMsMin: 100, delayMsMax: 1_000, factor: 3, jitter: 0 }, createRandom(1)), 4)).toEqual([100, 300, 900, 1_000]);
  });

  it('draws each wait below its ceiling: full from the minimum, equal from half the ceiling', () => {
    const ceilingsMs = [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000];
    for (let seed = 1; seed <= 50; seed++) {
      const full = delays(new Backoff({ delayMsMin: 250, delayMsMax: 5_000, jitter: 'full' }, createRandom(seed)), ceilingsMs.length);
      const equal = delays(new Backoff({ delayMsMin: 250, delayMsMax: 5_000, jitter: 'equal' }, createRandom(seed)), ceilingsMs.length);
      ceilingsMs.forEach((ceilingMs, attempt) => {
        expect(full[attempt]).toBeGreaterThanOrEqual(250);
        expect(full[attempt]).toBeLessThanOrEqual(ceilingMs);
        expect(equal[attempt]).toBeGreaterThanOrEqual(Math.max(250, ceilingMs / 2));
        expect(equal[attempt]).toBeLessThanOrEqual(ceilingMs);
      });
    }
  });

  it('at the cap, still spreads the waits over the jittered range', () => {
    const backoff = new Backoff({ delayMsMin: 50, delayMsMax: 2_000, jitter: 'equal' }, createRandom(5));
    delays(backoff, 10);
    const atCap = delays(backoff, 200);
    expect(Math.min(...atCap)).toBeLessThan(1_100);
    expect(Math.max(...atCap)).toBeGreaterThan(1_900);
  });

  it('starts again from the minimum once reset', () => {
    const backoff = new Backoff({ delayMsMin: 10, delayMsMax: 1_000, jitter: 0 }, createRandom(1));
    delays(backoff, 5);
    backoff.reset();
    expect(delays(backoff, 3)).toEqual([10, 20, 40]);
  });

  it('gives the same waits for the same seed, and other waits for another fork', () => {
    const options: BackoffOptions = { delayMsMin: 50, delayMsMax: 2_000, jitter: 'full' };
    const random = createRandom(7);
    const first = delays(new Backoff(options, random.fork('backoff')), 12);
    expect(delays(new Backoff(options, createRandom(7).fork('backoff')), 12)).toEqual(first);
    const other = delays(new Backoff(options, random.fork('another')), 12);
    // The first wait is the minimum whatever the draw; the rest differ.
    expect(other.slice(1).every((delayMs, index) => delayMs !== first[index + 1])).toBe(true);
  });

  it('refuses options that cannot make a schedule, naming the option', () => {
    const random = createRandom(1);
    expect(() => new Backoff({ delayMsMin: 0, delayMsMax: 10, jitter: 'full' }, random)).toThrow(/delayMsMin \(0\)/);
    expect(() => new Backoff({ delayMsMin: 20, delayMsMax: 10, jitter: 'full' }, random)).toThrow(/delayMsMax \(10\) must be at least delayMsMin \(20\)/);
    expect(() => new Backoff({ delayMsMin: 10, delayMsMax: 20, factor: 0.5, jitter: 'full' }, random)).toThrow(/factor \(0.5\)/);
    expect(() => new Backoff({ delayMsMin: 10, delayMsMax: 20, jitter: 1.5 }, random)).toThrow(/jitter \(1.5\)/);
    expect(() => new Backoff({ delayMsMin: 10, delayMsMax: 20, jitter: Number.NaN }, random)).toThrow(/jitter \(NaN\)/);
  });
});
