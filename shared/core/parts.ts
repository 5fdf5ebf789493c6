/** Pieces the election algorithms share: randomized timers, transfer checks, contact ages. */
import { quorum, type ActionResult, type ElectionConfig, type Role } from './election.js';
import { DEFAULT_PRIORITY, byPriority } from './leadership.js';
import type { Random } from './random.js';

/** Sender, receiver and term: what every algorithm's messages carry besides their kind. */
export interface Envelope {
  from: string;
  to: string;
  term: number;
}

/**
 * Who is in the cluster from one node's point of view: its peers, the voters, the quorum, and
 * who may lead in which order (priorities, known to every node; shared/core/leadership.ts).
 */
export class Membership {
  readonly id: string;
  readonly members: readonly string[];
  readonly voters: ReadonlySet<string>;
  /** Every other member: heartbeats go to all of them. */
  readonly peers: readonly string[];
  /** Every other voter: vote requests go to them. */
  readonly voterPeers: readonly string[];
  /** Whether this node votes (a priority-0 voter votes but never leads). */
  readonly votes: boolean;
  readonly quorum: number;
  private priorities: Readonly<Record<string, number>>;
  /** Orders derived from the priorities, computed once per table (a follower asks at every heartbeat). */
  private readonly successors = new Map<string | null, string[]>();
  private bandOf: TimerSlot | null | undefined;

  constructor(id: string, members: readonly string[], voters: readonly string[] = members, priorities: Readonly<Record<string, number>> = {}) {
    this.id = id;
    this.members = members;
    this.voters = new Set(voters.filter((voter) => members.includes(voter)));
    this.peers = members.filter((member) => member !== id);
    this.voterPeers = this.peers.filter((peer) => this.voters.has(peer));
    this.votes = this.voters.has(id);
    this.quorum = quorum(this.voters.size);
    this.priorities = priorities;
  }

  isMember(id: string): boolean {
    return this.members.includes(id);
  }

  setPriorities(priorities: Readonly<Record<string, number>>): void {
    this.priorities = priorities;
    this.successors.clear();
    this.bandOf = undefined;
  }

  priority(id: string): number {
    return this.priorities[id] ?? DEFAULT_PRIORITY;
  }

  /** A voter whose priority is above 0. */
  canLead(id: string): boolean {
    return this.voters.has(id) && this.priority(id) > 0;
  }

  /** Whether `a` comes before `b` in rank order: a higher priority first, then member order. */
  ranksBefore(a: string, b: string): boolean {
    const [priorityA, priorityB] = [this.priority(a), this.priority(b)];
    return priorityA !== priorityB ? priorityA > priorityB : this.members.indexOf(a) < this.members.indexOf(b);
  }

  /**
   * This node's place among the members that would replace `leader` (those that may lead, the
   * leader left out, by priority and then member order): the first times out first. Null when
   * this node may not lead, or when the leader is unknown.
   */
  slotUnder(leader: string | null): TimerSlot | null {
    if (leader === null || !this.canLead(this.id)) return null;
    let successors = this.successors.get(leader);
    if (successors === undefined) {
      successors = byPriority(this.members, (id) => (this.voters.has(id) ? this.priority(id) : 0), (id) => id === leader);
      this.successors.set(leader, successors);
    }
    const index = successors.indexOf(this.id);
    return index < 0 ? null : { index, count: successors.length };
  }

  /**
   * With no leader to rank under: this node's band of the timeout range, one band per distinct
   * priority among the members that may lead (the highest first), so that higher priorities time
   * out sooner. Null (the whole range) when all share one priority or this node may not lead.
   */
  band(): TimerSlot | null {
    if (this.bandOf !== undefined) return this.bandOf;
    const levels = [...new Set([...this.voters].map((id) => this.priority(id)).filter((priority) => priority > 0))].sort((a, b) => b - a);
    this.bandOf = !this.canLead(this.id) || levels.length < 2 ? null : { index: levels.indexOf(this.priority(this.id)), count: levels.length };
    return this.bandOf;
  }
}

/** A node's place in the order in which nodes would time out: among a leader's successors, or among priority bands. */
export interface TimerSlot {
  index: number;
  count: number;
}

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

/** A leadership transfer in progress: to whom, and until when the target may act on it. */
export interface Transfer {
  target: string;
  deadline: number;
}

/** Starts a transfer that expires after the maximum election timeout, as etcd's does. */
export function startTransfer(config: ElectionConfig, target: string, now: number): Transfer {
  return { target, deadline: now + config.electionTimeoutMaxMs };
}

/** Why a node cannot hand leadership to `target`, or null when it can. */
export function transferRefusal(node: { id: string; role: Role; membership: Membership }, target: string): ActionResult | null {
  if (node.role !== 'leader') return { ok: false, error: `${node.id} is not the leader` };
  if (target === node.id) return { ok: false, error: `${node.id} already leads` };
  if (!node.membership.peers.includes(target)) return { ok: false, error: `${target} is not a member of this cluster` };
  if (!node.membership.voters.has(target)) return { ok: false, error: `${target} does not vote, so it cannot lead` };
  if (!node.membership.canLead(target)) return { ok: false, error: `${target} has priority 0, so it never leads` };
  return null;
}

/** How long ago each peer was last heard from, for the detail view. */
export function contactAges(lastContact: ReadonlyMap<string, number>, now: number): Record<string, number> {
  return Object.fromEntries([...lastContact].map(([peer, at]) => [peer, Math.max(0, now - at)]));
}

/**
 * Check-quorum, or a leader lease: a leader must hear from a majority every (minimum) election
 * timeout or step down, and a node that heard from its leader within that time trusts it
 * (ignoring rivals). Only in force when the config enables check-quorum.
 */
export class QuorumLease {
  /** When the leader next checks that a majority answered (Infinity when not leading). */
  deadline = Infinity;
  private answered = new Set<string>();
  /** Last time the leader was known to be alive: heard from, or (as leader) a check passed. */
  private contactAt = -Infinity;

  constructor(
    private readonly config: ElectionConfig,
    private readonly membership: Membership,
  ) {}

  /** A new leader begins its first period. */
  lead(now: number): void {
    this.answered = new Set();
    this.contactAt = now;
    this.deadline = this.config.checkQuorum ? now + this.config.electionTimeoutMinMs : Infinity;
  }

  /** A peer answered the leader in this period (only voters count). */
  answer(peer: string): void {
    if (this.membership.voters.has(peer)) this.answered.add(peer);
  }

  /** At the deadline: true and a new period if a majority of voters answered; false means step down. */
  renew(now: number): boolean {
    if (this.answered.size + 1 < this.membership.quorum) return false;
    this.lead(now);
    return true;
  }

  /** Heard from the leader it follows. */
  heardFromLeader(now: number): void {
    this.contactAt = now;
  }

  /** The leader seems to have crashed: it is no longer trusted over a rival. */
  leaderLost(): void {
    this.contactAt = -Infinity;
  }

  /** No longer leading. */
  stop(): void {
    this.deadline = Infinity;
  }

  /** Whether a known leader was alive recently enough to be trusted over a rival (check-quorum only). */
  holds(now: number, leaderKnown: boolean): boolean {
    return this.config.checkQuorum && this.leaderHeardRecently(now, leaderKnown);
  }

  /** Heard from a valid leader within the minimum election timeout, whatever the config. */
  leaderHeardRecently(now: number, leaderKnown: boolean): boolean {
    return leaderKnown && now - this.contactAt < this.config.electionTimeoutMinMs;
  }
}
