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
 * Ranked timeouts and crash hints work as in Raft (see raft.ts).
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
  type Message,
  type NodeInspection,
  type NodeOptions,
  type NodeStatus,
  type Ready,
  type Hint,
  type Role,
  type VoteGrant,
} from '../core/election.js';
import { ElectionTimer, Membership, QuorumLease, contactAges, startTransfer, transferRefusal, type Envelope, type Transfer } from '../core/parts.js';

/** `term` is a ballot: the one proposed, promised, renewed or (in a NACK) the higher one promised. */
export type PaxosMessage =
  | (Envelope & { kind: 'Prepare'; transfer: boolean })
  | (Envelope & { kind: 'Promise' })
  | (Envelope & { kind: 'Nack' })
  | (Envelope & { kind: 'Heartbeat' })
  | (Envelope & { kind: 'HeartbeatAck' })
  | (Envelope & { kind: 'TimeoutNow'; deadline: number });

export const PAXOS_MESSAGE_KINDS = ['Prepare', 'Promise', 'Nack', 'Heartbeat', 'HeartbeatAck', 'TimeoutNow'] as const;

export function isPaxosMessage(message: Message): message is PaxosMessage {
  const fields = message as unknown as Record<string, unknown>;
  if (message.kind === 'Prepare') return typeof fields.transfer === 'boolean';
  if (message.kind === 'TimeoutNow') return typeof fields.deadline === 'number' && !Number.isNaN(fields.deadline);
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
  private heartbeatDeadline = Infinity;
  /** The leader lease (check-quorum). */
  private readonly lease: QuorumLease;
  private transfer: Transfer | null = null;
  private readonly lastContact = new Map<string, number>();
  private outbox: PaxosMessage[] = [];

  constructor(options: NodeOptions) {
    this.id = options.id;
    this.members = options.members;
    this.membership = new Membership(options.id, options.members, options.voters);
    this.index = options.members.indexOf(options.id);
    this.config = options.config;
    this.promised = readPaxosDurable(options.durable).promised;
    this.handedOutPromise = this.promised;
    this.confirmedPromise = this.promised;
    this.highestSeen = this.promised;
    this.election = new ElectionTimer(options.config, options.random, options.now);
    this.lease = new QuorumLease(options.config, this.membership);
  }

  status(): NodeStatus {
    return { role: this.role, term: this.promised, votedFor: ballotOwner(this.promised, this.members), leaderId: this.leaderId };
  }

  ready(): Ready {
    let persist: DurableState | null = null;
    if (this.promised !== this.handedOutPromise) {
      persist = { promised: this.promised };
      this.handedOutPromise = this.promised;
    }
    const messages = this.outbox;
    this.outbox = [];
    const wakeAt =
      this.role === 'leader'
        ? Math.min(this.heartbeatDeadline, this.lease.deadline, this.transfer?.deadline ?? Infinity)
        : this.membership.votes
          ? this.election.deadline
          : Infinity;
    return { persist, messages, wakeAt };
  }

  persisted(state: DurableState): void {
    this.confirmedPromise = readPaxosDurable(state).promised;
  }

  hint(hint: Hint, now: number): void {
    if (hint.kind !== 'peer-down' || this.role !== 'follower' || hint.peer !== this.leaderId) return;
    const slot = this.membership.slotUnder(this.id, this.leaderId);
    if (slot === null) return;
    this.lease.leaderLost();
    this.election.hurry(now, slot);
  }

  tick(now: number): void {
    if (this.role !== 'leader') {
      if (this.membership.votes && now >= this.election.deadline) this.prepare(now, false);
      return;
    }
    if (this.transfer !== null && now >= this.transfer.deadline) this.transfer = null;
    if (now >= this.lease.deadline && !this.lease.renew(now)) {
      this.becomeFollower(null, now);
      return;
    }
    if (now >= this.heartbeatDeadline) this.broadcastHeartbeat(now);
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
        if (this.role === 'leader' && message.term === this.promised) this.lease.answer(message.from);
        return;
      case 'TimeoutNow':
        if (message.term === this.promised && this.leaderId === message.from && this.role === 'follower' && now <= message.deadline) {
          this.prepare(now, true);
        }
        return;
    }
  }

  electionTimer(): { startedAt: number; dueAt: number } | null {
    return this.role === 'leader' || !this.membership.votes ? null : this.election.span();
  }

  transferLeadership(target: string, now: number): ActionResult {
    const refusal = transferRefusal({ id: this.id, role: this.role, membership: this.membership }, target);
    if (refusal !== null) return refusal;
    this.transfer = startTransfer(this.config, target, now);
    this.sendTimeoutNow(this.transfer);
    return { ok: true };
  }

  inspect(now: number): NodeInspection {
    const leading = this.role === 'leader';
    return {
      votes: this.membership.votes,
      index: this.index,
      promisedBallot: this.promised,
      highestBallotSeen: this.highestSeen,
      nextBallot: this.nextBallot(),
      lease: this.config.checkQuorum,
      leaseActive: this.inLease(now),
      electionTimeoutMs: this.election.timeoutMs,
      electionDueInMs: leading ? null : Math.max(0, this.election.deadline - now),
      heartbeatDueInMs: leading ? Math.max(0, this.heartbeatDeadline - now) : null,
      promisesFrom: [...this.promises],
      nacksFrom: [...this.nacks],
      transferTo: this.transfer?.target ?? null,
      lastContactMsAgo: contactAges(this.lastContact, now),
      persisted: { promised: this.confirmedPromise },
    };
  }

  private handlePrepare(message: Extract<PaxosMessage, { kind: 'Prepare' }>, now: number): void {
    const leaseHolds = this.inLease(now) && !message.transfer && message.from !== this.leaderId;
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
    this.lease.heardFromLeader(now);
    this.election.reset(now, this.membership.slotUnder(this.id, message.from));
    this.send('HeartbeatAck', message.from, message.term);
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

  private nextBallot(): number {
    const size = this.members.length;
    return (Math.floor(Math.max(this.promised, this.highestSeen) / size) + 1) * size + this.index;
  }

  private becomeLeader(now: number): void {
    this.role = 'leader';
    this.leaderId = this.id;
    this.transfer = null;
    this.lease.lead(now);
    this.broadcastHeartbeat(now);
  }

  private becomeFollower(leaderId: string | null, now: number): void {
    this.role = 'follower';
    this.leaderId = leaderId;
    if (leaderId !== null) this.lease.heardFromLeader(now);
    this.heartbeatDeadline = Infinity;
    this.lease.stop();
    this.transfer = null;
    this.election.reset(now, this.membership.slotUnder(this.id, leaderId));
  }

  private inLease(now: number): boolean {
    return this.lease.holds(now, this.leaderId !== null);
  }

  private broadcastHeartbeat(now: number): void {
    for (const peer of this.membership.peers) this.send('Heartbeat', peer, this.promised);
    if (this.transfer !== null) this.sendTimeoutNow(this.transfer);
    this.heartbeatDeadline = now + this.config.heartbeatMs;
  }

  private sendTimeoutNow(transfer: Transfer): void {
    this.outbox.push({ kind: 'TimeoutNow', from: this.id, to: transfer.target, term: this.promised, deadline: transfer.deadline });
  }

  private send(kind: Exclude<PaxosMessage['kind'], 'Prepare' | 'TimeoutNow'>, to: string, term: number): void {
    this.outbox.push({ kind, from: this.id, to, term });
  }
}
