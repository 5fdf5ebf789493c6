/** Pieces the election algorithms share: randomized timers, transfer checks, contact ages. */
import { quorum, type ActionResult, type ElectionConfig, type Role } from './election.js';
import type { Random } from './random.js';

/** Sender, receiver and term: what every algorithm's messages carry besides their kind. */
export interface Envelope {
  from: string;
  to: string;
  term: number;
}

/** Who is in the cluster from one node's point of view: its peers, the voters, the quorum. */
export class Membership {
  readonly members: readonly string[];
  readonly voters: ReadonlySet<string>;
  /** Every other member: heartbeats go to all of them. */
  readonly peers: readonly string[];
  /** Every other voter: vote requests go to them. */
  readonly voterPeers: readonly string[];
  /** Whether this node votes and may lead. */
  readonly votes: boolean;
  readonly quorum: number;

  constructor(id: string, members: readonly string[], voters: readonly string[] = members) {
    this.members = members;
    this.voters = new Set(voters.filter((voter) => members.includes(voter)));
    this.peers = members.filter((member) => member !== id);
    this.voterPeers = this.peers.filter((peer) => this.voters.has(peer));
    this.votes = this.voters.has(id);
    this.quorum = quorum(this.voters.size);
  }

  isMember(id: string): boolean {
    return this.members.includes(id);
  }

  /** Whether `a` comes before `b` in rank (member) order. */
  ranksBefore(a: string, b: string): boolean {
    return this.members.indexOf(a) < this.members.indexOf(b);
  }

  /**
   * This node's place among the voters that would replace `leader` (in member order, the leader
   * left out): the first times out first. Null for a non-voter, or when the leader is unknown.
   */
  slotUnder(id: string, leader: string | null): TimerSlot | null {
    if (leader === null || !this.votes) return null;
    const successors = this.members.filter((member) => member !== leader && this.voters.has(member));
    const index = successors.indexOf(id);
    return index < 0 ? null : { index, count: successors.length };
  }
}

/** A follower's place in the order in which the leader's successors would time out. */
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
 * An election timer re-armed with a fresh random timeout at each reset: uniform over the whole
 * range, or, for a follower of a known leader with ranked timeouts on, uniform within its rank's
 * window at the start of the range.
 */
export class ElectionTimer {
  timeoutMs: number;
  deadline: number;

  constructor(
    private readonly config: ElectionConfig,
    private readonly random: Random,
    now: number,
  ) {
    this.timeoutMs = randomTimeoutMs(config, random);
    this.deadline = now + this.timeoutMs;
  }

  reset(now: number, slot: TimerSlot | null = null): void {
    if (slot === null || !this.config.rankedTimeouts) {
      this.timeoutMs = randomTimeoutMs(this.config, this.random);
    } else {
      const windowMs = rankWindowMs(this.config, slot.count);
      this.timeoutMs = this.config.electionTimeoutMinMs + windowMs * (slot.index + RANK_JITTER * this.random.next());
    }
    this.deadline = now + this.timeoutMs;
  }

  /**
   * The leader seems to have crashed: fire early in this node's window from now rather than after
   * the election timeout (the first successor a little after the others heard it too, so that
   * they no longer trust the leader when its pre-vote arrives).
   */
  hurry(now: number, slot: TimerSlot): void {
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
