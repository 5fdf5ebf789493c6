/**
 * Reports of something that may repeat fast (a refused message, a flood), said at most twice per
 * window and key: the first at once, then one with the count of what came after it in the window.
 * Timers are injected, so the same code runs on a virtual clock and on real time.
 */

export type SetTimer = (delayMs: number, fire: () => void) => void;

export class ThrottledReport<K, V> {
  private readonly open = new Map<K, { latest: V; count: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly setTimer: SetTimer,
    /** Says `count` occurrences under `key`, the latest of them `latest`. */
    private readonly report: (key: K, latest: V, count: number) => void,
  ) {}

  /** `count` occurrences at once (one, unless they were counted elsewhere already). */
  add(key: K, value: V, count = 1): void {
    const open = this.open.get(key);
    if (open !== undefined) {
      open.latest = value;
      open.count += count;
      return;
    }
    this.report(key, value, count);
    const window = { latest: value, count: 0 };
    this.open.set(key, window);
    this.setTimer(this.windowMs, () => {
      this.open.delete(key);
      if (window.count > 0) this.report(key, window.latest, window.count);
    });
  }
}
