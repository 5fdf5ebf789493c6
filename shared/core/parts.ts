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
}

/** A uniformly random election timeout in [min, max] ms. */
export function randomTimeoutMs(config: ElectionConfig, random: Random): number {
  const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = config;
  return min + Math.floor(random.next() * (max - min + 1));
}

/** An election timer re-armed with a fresh random timeout at each reset. */
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

  reset(now: number): void {
    this.timeoutMs = randomTimeoutMs(this.config, this.random);
    this.deadline = now + this.timeoutMs;
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
