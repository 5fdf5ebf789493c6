/**
 * Leader election by Paxos phase 1 (Lamport, "Paxos Made Simple", 2001: the distinguished
 * proposer), as a pure state machine. Every node is proposer and acceptor.
 *
 * - Ballots are single integers no other node can use: round × (cluster size) + the node's
 *   index, with round ≥ 1, so a ballot names its owner and two nodes never lead one ballot.
 * - A node whose election timer fires picks a ballot above every ballot it has seen, promises
 *   it to itself (persisted before the PREPAREs leave), and sends PREPARE(b).
 * - An acceptor promises b if b is above every ballot it promised (the promise is durable),
 *   else answers NACK with its promise, from which the proposer learns to go higher.
 * - With promises from a majority the proposer leads ballot b and renews its leadership with
 *   heartbeats; an acceptor that promised a higher ballot NACKs them, deposing a stale leader.
 * - With check-quorum the leader holds a lease: it steps down when a majority has not
 *   acknowledged it within an election timeout, and acceptors that heard from their leader
 *   within that time NACK other proposers (a transfer, valid until its deadline, overrides this).
 *
 * Members that do not vote are neither proposers nor acceptors: they follow the leader's
 * heartbeats and never count towards a majority.
 *
 * Ranked timeouts, crash hints and priorities (a priority-0 node never proposes; priority
 * takeover and the preferred-leader rule hand leadership over with the transfer) work as in Raft
 * (see raft.ts), by the same code once a node leads (shared/core/leader-duties.ts).
 *
 * The "term" shown is the ballot a node has promised; "voted for" is that ballot's owner.
 */
import {
  isTerm,
  TERM_MAX,
  type ActionResult,
  type DurableState,
  type ElectionConfig,
  type ElectionNode,
  type Envelope,
  type Message,
  type NodeInspection,
  type NodeOptions,
  type NodeStatus,
  type Ready,
  type Hint,
  type Role,
  type VoteGrant,
} from '../core/election.js';
import { DEFAULT_LEADERSHIP, type Capabilities, type LeadershipConfig } from '../core/leadership.js';
import { contactAges } from '../core/contact-ages.js';
import { ElectionTimer } from '../core/election-timer.js';
import { LeaderDuties } from '../core/leader-duties.js';
import { Membership } from '../core/membership.js';
import { LeaderLease, LeasePromise, isFreshInMsField, leaseRemainingMs, leaseTiming } from '../core/lease.js';
import { TakeoverWatch } from '../core/takeover.js';

/** `term` is a ballot: the one proposed, promised, renewed or (in a NACK) the higher one promised. */
export type PaxosMessage =
  | (Envelope & { kind: 'Prepare'; transfer: boolean })
  | (Envelope & { kind: 'Promise' })
  | (Envelope & { kind: 'Nack' })
  /** `round`: the leader's heartbeat round (lease.ts). */
  | (Envelope & { kind: 'Heartbeat'; round: number })
  /** `round`, `fresh`: the round answered and whether the answer backs the leader's lease (lease.ts); `freshInMs`, on one that is not fresh: when it will be. `metric`: the value the preferred-leader rule reads, when one is set. */
  | (Envelope & { kind: 'HeartbeatAck'; round: number; fresh: boolean; freshInMs?: number; metric?: number })
  | (Envelope & { kind: 'TimeoutNow'; deadline: number });

export const PAXOS_MESSAGE_KINDS = ['Prepare', 'Promise', 'Nack', 'Heartbeat', 'HeartbeatAck', 'TimeoutNow'] as const;

export function isPaxosMessage(message: Message): message is PaxosMessage {
  const fields = message as unknown as Record<string, unknown>;
  if (message.kind === 'Prepare') return typeof fields.transfer === 'boolean';
  if (message.kind === 'TimeoutNow') return typeof fields.deadline === 'number' && !Number.isNaN(fields.deadline);
  if (message.kind === 'HeartbeatAck') {
    return (fields.metric === undefined || (typeof fields.metric === 'number' && Number.isFinite(fields.metric))) && Number.isSafeInteger(fields.round) && typeof fields.fresh === 'boolean' && isFreshInMsField(fields.freshInMs);
  }
  if (message.kind === 'Heartbeat') return Number.isSafeInteger(fields.round);
  return (PAXOS_MESSAGE_KINDS as readonly string[]).includes(message.kind);
}

/** The promise a message shows its sender made: to the recipient, or a proposer's to itself. */
export function paxosVoteGrant(message: Message): VoteGrant | null {
  if (message.kind === 'Prepare') return { voter: message.from, candidate: message.from, term: message.term };
  if (message.kind === 'Promise') return { voter: message.from, candidate: message.to, term: message.term };
  return null;
}

export function readPaxosDurable(durable: DurableState | null): { promised: number } {
  const promised = durable?.promised;
  return { promised: isTerm(promised) ? promised : 0 };
}

/** The node that owns a ballot (null for ballot 0, "nothing promised"). */
export function ballotOwner(ballot: number, members: readonly string[]): string | null {
  return ballot <= 0 ? null : (members[ballot % members.length] ?? null);
}

export class PaxosNode implements ElectionNode {
  readonly id: string;
  private readonly members: readonly string[];
  private readonly membership: Membership;
  private readonly index: number;
  private readonly config: ElectionConfig;

  private promised: number;
  /** The promise last handed to the runtime to persist, and the last one it confirmed durable. */
  private handedOutPromise: number;
  private confirmedPromise: number;
  /** The highest ballot seen anywhere, promised or not: the next ballot must exceed it. */
  private highestSeen: number;
  private role: Role = 'follower';
  private leaderId: string | null = null;
  private promises = new Set<string>();
  private nacks = new Set<string>();
  private readonly election: ElectionTimer;
  /** Heartbeats, check-quorum, the leader lease, transfers, takeovers and crash hints (leader-duties.ts, shared with Raft). */
  private readonly duties: LeaderDuties<'HeartbeatAck'>;
  private readonly lastContact = new Map<string, number>();
  private outbox: PaxosMessage[] = [];

  constructor(options: NodeOptions) {
    this.id = options.id;
    this.members = options.members;
    const leadership = options.leadership ?? DEFAULT_LEADERSHIP;
    this.membership = new Membership(options.id, options.members, options.voters, leadership.priorities);
    this.index = options.members.indexOf(options.id);
    this.config = options.config;
    this.promised = readPaxosDurable(options.durable).promised;
    this.handedOutPromise = this.promised;
    this.confirmedPromise = this.promised;
    this.highestSeen = this.promised;
    this.election = new ElectionTimer(options.config, options.random, this.membership, options.now);
    const timing = leaseTiming(options.config, options.clockDriftMax);
    this.duties = new LeaderDuties(
      {
        id: this.id,
        replyKind: 'HeartbeatAck',
        role: () => this.role,
        leaderId: () => this.leaderId,
        term: () => this.promised,
        mayCampaign: () => this.mayPropose(),
        stepDown: (now) => this.becomeFollower(null, now),
        send: (message) => this.outbox.push(message),
      },
      {
        config: options.config,
        membership: this.membership,
        election: this.election,
        promise: new LeasePromise(timing, options.now),
        leaderLease: new LeaderLease(timing, this.membership),
        takeover: this.watchFollowers(options.config, this.membership, leadership, options.capabilities ?? {}),
      },
    );
  }

  status(): NodeStatus {
    return { role: this.role, term: this.promised, votedFor: ballotOwner(this.promised, this.members), leaderId: this.leaderId };
  }

  leaseExpiresAt(now: number): number | null {
    return this.duties.leaseExpiresAt(now);
  }

  ready(): Ready {
    let persist: DurableState | null = null;
    if (this.promised !== this.handedOutPromise) {
      persist = { promised: this.promised };
      this.handedOutPromise = this.promised;
    }
    const messages = this.outbox;
    this.outbox = [];
    return { persist, messages, wakeAt: this.duties.wakeAt(), notices: this.duties.takeNotices() };
  }

  persisted(state: DurableState): void {
    this.confirmedPromise = readPaxosDurable(state).promised;
  }

  hint(hint: Hint, now: number): void {
    this.duties.hint(hint, now);
  }

  setLeadership(leadership: LeadershipConfig, now: number): void {
    this.duties.setLeadership(leadership, now);
  }

  setCapabilities(capabilities: Capabilities, now: number): void {
    this.duties.takeover.setCapabilities(capabilities, now);
  }

  tick(now: number): void {
    if (this.role !== 'leader') {
      if (this.mayPropose() && now >= this.election.deadline) this.prepare(now, false);
      return;
    }
    this.duties.tick(now);
  }

  step(input: Message, now: number): void {
    if (!isPaxosMessage(input)) return;
    const message = input;
    if (message.to !== this.id || message.from === this.id || !this.membership.isMember(message.from) || !isTerm(message.term)) return;
    this.lastContact.set(message.from, now);
    this.highestSeen = Math.max(this.highestSeen, message.term);

    switch (message.kind) {
      case 'Prepare':
        if (this.membership.votes) this.handlePrepare(message, now);
        return;
      case 'Promise':
        if (this.role === 'candidate' && message.term === this.promised && this.membership.voters.has(message.from)) {
          this.promises.add(message.from);
          if (this.promises.size >= this.quorumSize()) this.becomeLeader(now);
        }
        return;
      case 'Nack':
        if (message.term > this.promised && (this.role === 'candidate' || this.role === 'leader')) {
          // Someone promised a higher ballot: this one cannot win (or lead) any more.
          this.nacks.add(message.from);
          this.becomeFollower(null, now);
        }
        return;
      case 'Heartbeat':
        this.handleHeartbeat(message, now);
        return;
      case 'HeartbeatAck':
        if (this.role === 'leader' && message.term === this.promised) this.duties.answered(message, now);
        return;
      case 'TimeoutNow':
        if (message.term === this.promised && this.leaderId === message.from && this.role === 'follower' && now <= message.deadline && this.mayPropose()) {
          this.prepare(now, true);
        }
        return;
    }
  }

  electionTimer(): { startedAt: number; dueAt: number } | null {
    return this.role === 'leader' || !this.mayPropose() ? null : this.election.span();
  }

  transferLeadership(target: string, now: number): ActionResult {
    return this.duties.transferLeadership(target, now);
  }

  inspect(now: number): NodeInspection {
    const leading = this.role === 'leader';
    return {
      votes: this.membership.votes,
      priority: this.membership.priority(this.id),
      proposes: this.mayPropose(),
      index: this.index,
      promisedBallot: this.promised,
      highestBallotSeen: this.highestSeen,
      nextBallot: this.nextBallot(),
      lease: this.config.checkQuorum,
      leaseActive: this.duties.inLease(now),
      leaderLeaseEndsInMs: leaseRemainingMs(this.duties.leaseExpiresAt(now), now),
      promise: this.duties.promise.inspect(now),
      electionTimeoutMs: this.election.timeoutMs,
      electionDueInMs: leading ? null : Math.max(0, this.election.deadline - now),
      heartbeatDueInMs: this.duties.heartbeatDueInMs(now),
      promisesFrom: [...this.promises],
      nacksFrom: [...this.nacks],
      transferTo: this.duties.transferTarget,
      metric: this.duties.takeover.metric,
      takeover: leading ? this.duties.takeover.inspect(now) : null,
      lastContactMsAgo: contactAges(this.lastContact, now),
      persisted: { promised: this.confirmedPromise },
    };
  }

  private handlePrepare(message: Extract<PaxosMessage, { kind: 'Prepare' }>, now: number): void {
    const leaseHolds = this.duties.inLease(now) && !message.transfer && message.from !== this.leaderId;
    const owned = ballotOwner(message.term, this.members) === message.from;
    if (message.term > this.promised && owned && !leaseHolds) {
      this.promised = message.term;
      this.becomeFollower(null, now);
      this.send('Promise', message.from, message.term);
    } else if (message.term === this.promised && owned) {
      this.send('Promise', message.from, message.term); // a duplicate: promise again, idempotently
    } else {
      // Under a lease the NACK carries a ballot no higher than the proposer's: it loses this
      // round without being told to go higher, and tries again after its timeout.
      this.send('Nack', message.from, this.promised);
    }
  }

  private handleHeartbeat(message: Extract<PaxosMessage, { kind: 'Heartbeat' }>, now: number): void {
    if (message.term < this.promised || ballotOwner(message.term, this.members) !== message.from) {
      this.send('Nack', message.from, this.promised);
      return;
    }
    this.promised = message.term;
    if (this.role !== 'follower' || this.leaderId !== message.from) this.becomeFollower(message.from, now);
    this.duties.acceptHeartbeat(message, now);
  }

  /** Phase 1: promise a fresh ballot to itself, then ask everyone else. */
  private prepare(now: number, transfer: boolean): void {
    const ballot = this.nextBallot();
    if (ballot > TERM_MAX) {
      // No ballot of this node is left below the cap: it stays a follower.
      this.becomeFollower(null, now);
      return;
    }
    this.promised = ballot;
    this.highestSeen = this.promised;
    this.role = 'candidate';
    this.leaderId = null;
    this.promises = new Set([this.id]);
    this.nacks = new Set();
    this.election.reset(now);
    if (this.promises.size >= this.quorumSize()) {
      this.becomeLeader(now);
      return;
    }
    for (const peer of this.membership.voterPeers) this.outbox.push({ kind: 'Prepare', from: this.id, to: peer, term: this.promised, transfer });
  }

  /** Protected so that the mutation suite can break it on purpose. */
  protected quorumSize(): number {
    return this.membership.quorum;
  }

  /** Whether this node may propose ballots: it votes and its priority is above 0. */
  private mayPropose(): boolean {
    return this.membership.canLead(this.id);
  }

  /** The leader's watch for takeovers (a factory so that the mutation suite can swap in a broken one). */
  protected watchFollowers(...args: ConstructorParameters<typeof TakeoverWatch>): TakeoverWatch {
    return new TakeoverWatch(...args);
  }

  private nextBallot(): number {
    const size = this.members.length;
    return (Math.floor(Math.max(this.promised, this.highestSeen) / size) + 1) * size + this.index;
  }

  private becomeLeader(now: number): void {
    this.role = 'leader';
    this.leaderId = this.id;
    this.duties.lead(now);
  }

  private becomeFollower(leaderId: string | null, now: number): void {
    this.role = 'follower';
    this.leaderId = leaderId;
    this.duties.follow(leaderId, now);
  }

  private send(kind: Exclude<PaxosMessage['kind'], 'Prepare' | 'TimeoutNow' | 'Heartbeat' | 'HeartbeatAck'>, to: string, term: number): void {
    this.outbox.push({ kind, from: this.id, to, term });
  }
}
