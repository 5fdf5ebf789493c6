/** The randomized election timeout: uniform, in priority bands, or ranked among a leader's successors. */
import type { ElectionConfig } from './election.js';
import type { Membership } from './membership.js';
import type { Random } from './random.js';

/** The least width of a ranked timeout window: an election (pre-vote, vote, a write) must fit in it. */
export const RANK_WINDOW_MS_MIN = 5;
/**
 * How much of its window a successor's timeout may wander: enough to keep two nodes that share a
 * slot (after membership views differ) apart, little enough for the first successor to go at once.
 */
const RANK_JITTER = 0.1;
/** How far into its window a hinted successor waits first, for the others' hints to arrive. */
const HINT_DELAY = 0.1;

/**
 * How far apart successors' timers fire: half a heartbeat (at least RANK_WINDOW_MS_MIN), so the
 * first successor's election (a pre-vote round trip, a durable write, a vote round trip) is over
 * before the second's timer fires, even on a loaded machine with a slow disk.
 */
export function hintWindowMs(config: ElectionConfig): number {
  return Math.max(RANK_WINDOW_MS_MIN, config.heartbeatMs / 2);
}

/** A successor's window of ranked timeouts: the hint window, never wider than the range shared among them. */
export function rankWindowMs(config: ElectionConfig, count: number): number {
  const spreadMs = config.electionTimeoutMaxMs - config.electionTimeoutMinMs;
  return Math.min(spreadMs / Math.max(1, count), hintWindowMs(config));
}

/** A uniformly random election timeout in [min, max] ms. */
export function randomTimeoutMs(config: ElectionConfig, random: Random): number {
  const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = config;
  return min + Math.floor(random.next() * (max - min + 1));
}

/**
 * An election timer re-armed with a fresh random timeout at each reset: for a follower of a known
 * leader with ranked timeouts on, uniform within its rank's window at the start of the range;
 * otherwise uniform over its priority band of the range (the whole range when every priority is
 * the same, as in the Raft paper).
 */
export class ElectionTimer {
  timeoutMs: number;
  deadline: number;

  constructor(
    private readonly config: ElectionConfig,
    private readonly random: Random,
    private readonly membership: Membership,
    now: number,
  ) {
    this.timeoutMs = this.draw(null);
    this.deadline = now + this.timeoutMs;
  }

  /** Re-arms the timer; `leader` is the leader this node follows, if any. */
  reset(now: number, leader: string | null = null): void {
    this.timeoutMs = this.draw(leader);
    this.deadline = now + this.timeoutMs;
  }

  private draw(leader: string | null): number {
    const slot = this.config.rankedTimeouts ? this.membership.slotUnder(leader) : null;
    if (slot !== null) {
      const windowMs = rankWindowMs(this.config, slot.count);
      return this.config.electionTimeoutMinMs + windowMs * (slot.index + RANK_JITTER * this.random.next());
    }
    const band = this.membership.band();
    if (band === null) return randomTimeoutMs(this.config, this.random);
    const widthMs = (this.config.electionTimeoutMaxMs - this.config.electionTimeoutMinMs) / band.count;
    return this.config.electionTimeoutMinMs + widthMs * (band.index + this.random.next());
  }

  /**
   * The leader seems to have crashed: fire early in this node's window from now rather than after
   * the election timeout (the first successor a little after the others heard it too, so that
   * they no longer trust the leader when its pre-vote arrives). Nothing changes for a node that is
   * not among the leader's successors.
   */
  hurry(now: number, leader: string): void {
    const slot = this.membership.slotUnder(leader);
    if (slot === null) return;
    const windowMs = hintWindowMs(this.config);
    this.timeoutMs = windowMs * (slot.index + HINT_DELAY + RANK_JITTER * this.random.next());
    this.deadline = Math.min(this.deadline, now + this.timeoutMs);
  }

  span(): { startedAt: number; dueAt: number } {
    return { startedAt: this.deadline - this.timeoutMs, dueAt: this.deadline };
  }
}
