/**
 * The one interface every election algorithm implements (see docs/architecture.md).
 *
 * A node is a pure state machine: the runtime feeds it time (`tick`) and messages (`step`),
 * then drains `ready()` and must persist `ready.persist` before sending `ready.messages`, and
 * tell the node with `persisted(state)` once the write is durable (etcd's Ready / Advance).
 * Nothing in an implementation may touch timers, sockets, Date.now() or Math.random().
 */
import type { Capabilities, LeadershipConfig } from './leadership.js';
import type { Random } from './random.js';

export const ALGORITHMS = ['raft', 'bully', 'paxos'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];

export const ROLES = ['leader', 'candidate', 'precandidate', 'follower'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The highest term (election number, ballot) any node reaches, far below 2^53 where `term + 1`
 * stops counting: the wire refuses higher ones, a durable state above it is not read, and a
 * node that reached it does not campaign (or prepare, or announce) again.
 */
export const TERM_MAX = 2 ** 50;

/** Whether `term` is one a node may hold: an integer from 0 to TERM_MAX. */
export function isTerm(term: unknown): term is number {
  return typeof term === 'number' && Number.isInteger(term) && term >= 0 && term <= TERM_MAX;
}

/** Sender, receiver and term: what every algorithm's messages carry besides their kind. */
export interface Envelope {
  from: string;
  to: string;
  /** The sender's term (election number for Bully, ballot for Paxos). */
  term: number;
}

/** Every wire message carries these; `kind` is the algorithm's own message type. */
export interface Message extends Envelope {
  kind: string;
}

/** What the node must keep across a crash. Opaque to the runtime; JSON-serializable. */
export type DurableState = Record<string, string | number | null>;

/** What everyone can observe of a node. */
export interface NodeStatus {
  role: Role;
  term: number;
  /** Whom this node voted for (or promised) in `term`; null if nobody. */
  votedFor: string | null;
  /** The leader this node follows in `term`; itself when leading; null if unknown. */
  leaderId: string | null;
}

/** Whether two statuses say the same (a missing one is never the same as any). */
export function sameNodeStatus(a: NodeStatus | null, b: NodeStatus | null): boolean {
  return a !== null && b !== null && a.role === b.role && a.term === b.term && a.votedFor === b.votedFor && a.leaderId === b.leaderId;
}

export interface Ready {
  /**
   * Set when durable state changed since the last ready(): persist it before any of `messages`
   * leaves, then confirm with `persisted(state)`.
   */
  persist: DurableState | null;
  messages: Message[];
  /** The latest time at which `tick` must be called next (Infinity: no timer pending). */
  wakeAt: number;
  /** What the node decided on its own since the last ready(), with why: for the runtime's record. */
  notices: Notice[];
}

/** The node started handing leadership to `to` on its own (priority takeover, the preferred-leader rule). */
export interface Notice {
  kind: 'transfer';
  to: string;
  reason: string;
}

export interface ElectionConfig {
  heartbeatMs: number;
  electionTimeoutMinMs: number;
  electionTimeoutMaxMs: number;
  /** Raft: a node that cannot win does not bump terms (pre-vote). */
  preVote: boolean;
  /** Raft: a leader that hears from no majority within an election timeout steps down. */
  checkQuorum: boolean;
  /**
   * Raft, Paxos: followers of a known leader draw their election timeout from short windows in
   * rank order (the leader left out), so that one follower goes first and votes rarely split;
   * off, every timeout is uniform over [min, max], as in the Raft paper.
   */
  rankedTimeouts: boolean;
}

export const DEFAULT_ELECTION_CONFIG: ElectionConfig = {
  heartbeatMs: 50,
  electionTimeoutMinMs: 150,
  electionTimeoutMaxMs: 300,
  preVote: true,
  checkQuorum: true,
  rankedTimeouts: true,
};

export interface NodeOptions {
  id: string;
  /** Every member of the cluster, this node included, in rank order (n1, n2, ...). */
  members: readonly string[];
  /**
   * The members that vote and may lead (etcd's voters; the rest are learners that follow and
   * never campaign or count towards a quorum). All members when left out.
   */
  voters?: readonly string[];
  config: ElectionConfig;
  /** Every member's priority and the rules that move leadership (shared/core/leadership.ts); the defaults when left out. */
  leadership?: LeadershipConfig;
  /** What this node advertises about itself; none when left out. */
  capabilities?: Capabilities;
  random: Random;
  /** Durable state from before a crash, or null on first boot. */
  durable: DurableState | null;
  now: number;
  /** How much faster or slower than real time any member's clock may run (the leader lease's margin, lease.ts); 1% when left out. */
  clockDriftMax?: number;
}

/** A view of a node's internals for the node-detail panel; values must be JSON-serializable. */
export type NodeInspection = Record<string, unknown>;

/** A vote (promise) some message shows was given: by `voter` to `candidate` in `term` (ballot). */
export interface VoteGrant {
  voter: string;
  candidate: string;
  term: number;
}

export type ActionResult = { ok: true } | { ok: false; error: string };

/**
 * Something the runtime noticed that the protocol did not say: a peer's connection closed
 * without a goodbye, which is what a crashed process looks like (its kernel closes its sockets).
 * A hint may be wrong (a flaky network), so a node may only act on it as it would on a timeout.
 */
export interface Hint {
  kind: 'peer-down';
  peer: string;
}

export interface ElectionNode {
  readonly id: string;
  tick(now: number): void;
  /** Messages of another algorithm or with malformed fields are ignored. */
  step(message: Message, now: number): void;
  ready(): Ready;
  /** The runtime confirms that `state` (handed out by ready()) is durable. */
  persisted(state: DurableState): void;
  status(): NodeStatus;
  inspect(now: number): NodeInspection;
  /** The election timer (or Bully's wait) that is running: when it started and when it fires; null for a leader. */
  electionTimer(): { startedAt: number; dueAt: number } | null;
  /** Hand leadership to `target` (etcd's move-leader); the error says why when it cannot. */
  transferLeadership(target: string, now: number): ActionResult;
  /** Takes a runtime's hint (a peer that seems to have crashed) into account. */
  hint(hint: Hint, now: number): void;
  /** Every member's priority or the leadership rules changed; the runtime tells every node the same table. */
  setLeadership(leadership: LeadershipConfig, now: number): void;
  /** This node's own capabilities changed. */
  setCapabilities(capabilities: Capabilities, now: number): void;
  /**
   * When the leader lease this node holds ends (its clock): it may claim leadership to
   * applications until then. Null while it holds none; always null for an algorithm without
   * leases (Bully, whose coordinators need no majority).
   */
  leaseExpiresAt(now: number): number | null;
}

export function quorum(memberCount: number): number {
  return Math.floor(memberCount / 2) + 1;
}
