/**
 * A hold that lapses unless renewed: a console's fault table, a kill or a pause. One timer per
 * lease: a renewal only moves the expiry, and a timer that fires before it is armed again for the
 * new expiry. (Re-arming on every renewal would leave each cancelled timer in the clock's queue
 * until its time: a console renewing 200 times a second a 600 s lease, 120,000 of them.)
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';

export class Lease {
  private expiresAt: number;
  private timer: TimerHandle | null;

  constructor(
    private readonly clock: Clock,
    readonly leaseMs: number,
    /** The lease ran out: nobody renewed it in time. Not called after cancel(). */
    private readonly onLapse: () => void,
  ) {
    this.expiresAt = clock.now() + leaseMs;
    this.timer = clock.setTimer(this.expiresAt, this.fire);
  }

  /** Whether it still holds: neither lapsed nor cancelled. */
  get active(): boolean {
    return this.timer !== null;
  }

  expiresInMs(): number {
    return this.active ? Math.max(0, this.expiresAt - this.clock.now()) : 0;
  }

  /** Extends it by leaseMs from now; false when it already lapsed or was cancelled. */
  renew(): boolean {
    if (!this.active) return false;
    this.expiresAt = this.clock.now() + this.leaseMs;
    return true;
  }

  cancel(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private readonly fire = (): void => {
    if (this.timer === null) return;
    if (this.expiresAt > this.clock.now()) {
      this.timer = this.clock.setTimer(this.expiresAt, this.fire);
      return;
    }
    this.timer = null;
    this.onLapse();
  };
}
