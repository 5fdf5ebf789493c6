/**
 * Exponential backoff with jitter, for the loops that try again after a failure (a peer's redial,
 * a call to etcd, a crashed child's restart, a durable write). Before each attempt the wait has a
 * ceiling that starts at delayMsMin and grows by `factor` per attempt up to delayMsMax; jitter draws
 * the wait at random below that ceiling, so that callers that failed together do not all try again
 * together (Marc Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog, 2015):
 *
 * - 'full': anywhere from delayMsMin to the ceiling (AWS's full jitter, which starts at 0): the
 *   fewest calls and the least work when many callers contend for one service;
 * - 'equal': from half the ceiling to the ceiling (AWS's equal jitter): never much sooner than the
 *   schedule without jitter, for a caller that contends with nobody but should not retry in step;
 * - a share in [0, 1]: that share of the ceiling is drawn at random ('full' is 1, 'equal' 0.5, 0 none).
 *
 * Every wait is within [delayMsMin, delayMsMax], so the first one, whose ceiling is delayMsMin, is
 * delayMsMin whatever the jitter. Each wait takes one draw from the injected random: a seed fixes them.
 */
import type { Random } from './random.js';

export type Jitter = 'full' | 'equal' | number;

export interface BackoffOptions {
  delayMsMin: number;
  delayMsMax: number;
  /** How much the ceiling grows per attempt: 2 (doubling) when left out. */
  factor?: number;
  jitter: Jitter;
}

export class Backoff {
  private readonly delayMsMin: number;
  private readonly delayMsMax: number;
  private readonly factor: number;
  /** The share of the ceiling drawn at random. */
  private readonly randomShare: number;
  private ceilingMs: number;

  constructor(
    options: BackoffOptions,
    private readonly random: Random,
  ) {
    const { delayMsMin, delayMsMax, factor = 2, jitter } = options;
    if (!(Number.isFinite(delayMsMin) && delayMsMin > 0)) throw new RangeError(`backoff: delayMsMin (${delayMsMin}) must be a number of milliseconds above 0`);
    if (!(Number.isFinite(delayMsMax) && delayMsMax >= delayMsMin)) throw new RangeError(`backoff: delayMsMax (${delayMsMax}) must be at least delayMsMin (${delayMsMin})`);
    if (!(Number.isFinite(factor) && factor >= 1)) throw new RangeError(`backoff: factor (${factor}) must be at least 1`);
    const randomShare = jitter === 'full' ? 1 : jitter === 'equal' ? 0.5 : jitter;
    if (!(randomShare >= 0 && randomShare <= 1)) throw new RangeError(`backoff: jitter (${jitter}) must be 'full', 'equal' or a share from 0 to 1`);
    this.delayMsMin = delayMsMin;
    this.delayMsMax = delayMsMax;
    this.factor = factor;
    this.randomShare = randomShare;
    this.ceilingMs = delayMsMin;
  }

  /** How long to wait before the next attempt, in milliseconds (not rounded); each call counts one more attempt. */
  next(): number {
    const delayMs = this.random.between(Math.max(this.delayMsMin, this.ceilingMs * (1 - this.randomShare)), this.ceilingMs);
    this.ceilingMs = Math.min(this.delayMsMax, this.ceilingMs * this.factor);
    return delayMs;
  }

  /** An attempt went through: the next failure waits from delayMsMin again. */
  reset(): void {
    this.ceilingMs = this.delayMsMin;
  }
}
