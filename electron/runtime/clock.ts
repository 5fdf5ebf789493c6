/**
 * Time for the runtime. Agents, the fabric and the cluster only see a Clock, so the same
 * code runs on real timers in the app (with slow motion and freeze) and on a virtual clock
 * in the simulator, where a seed fixes every timestamp.
 */
export interface TimerHandle {
  readonly at: number;
  cancelled: boolean;
}

export interface Clock {
  /** Cluster time in milliseconds since the clock started. Monotonic. */
  now(): number;
  /** Cluster time per wall time: 1 normal, below 1 slow motion, 0 frozen. */
  readonly speed: number;
  /** Changes the speed, where the clock can (a virtual clock has no wall time to scale). */
  setSpeed?(speed: number): void;
  /** Wall-clock epoch milliseconds for display (deterministic on the virtual clock). */
  wallNow(): number;
  setTimer(at: number, callback: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

interface TimerEntry extends TimerHandle {
  readonly seq: number;
  readonly callback: () => void;
}

/** A binary min-heap of timers ordered by (time, insertion order): ties fire in FIFO order. */
export class TimerQueue {
  private readonly heap: TimerEntry[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, callback: () => void): TimerEntry {
    const entry: TimerEntry = { at, seq: this.seq++, callback, cancelled: false };
    this.heap.push(entry);
    this.siftUp(this.heap.length - 1);
    return entry;
  }

  /** The earliest live timer, dropping cancelled ones on the way. */
  peek(): TimerEntry | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  pop(): TimerEntry | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top !== undefined && last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  clear(): void {
    for (const entry of this.heap) entry.cancelled = true;
    this.heap.length = 0;
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(heap[index]!, heap[parent]!)) return;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && this.less(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.less(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
  }
}

/** Deterministic time: nothing happens until `runUntil` advances it. */
export class VirtualClock implements Clock {
  private current = 0;
  private readonly queue = new TimerQueue();

  readonly speed = 1;

  constructor(private readonly epochMs = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  wallNow(): number {
    return this.epochMs + this.current;
  }

  setTimer(at: number, callback: () => void): TimerHandle {
    return this.queue.push(Math.max(at, this.current), callback);
  }

  clearTimer(handle: TimerHandle): void {
    handle.cancelled = true;
  }

  /**
   * Fires every timer due at or before `until`, in order, then sets the time to `until`.
   * At most `maxTimers` fire: a runaway (a timer that re-arms itself for "now") throws
   * instead of hanging.
   */
  runUntil(until: number, maxTimers = Number.MAX_SAFE_INTEGER): number {
    let fired = 0;
    for (let entry = this.queue.peek(); entry !== undefined && entry.at <= until; entry = this.queue.peek()) {
      if (fired++ >= maxTimers) throw new Error(`more than ${maxTimers} timers fired before t=${until} ms (stuck at t=${this.current} ms)`);
      this.queue.pop();
      this.current = entry.at;
      entry.callback();
    }
    this.current = Math.max(this.current, until);
    return fired;
  }
}

/**
 * Real time, scaled: cluster time runs at `speed` times wall time (0 freezes it), so slow
 * motion stretches every timeout and delay alike. One Node timer is armed for the earliest
 * cluster timer at any moment.
 */
export class RealClock implements Clock {
  private readonly queue = new TimerQueue();
  private anchorClockMs: number;
  private anchorWallMs = performance.now();
  private currentSpeed = 1;
  private armed: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  /**
   * `startMs` is the reading at start: 0 for the app's cluster time; a LAN agent passes
   * Date.now(), so that its times mean the same on every NTP-synced machine and still never
   * go backwards when the wall clock is stepped.
   */
  constructor(startMs = 0) {
    this.anchorClockMs = startMs;
  }

  get speed(): number {
    return this.currentSpeed;
  }

  now(): number {
    return this.anchorClockMs + (performance.now() - this.anchorWallMs) * this.currentSpeed;
  }

  wallNow(): number {
    return Date.now();
  }

  setTimer(at: number, callback: () => void): TimerHandle {
    const entry = this.queue.push(at, callback);
    if (this.queue.peek() === entry) this.arm();
    return entry;
  }

  clearTimer(handle: TimerHandle): void {
    handle.cancelled = true;
  }

  /** Changes the speed without a jump in cluster time; 0 freezes the cluster. */
  setSpeed(speed: number): void {
    this.anchorClockMs = this.now();
    this.anchorWallMs = performance.now();
    this.currentSpeed = speed;
    this.arm();
  }

  /** Cancels every timer; the clock never fires again. */
  stop(): void {
    this.stopped = true;
    this.queue.clear();
    if (this.armed !== null) clearTimeout(this.armed);
    this.armed = null;
  }

  private arm(): void {
    if (this.armed !== null) clearTimeout(this.armed);
    this.armed = null;
    const head = this.queue.peek();
    if (this.stopped || head === undefined || this.currentSpeed === 0) return;
    const delayMs = Math.max(0, (head.at - this.now()) / this.currentSpeed);
    this.armed = setTimeout(() => this.fire(), delayMs);
  }

  private fire(): void {
    this.armed = null;
    const now = this.now();
    // Bounded: timers a callback schedules for "now" run in the next turn, not in this loop.
    const due: TimerEntry[] = [];
    for (let entry = this.queue.peek(); entry !== undefined && entry.at <= now; entry = this.queue.peek()) {
      due.push(this.queue.pop()!);
    }
    for (const entry of due) if (!entry.cancelled) entry.callback();
    this.arm();
  }
}

/**
 * A node's own clock on top of another, drifting as a disciplined (NTP-synced) clock does: its
 * rate is 1 + drift for `slewPeriodMs` of base time, then 1 − drift for as long, and so on, so
 * that it is never more than |drift| × slewPeriodMs off the base clock while its rate is always
 * off by |drift|. With an infinite period it runs at 1 + drift for good. `phaseMs` says where in
 * the cycle it starts. The simulator gives each node one, within the lease's drift bound.
 */
export class DriftingClock implements Clock {
  private readonly origin: number;
  /** Where the clock starts in its cycle (base ms), and the cycle's reading there. */
  private readonly startU: number;
  private readonly startF: number;

  constructor(
    private readonly base: Clock,
    readonly drift: number,
    private readonly slewPeriodMs = Infinity,
    phaseMs = 0,
  ) {
    if (!(Math.abs(drift) < 1)) throw new RangeError(`a clock's drift must be under 1 (got ${drift})`);
    if (!(slewPeriodMs > 0)) throw new RangeError(`a clock's slew period must be positive (got ${slewPeriodMs})`);
    this.origin = base.now();
    this.startU = Number.isFinite(slewPeriodMs) ? ((phaseMs % (2 * slewPeriodMs)) + 2 * slewPeriodMs) % (2 * slewPeriodMs) : 0;
    this.startF = this.cycle(this.startU);
  }

  get speed(): number {
    return this.base.speed;
  }

  now(): number {
    return this.readingAt(this.base.now());
  }

  wallNow(): number {
    return this.base.wallNow();
  }

  /** The base clock's time at which this one reads `t`. */
  baseTimeAt(t: number): number {
    return this.origin + this.uncycle(t - this.origin + this.startF) - this.startU;
  }

  /** This clock's advance over `u` base ms from the start of a cycle. */
  private cycle(u: number): number {
    const d = this.drift;
    const period = this.slewPeriodMs;
    if (!Number.isFinite(period)) return u * (1 + d);
    const k = Math.floor(u / (2 * period));
    const w = u - 2 * k * period;
    return 2 * k * period + (w <= period ? w * (1 + d) : w * (1 - d) + 2 * d * period);
  }

  /** What this clock reads when the base clock reads `baseT`. */
  private readingAt(baseT: number): number {
    return this.origin + this.cycle(this.startU + (baseT - this.origin)) - this.startF;
  }

  /** The inverse of cycle. */
  private uncycle(v: number): number {
    const d = this.drift;
    const period = this.slewPeriodMs;
    if (!Number.isFinite(period)) return v / (1 + d);
    const k = Math.floor(v / (2 * period));
    const w = v - 2 * k * period;
    return 2 * k * period + (w <= period * (1 + d) ? w / (1 + d) : (w - 2 * d * period) / (1 - d));
  }

  /** A timer due at `at` (this clock) fires when this clock reads `at` or later: rounding never wakes it a hair early, or it would be set again and again. */
  setTimer(at: number, callback: () => void): TimerHandle {
    let baseAt = this.baseTimeAt(at);
    for (let step = 1e-9; this.readingAt(baseAt) < at; step *= 2) baseAt += step;
    const inner = this.base.setTimer(baseAt, callback);
    return {
      at,
      get cancelled() {
        return inner.cancelled;
      },
      set cancelled(value: boolean) {
        inner.cancelled = value;
      },
    };
  }

  clearTimer(handle: TimerHandle): void {
    handle.cancelled = true;
  }
}
