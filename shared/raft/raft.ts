/**
 * Raft leader election as a pure state machine (Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm", section 5.2), shaped like etcd's raft: the role
 * decides how a message is stepped and what a tick does; durable state (term, vote) is
 * handed out through `ready()` to be persisted before the messages that depend on it.
 *
 * There is no replicated log: heartbeats are empty AppendEntries, so any up-to-date node
 * may win. Time comes only from the `now` arguments; randomness only from `random`.
 */
import {
  quorum,
  type DurableState,
  type ElectionConfig,
  type ElectionNode,
  type Message,
  type NodeInspection,
  type NodeOptions,
  type NodeStatus,
  type Ready,
  type Role,
} from '../core/election.js';
import type { Random } from '../core/random.js';

export type RaftMessage =
  | { kind: 'RequestVote'; from: string; to: string; term: number }
  | { kind: 'RequestVoteResp'; from: string; to: string; term: number; granted: boolean }
  | { kind: 'Heartbeat'; from: string; to: string; term: number }
  | { kind: 'HeartbeatResp'; from: string; to: string; term: number };

export const RAFT_MESSAGE_KINDS = ['RequestVote', 'RequestVoteResp', 'Heartbeat', 'HeartbeatResp'] as const;

export function isRaftMessage(message: Message): message is RaftMessage {
  switch (message.kind) {
    case 'RequestVoteResp':
      return typeof (message as { granted?: unknown }).granted === 'boolean';
    case 'RequestVote':
    case 'Heartbeat':
    case 'HeartbeatResp':
      return true;
    default:
      return false;
  }
}

export interface RaftDurableState extends DurableState {
  term: number;
  votedFor: string | null;
}

export function readRaftDurable(durable: DurableState | null): RaftDurableState {
  const term = typeof durable?.term === 'number' && Number.isInteger(durable.term) && durable.term >= 0 ? durable.term : 0;
  const votedFor = typeof durable?.votedFor === 'string' ? durable.votedFor : null;
  return { term, votedFor };
}

export class RaftNode implements ElectionNode {
  readonly id: string;
  private readonly peers: string[];
  private readonly members: readonly string[];
  private readonly config: ElectionConfig;
  private readonly random: Random;

  private term: number;
  private votedFor: string | null;
  private role: Role = 'follower';
  private leaderId: string | null = null;
  private votesGranted = new Set<string>();
  private votesRejected = new Set<string>();

  /** Followers and candidates: when to start an election. Leaders: unused. */
  private electionDeadline: number;
  private electionTimeoutMs: number;
  /** Leaders: when the next heartbeat is due. */
  private heartbeatDeadline = Infinity;
  /** Last time each peer was heard from (any message); for the detail view. */
  private readonly lastContact = new Map<string, number>();

  private outbox: RaftMessage[] = [];
  private persistedTerm: number;
  private persistedVote: string | null;

  constructor(options: NodeOptions) {
    this.id = options.id;
    this.members = options.members;
    this.peers = options.members.filter((member) => member !== options.id);
    this.config = options.config;
    this.random = options.random;
    const durable = readRaftDurable(options.durable);
    this.term = durable.term;
    this.votedFor = durable.votedFor;
    this.persistedTerm = durable.term;
    this.persistedVote = durable.votedFor;
    this.electionTimeoutMs = this.randomElectionTimeout();
    this.electionDeadline = options.now + this.electionTimeoutMs;
  }

  status(): NodeStatus {
    return { role: this.role, term: this.term, votedFor: this.votedFor, leaderId: this.leaderId };
  }

  ready(): Ready {
    let persist: RaftDurableState | null = null;
    if (this.term !== this.persistedTerm || this.votedFor !== this.persistedVote) {
      persist = { term: this.term, votedFor: this.votedFor };
      this.persistedTerm = this.term;
      this.persistedVote = this.votedFor;
    }
    const messages = this.outbox;
    this.outbox = [];
    const wakeAt = this.role === 'leader' ? this.heartbeatDeadline : this.electionDeadline;
    return { persist, messages, wakeAt };
  }

  tick(now: number): void {
    if (this.role === 'leader') {
      if (now >= this.heartbeatDeadline) this.broadcastHeartbeat(now);
    } else if (now >= this.electionDeadline) {
      this.campaign(now);
    }
  }

  step(input: Message, now: number): void {
    if (!isRaftMessage(input)) return;
    const message = input;
    if (message.to !== this.id || message.from === this.id || !this.members.includes(message.from)) return;
    this.lastContact.set(message.from, now);

    if (message.term > this.term) {
      // Rule for all servers: a higher term always wins; a heartbeat also names the leader.
      const leader = message.kind === 'Heartbeat' ? message.from : null;
      this.becomeFollower(message.term, leader, now);
    }

    switch (message.kind) {
      case 'RequestVote':
        this.handleRequestVote(message, now);
        return;
      case 'Heartbeat':
        this.handleHeartbeat(message, now);
        return;
      case 'RequestVoteResp':
        if (this.role === 'candidate' && message.term === this.term) this.handleVote(message.from, message.granted, now);
        return;
      case 'HeartbeatResp':
        return;
    }
  }

  inspect(now: number): NodeInspection {
    return {
      electionTimeoutMs: this.electionTimeoutMs,
      electionDueInMs: this.role === 'leader' ? null : Math.max(0, this.electionDeadline - now),
      heartbeatDueInMs: this.role === 'leader' ? Math.max(0, this.heartbeatDeadline - now) : null,
      votesGranted: [...this.votesGranted],
      votesRejected: [...this.votesRejected],
      lastContactMsAgo: Object.fromEntries([...this.lastContact].map(([peer, at]) => [peer, Math.max(0, now - at)])),
      persisted: { term: this.persistedTerm, votedFor: this.persistedVote },
    };
  }

  private handleRequestVote(message: Extract<RaftMessage, { kind: 'RequestVote' }>, now: number): void {
    // Without a log every candidate is "up to date"; the only rule left is one vote per term.
    const granted = message.term === this.term && (this.votedFor === null || this.votedFor === message.from);
    if (granted) {
      this.votedFor = message.from;
      this.resetElectionTimer(now);
    }
    this.send({ kind: 'RequestVoteResp', from: this.id, to: message.from, term: this.term, granted });
  }

  private handleHeartbeat(message: Extract<RaftMessage, { kind: 'Heartbeat' }>, now: number): void {
    if (message.term < this.term) {
      // A stale leader learns the current term from the reply and steps down.
      this.send({ kind: 'HeartbeatResp', from: this.id, to: message.from, term: this.term });
      return;
    }
    if (this.role !== 'follower' || this.leaderId !== message.from) this.becomeFollower(this.term, message.from, now);
    this.resetElectionTimer(now);
    this.send({ kind: 'HeartbeatResp', from: this.id, to: message.from, term: this.term });
  }

  private handleVote(from: string, granted: boolean, now: number): void {
    (granted ? this.votesGranted : this.votesRejected).add(from);
    if (this.votesGranted.size >= quorum(this.members.length)) this.becomeLeader(now);
  }

  private campaign(now: number): void {
    this.role = 'candidate';
    this.term += 1;
    this.votedFor = this.id;
    this.leaderId = null;
    this.votesGranted = new Set([this.id]);
    this.votesRejected = new Set();
    this.resetElectionTimer(now);
    if (this.votesGranted.size >= quorum(this.members.length)) {
      this.becomeLeader(now);
      return;
    }
    for (const peer of this.peers) this.send({ kind: 'RequestVote', from: this.id, to: peer, term: this.term });
  }

  private becomeLeader(now: number): void {
    this.role = 'leader';
    this.leaderId = this.id;
    this.broadcastHeartbeat(now);
  }

  private becomeFollower(term: number, leaderId: string | null, now: number): void {
    if (term > this.term) {
      this.term = term;
      this.votedFor = null;
    }
    this.role = 'follower';
    this.leaderId = leaderId;
    this.heartbeatDeadline = Infinity;
    this.resetElectionTimer(now);
  }

  private broadcastHeartbeat(now: number): void {
    for (const peer of this.peers) this.send({ kind: 'Heartbeat', from: this.id, to: peer, term: this.term });
    this.heartbeatDeadline = now + this.config.heartbeatMs;
  }

  private resetElectionTimer(now: number): void {
    this.electionTimeoutMs = this.randomElectionTimeout();
    this.electionDeadline = now + this.electionTimeoutMs;
  }

  private randomElectionTimeout(): number {
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = this.config;
    return min + Math.floor(this.random.next() * (max - min + 1));
  }

  private send(message: RaftMessage): void {
    this.outbox.push(message);
  }
}
