/**
 * The model's record of a run: each event gets its seq, its cluster time (the clock's, or a
 * remote node's own moment translated to it, never before the last event, so the record stays
 * ordered) and its wall-clock time, is kept in the run's event log and handed on.
 */
import { EventLog } from '../../../shared/analysis/event-log.js';
import type { ClusterEvent, ClusterEventBody } from '../../../shared/protocol/types.js';
import type { Clock } from '../../runtime/clock.js';

export class EventRecorder {
  private readonly log = new EventLog({ trimChunk: 1_000 });
  private nextSeq = 1;
  /** While set (see `at`), events are stamped with this cluster time instead of the clock's. */
  private stampT: number | null = null;
  private lastT = 0;

  constructor(
    private readonly clock: Clock,
    /** Told every event as it is recorded. */
    private readonly recorded: (event: ClusterEvent) => void,
  ) {}

  /**
   * Runs `report` with the events it records stamped at cluster time `t` (what a remote node
   * did, translated to this clock), yet never before the last event: the record stays ordered.
   */
  at<T>(t: number, report: () => T): T {
    this.stampT = Math.min(t, this.clock.now());
    try {
      return report();
    } finally {
      this.stampT = null;
    }
  }

  /** The time events are stamped with now. */
  now(): number {
    return Math.max(this.lastT, this.stampT ?? this.clock.now());
  }

  /** The wall-clock time of cluster time `t`. */
  wallAt(t: number): number {
    return this.clock.wallNow() - (this.clock.now() - t);
  }

  record(body: ClusterEventBody): void {
    const t = this.now();
    this.lastT = t;
    const event = { ...body, seq: this.nextSeq++, t, at: this.wallAt(t) } as ClusterEvent;
    this.log.append(event);
    this.recorded(event);
  }

  /** The most recent events, oldest first. */
  history(limit?: number): ClusterEvent[] {
    return this.log.history(limit);
  }

  /** The seq of the last event recorded (0 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
}
