/**
 * A leader's watch over its followers for leadership to move on its own (Raft and Paxos), with
 * the transfer they already have (TimeoutNow):
 * - priority takeover (MongoDB's): a follower of higher priority than the leader that has
 *   answered every heartbeat round for `takeoverAfterMs` (reachable and healthy: an answer within
 *   every minimal election timeout, the window check-quorum uses) gets leadership: the highest
 *   priority reachable, once it has been so for the whole period (never a lower one that happened
 *   to be steady sooner, which would hand over twice). A change of priorities starts the period
 *   over;
 * - a leader whose own priority became 0 hands over at once to the best reachable follower;
 * - the preferred-leader rule, among the reachable members of the top priority present: a
 *   follower whose value beats the leader's by more than the margin, on every answer for
 *   `stableMs`, gets leadership (hysteresis: noise within the margin, or shorter than the stable
 *   period, moves nothing).
 * Followers advertise the one number the rule reads in their heartbeat replies (`metric`).
 * A transfer that expires without effect restarts that follower's streak, so an attempt that
 * cannot succeed is repeated at most once per period.
 */
import type { ActionResult, ElectionConfig, Notice } from './election.js';
import {
  beatsByMargin,
  byPriority,
  priorityIn,
  ruleValue,
  takeoverDelayMs,
  withPriority,
  type Capabilities,
  type LeadershipConfig,
  type PreferredLeaderRule,
} from './leadership.js';
import type { Membership } from './membership.js';

/** Leadership should go to `target`; `reason` says why in words, for the event log. */
export interface TakeoverDecision {
  target: string;
  reason: string;
}

export interface FollowerTrack {
  answeredAt: number;
  /** Since when it has answered without a gap of a minimal election timeout. */
  reachableSince: number;
  /** The rule's value in its last answer. */
  metric: number | null;
  /** Since when its value has beaten the leader's by the margin on every answer, or null. */
  preferredSince: number | null;
}

export class TakeoverWatch {
  private readonly followers = new Map<string, FollowerTrack>();
  private leadership: LeadershipConfig;
  private ownMetric: number | null;
  /** The highest priority of any member. */
  private highestPriority: number;

  constructor(
    private readonly config: ElectionConfig,
    private readonly membership: Membership,
    leadership: LeadershipConfig,
    private capabilities: Capabilities,
  ) {
    this.leadership = leadership;
    this.ownMetric = ruleValue(leadership.preferredLeader, capabilities);
    this.highestPriority = this.highestOf(leadership);
  }

  private highestOf(leadership: LeadershipConfig): number {
    return Math.max(...this.membership.members.map((id) => priorityIn(leadership, id)));
  }

  /** What this node advertises in its heartbeat replies: the rule's value, or null (nothing sent) when no rule is set. */
  get metric(): number | null {
    return this.ownMetric;
  }

  get rule(): PreferredLeaderRule | null {
    return this.leadership.preferredLeader;
  }

  /** New priorities restart every follower's period: a node must have been reachable *and* of higher priority for all of it. */
  setLeadership(leadership: LeadershipConfig, now: number): void {
    const reprioritized = this.membership.members.some((id) => priorityIn(leadership, id) !== priorityIn(this.leadership, id));
    this.leadership = leadership;
    this.highestPriority = this.highestOf(leadership);
    if (reprioritized) for (const track of this.followers.values()) track.reachableSince = Math.max(track.reachableSince, now);
    this.remeasure(now);
  }

  setCapabilities(capabilities: Capabilities, now: number): void {
    this.capabilities = capabilities;
    this.remeasure(now);
  }

  /** A new leadership period: nothing is known of the followers yet. */
  lead(): void {
    this.followers.clear();
  }

  /** A follower answered a heartbeat of this leader's, advertising `metric`. (Every heartbeat: updated in place.) */
  answered(peer: string, metric: number | null, now: number): void {
    let track = this.followers.get(peer);
    if (track === undefined || !this.reachableAt(track, now)) {
      track = { answeredAt: now, reachableSince: now, metric, preferredSince: null };
      this.followers.set(peer, track);
    } else {
      track.answeredAt = now;
      track.metric = metric;
    }
    this.judge(track, now);
  }

  /**
   * For a leader with no transfer under way (`free`): decides, starts the transfer through
   * `transfer`, and returns the notice that says why; null when leadership stays.
   */
  consider(now: number, free: boolean, transfer: (target: string) => ActionResult): Notice | null {
    if (!free) return null;
    const decision = this.decide(now);
    if (decision === null || !transfer(decision.target).ok) return null;
    return { kind: 'transfer', to: decision.target, reason: decision.reason };
  }

  /** A transfer to `target` expired without effect: wait a whole period again before retrying it. */
  failed(target: string, now: number): void {
    const track = this.followers.get(target);
    if (track === undefined) return;
    track.reachableSince = now;
    track.preferredSince = null;
  }

  /** Where leadership should go now, and why; null to keep it. */
  decide(now: number): TakeoverDecision | null {
    const self = this.membership.id;
    const own = this.membership.priority(self);
    // Nobody outranks this leader and no rule is set (the usual case, checked at every heartbeat).
    if (own > 0 && own >= this.highestPriority && this.leadership.preferredLeader === null) return null;
    const reachable = [...this.followers].filter(([peer, track]) => this.membership.canLead(peer) && this.reachableAt(track, now));
    const priority = (id: string): number => this.membership.priority(id);
    if (own === 0) {
      const target = byPriority(reachable.map(([peer]) => peer).sort(this.memberOrder), priority)[0];
      if (target === undefined) return null;
      return { target, reason: `${self} has priority 0: hands over to ${withPriority(target, priority(target))}` };
    }
    // The highest priority reachable, once one of them has been reachable for the whole period
    // (not a lower one that happens to be steady sooner: that would hand over twice).
    const top = Math.max(own, ...reachable.map(([peer]) => priority(peer)));
    if (top > own) {
      const delayMs = takeoverDelayMs(this.config, this.leadership);
      const steady = reachable.filter(([peer, track]) => priority(peer) === top && now - track.reachableSince >= delayMs).map(([peer]) => peer);
      const target = steady.sort(this.memberOrder)[0];
      if (target === undefined) return null;
      return { target, reason: `priority takeover: ${withPriority(target, top)} over ${withPriority(self, own)}` };
    }
    return this.preferred(reachable, own, now);
  }

  inspect(now: number): Record<string, unknown> {
    return Object.fromEntries(
      [...this.followers].map(([peer, track]) => [
        peer,
        {
          reachableForMs: this.reachableAt(track, now) ? now - track.reachableSince : null,
          metric: track.metric,
          preferredForMs: track.preferredSince === null ? null : now - track.preferredSince,
        },
      ]),
    );
  }

  /** The rule: among the reachable members of the leader's priority (the top one present), the best value that has beaten the leader's long enough. */
  private preferred(reachable: Array<[string, FollowerTrack]>, own: number, now: number): TakeoverDecision | null {
    const rule = this.leadership.preferredLeader;
    if (rule === null) return null;
    let best: [string, number] | null = null;
    for (const [peer, track] of reachable) {
      if (this.membership.priority(peer) !== own || track.preferredSince === null || now - track.preferredSince < rule.stableMs) continue;
      if (track.metric !== null && (best === null || beatsByMargin({ ...rule, margin: 0 }, track.metric, best[1]))) best = [peer, track.metric];
    }
    if (best === null) return null;
    const shown = (value: number | null): string => (value === null ? 'none reported' : String(value));
    return {
      target: best[0],
      reason: `preferred leader (${rule.prefer} ${rule.capability}): ${best[0]} (${rule.capability} ${shown(best[1])}) over ${this.membership.id} (${rule.capability} ${shown(this.ownMetric)})`,
    };
  }

  /** Answered within a minimal election timeout. (Protected so that the mutation suite can break it on purpose.) */
  protected reachableAt(track: FollowerTrack, now: number): boolean {
    return now - track.answeredAt < this.config.electionTimeoutMinMs;
  }

  /** Whether a follower's last value still beats the leader's; its streak goes on or starts over. (Protected for the mutation suite.) */
  protected judge(track: FollowerTrack, now: number): void {
    const rule = this.leadership.preferredLeader;
    const beats = rule !== null && beatsByMargin(rule, track.metric, this.ownMetric);
    track.preferredSince = beats ? (track.preferredSince ?? now) : null;
  }

  /** The rule or this node's own value changed: every follower is judged again against it. */
  private remeasure(now: number): void {
    this.ownMetric = ruleValue(this.leadership.preferredLeader, this.capabilities);
    for (const track of this.followers.values()) this.judge(track, now);
  }

  private readonly memberOrder = (a: string, b: string): number => this.membership.members.indexOf(a) - this.membership.members.indexOf(b);
}
