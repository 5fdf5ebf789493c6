/** The messages sent per kind, and those dropped, recorded as a `traffic` event once an interval. */
import type { ClusterEventBody } from '../../../shared/protocol/types.js';
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import type { Transit } from '../../runtime/fabric.js';

/** Messages sent per kind are recorded as a `traffic` event this often (cluster time). */
export const TRAFFIC_INTERVAL_MS = 1_000;

export class TrafficCounter {
  private counts = { sent: new Map<string, number>(), dropped: 0 };
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly record: (body: Extract<ClusterEventBody, { type: 'traffic' }>) => void,
  ) {}

  /** A message was sent (and delivered later, or dropped). */
  count(transit: Transit): void {
    if (transit.dropped === null) this.counts.sent.set(transit.message.kind, (this.counts.sent.get(transit.message.kind) ?? 0) + 1);
    else this.counts.dropped += 1;
  }

  start(): void {
    this.timer = this.clock.setTimer(this.clock.now() + TRAFFIC_INTERVAL_MS, () => {
      const { sent, dropped } = this.counts;
      if (sent.size > 0 || dropped > 0) {
        this.record({ type: 'traffic', intervalMs: TRAFFIC_INTERVAL_MS, sent: Object.fromEntries([...sent].sort()), dropped });
        this.counts = { sent: new Map(), dropped: 0 };
      }
      this.start();
    });
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
  }
}
