/**
 * Raft leader election as a pure state machine (Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm", section 5.2; Ongaro's thesis, sections 3.10 and 9.6),
 * shaped like etcd's raft: the role decides how a message is stepped and what a tick does;
 * durable state (term, vote) is handed out through `ready()` to be persisted before the
 * messages that depend on it.
 *
 * Beyond the paper, as etcd and hashicorp/raft do it:
 * - pre-vote (Ongaro's thesis, section 9.6): a node whose election timer fires first asks whether
 *   it could win (without bumping its term); only with a majority of yeses does it start a real
 *   election. A node refuses a pre-vote while it leads or has heard from its leader within the
 *   minimum election timeout, with or without check-quorum, so a node rejoining from a
 *   partition neither inflates terms nor deposes a healthy leader;
 * - check-quorum: a leader that has not heard from a majority within an election timeout steps
 *   down, so a leader cut off in a minority stops believing it leads;
 * - leader stickiness (with check-quorum, as in etcd): a node that heard from a live leader
 *   within the minimum election timeout ignores vote requests of higher terms;
 * - leadership transfer: the leader tells the target to campaign at once (TimeoutNow, valid
 *   until the transfer's deadline), and the target's vote request overrides stickiness.
 *
 * Beyond etcd, for faster failover at the same settings:
 * - ranked timeouts: a follower of a known leader draws its timeout from a short window of the
 *   range, in rank order among the leader's would-be successors, so the first successor times out
 *   first and wins before the next one starts (split votes become rare); the range stays
 *   randomized whenever no leader is known;
 * - crash hints: when the runtime sees the leader's connection close (a crashed process's kernel
 *   closes its sockets), followers stop trusting it and time out within their windows at once.
 *   A wrong hint costs at most a failed pre-vote: the others still hear the leader and refuse.
 *
 * Members that do not vote (etcd's learners) follow the leader but never campaign, are never
 * asked for votes and never count towards a quorum.
 *
 * Priorities (shared/core/leadership.ts): a priority-0 voter votes but never campaigns; higher
 * priorities time out sooner (ranked successors by priority; with no leader known, one band of the
 * range per priority); and the leader hands over to a reachable follower of higher priority, or
 * to the one the preferred-leader rule picks, with its transfer (takeover.ts).
 *
 * There is no replicated log: heartbeats are empty AppendEntries, so any voter may win.
 * Time comes only from the `now` arguments; randomness only from `random`.
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
import { TakeoverWatch } from '../core/takeover.js';
import { LeaderLease, LeasePromise, isFreshInMsField, leaseRemainingMs, leaseTiming } from '../core/lease.js';

export type RaftMessage =
  | (Envelope & { kind: 'PreVote' })
  | (Envelope & { kind: 'PreVoteResp'; granted: boolean })
  | (Envelope & { kind: 'RequestVote'; transfer: boolean })
  | (Envelope & { kind: 'RequestVoteResp'; granted: boolean })
  /** `round`: the leader's heartbeat round (lease.ts). */
  | (Envelope & { kind: 'Heartbeat'; round: number })
  /**
   * `round` and `fresh`: the round answered, and whether the answer backs the leader's lease (no
   * promise to another leader stood); absent on an answer to a stale heartbeat. `freshInMs`, on
   * an answer that is not fresh: when it will be (lease.ts). `metric`: the value
   * the preferred-leader rule reads, when one is set.
   */
  | (Envelope & { kind: 'HeartbeatResp'; round?: number; fresh?: boolean; freshInMs?: number; metric?: number })
  | (Envelope & { kind: 'TimeoutNow'; deadline: number });

export function isRaftMessage(message: Message): message is RaftMessage {
  const fields = message as unknown as Record<string, unknown>;
  switch (message.kind) {
    case 'PreVoteResp':
    case 'RequestVoteResp':
      return typeof fields.granted === 'boolean';
    case 'RequestVote':
      return typeof fields.transfer === 'boolean';
    case 'TimeoutNow':
      return typeof fields.deadline === 'number' && !Number.isNaN(fields.deadline);
    case 'HeartbeatResp':
      return (
        (fields.metric === undefined || (typeof fields.metric === 'number' && Number.isFinite(fields.metric))) &&
        (fields.round === undefined || Number.isSafeInteger(fields.round)) &&
        (fields.fresh === undefined || typeof fields.fresh === 'boolean') &&
        isFreshInMsField(fields.freshInMs)
      );
    case 'Heartbeat':
      return Number.isSafeInteger(fields.round);
    case 'PreVote':
      return true;
    default:
      return false;
  }
}

/** The vote a message shows its sender gave: a granted vote, or a candidate's vote for itself. */
export function raftVoteGrant(message: Message): VoteGrant | null {
  if (message.kind === 'RequestVote') return { voter: message.from, candidate: message.from, term: message.term };
  if (message.kind === 'RequestVoteResp' && (message as { granted?: unknown }).granted === true) {
    return { voter: message.from, candidate: message.to, term: message.term };
  }
  return null;
}

/** The term a message shows its sender had made durable, or null for a pre-vote's proposed term. */
export function raftCommittedTerm(message: Message): number | null {
  if (message.kind === 'PreVote') return null;
  if (message.kind === 'PreVoteResp' && (message as { granted?: unknown }).granted === true) return null;
  return message.term;
}

export interface RaftDurableState extends DurableState {
  term: number;
  votedFor: string | null;
}

export function readRaftDurable(durable: DurableState | null): RaftDurableState {
  const term = isTerm(durable?.term) ? durable!.term : 0;
  const votedFor = typeof durable?.votedFor === 'string' ? durable.votedFor : null;
  return { term, votedFor };
}

export class RaftNode implements ElectionNode {
  readonly id: string;
  private readonly membership: Membership;
  private readonly config: ElectionConfig;

  private term: number;
  private votedFor: string | null;
  private role: Role = 'follower';
  private leaderId: string | null = null;
  private votesGranted = new Set<string>();
  private votesRejected = new Set<string>();

  /** Followers and (pre-)candidates: when to start an election. */
  private readonly election: ElectionTimer;
  /** Heartbeats, check-quorum, the leader lease, transfers, takeovers and crash hints (leader-duties.ts, shared with Paxos). */
  private readonly duties: LeaderDuties<'HeartbeatResp'>;
  /** Last time each peer was heard from (any message); for the detail view. */
  private readonly lastContact = new Map<string, number>();

  private outbox: RaftMessage[] = [];
  /** The durable state last handed to the runtime, and the last one it confirmed. */
  private handedOut: RaftDurableState;
  private confirmed: RaftDurableState;

  constructor(options: NodeOptions) {
    this.id = options.id;
    const leadership = options.leadership ?? DEFAULT_LEADERSHIP;
    this.membership = new Membership(options.id, options.members, options.voters, leadership.priorities);
    this.config = options.config;
    const durable = readRaftDurable(options.durable);
    this.term = durable.term;
    this.votedFor = durable.votedFor;
    this.handedOut = durable;
    this.confirmed = durable;
    this.election = new ElectionTimer(options.config, options.random, this.membership, options.now);
    const timing = leaseTiming(options.config, options.clockDriftMax);
    this.duties = new LeaderDuties(
      {
        id: this.id,
        replyKind: 'HeartbeatResp',
        role: () => this.role,
        leaderId: () => this.leaderId,
        term: () => this.term,
        mayCampaign: () => this.mayCampaign(),
        stepDown: (now) => this.becomeFollower(this.term, null, now),
        send: (message) => this.send(message),
      },
      {
        config: options.config,
        membership: this.membership,
        election: this.election,
        promise: this.promiseToLeaders(timing, options.now),
        leaderLease: this.leaseOfLeader(timing, this.membership),
        takeover: this.watchFollowers(options.config, this.membership, leadership, options.capabilities ?? {}),
      },
    );
  }

  status(): NodeStatus {
    return { role: this.role, term: this.term, votedFor: this.votedFor, leaderId: this.leaderId };
  }

  leaseExpiresAt(now: number): number | null {
    return this.duties.leaseExpiresAt(now);
  }

  ready(): Ready {
    let persist: RaftDurableState | null = null;
    if (this.term !== this.handedOut.term || this.votedFor !== this.handedOut.votedFor) {
      persist = { term: this.term, votedFor: this.votedFor };
      this.handedOut = persist;
    }
    const messages = this.outbox;
    this.outbox = [];
    return { persist, messages, wakeAt: this.duties.wakeAt(), notices: this.duties.takeNotices() };
  }

  persisted(state: DurableState): void {
    this.confirmed = readRaftDurable(state);
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
      if (this.mayCampaign() && now >= this.election.deadline) {
        if (this.config.preVote) this.startPreVote(now);
        else this.campaign(now, false);
      }
      return;
    }
    this.duties.tick(now);
  }

  step(input: Message, now: number): void {
    if (!isRaftMessage(input)) return;
    const message = input;
    if (message.to !== this.id || message.from === this.id || !this.membership.isMember(message.from) || !isTerm(message.term)) return;
    this.lastContact.set(message.from, now);

    if (message.term > this.term) {
      if (message.kind === 'PreVote' && this.leaderAlive(now)) {
        // Thesis 9.6: a live leader exists, so this pre-candidate could only disrupt it.
        this.send({ kind: 'PreVoteResp', from: this.id, to: message.from, term: this.term, granted: false });
        return;
      }
      if (message.kind === 'RequestVote' && !message.transfer && this.duties.inLease(now)) {
        // Stickiness: a live leader exists, so this candidate is disruptive (etcd: "lease is not expired").
        return;
      }
      // A pre-vote proposes a term without claiming it, and a granted pre-vote echoes that
      // proposal: neither moves anyone to a new term. Every other higher term wins.
      const proposesOnly = message.kind === 'PreVote' || (message.kind === 'PreVoteResp' && message.granted);
      if (!proposesOnly) this.adoptHigherTerm(message, now);
    } else if (message.term < this.term) {
      // Stale sender: tell it the current term so that it steps down or catches up.
      if (message.kind === 'Heartbeat') this.send({ kind: 'HeartbeatResp', from: this.id, to: message.from, term: this.term });
      if (message.kind === 'RequestVote') this.send({ kind: 'RequestVoteResp', from: this.id, to: message.from, term: this.term, granted: false });
      if (message.kind === 'PreVote') this.send({ kind: 'PreVoteResp', from: this.id, to: message.from, term: this.term, granted: false });
      return;
    }

    switch (message.kind) {
      case 'PreVote':
        this.handlePreVote(message);
        return;
      case 'RequestVote':
        this.handleRequestVote(message, now);
        return;
      case 'Heartbeat':
        this.handleHeartbeat(message, now);
        return;
      case 'HeartbeatResp':
        if (this.role === 'leader') this.duties.answered(message, now);
        return;
      case 'PreVoteResp':
        if (this.role === 'precandidate' && message.term === this.term + 1) this.countVote(message.from, message.granted, now);
        return;
      case 'RequestVoteResp':
        if (this.role === 'candidate' && message.term === this.term) this.countVote(message.from, message.granted, now);
        return;
      case 'TimeoutNow':
        // Only the leader of this very term may hand over leadership, and only until the transfer expires.
        if (message.term === this.term && this.leaderId === message.from && this.role === 'follower' && now <= message.deadline && this.mayCampaign()) {
          this.campaign(now, true);
        }
        return;
    }
  }

  electionTimer(): { startedAt: number; dueAt: number } | null {
    return this.role === 'leader' || !this.mayCampaign() ? null : this.election.span();
  }

  transferLeadership(target: string, now: number): ActionResult {
    return this.duties.transferLeadership(target, now);
  }

  inspect(now: number): NodeInspection {
    const leading = this.role === 'leader';
    return {
      votes: this.membership.votes,
      priority: this.membership.priority(this.id),
      campaigns: this.mayCampaign(),
      preVote: this.config.preVote,
      checkQuorum: this.config.checkQuorum,
      electionTimeoutMs: this.election.timeoutMs,
      electionDueInMs: leading ? null : Math.max(0, this.election.deadline - now),
      heartbeatDueInMs: this.duties.heartbeatDueInMs(now),
      quorumCheckDueInMs: leading && this.config.checkQuorum ? Math.max(0, this.duties.checkQuorum.deadline - now) : null,
      leaseActive: this.duties.inLease(now),
      leaderLeaseEndsInMs: leaseRemainingMs(this.duties.leaseExpiresAt(now), now),
      promise: this.duties.promise.inspect(now),
      votesGranted: [...this.votesGranted],
      votesRejected: [...this.votesRejected],
      transferTo: this.duties.transferTarget,
      metric: this.duties.takeover.metric,
      takeover: leading ? this.duties.takeover.inspect(now) : null,
      lastContactMsAgo: contactAges(this.lastContact, now),
      persisted: { ...this.confirmed },
    };
  }

  private handlePreVote(message: Extract<RaftMessage, { kind: 'PreVote' }>): void {
    // etcd's canVote: a pre-vote for a later term is granted; for this term only as a vote would be.
    // Beyond etcd, two pre-candidates proposing the same term would both campaign and split the
    // vote: the one ranked later (by priority, then member order) does not endorse the other, so the first-ranked
    // reachable pre-candidate always gathers the endorsements and no one is stuck.
    const rival = this.role === 'precandidate' && message.term === this.term + 1 && this.membership.ranksBefore(this.id, message.from);
    const granted = !rival && (message.term > this.term || this.grantsVote(message.from));
    this.send({ kind: 'PreVoteResp', from: this.id, to: message.from, term: granted ? message.term : this.term, granted });
  }

  private handleRequestVote(message: Extract<RaftMessage, { kind: 'RequestVote' }>, now: number): void {
    const granted = this.grantsVote(message.from);
    if (granted) {
      this.votedFor = message.from;
      this.election.reset(now);
    }
    this.send({ kind: 'RequestVoteResp', from: this.id, to: message.from, term: this.term, granted });
  }

  private handleHeartbeat(message: Extract<RaftMessage, { kind: 'Heartbeat' }>, now: number): void {
    if (this.role !== 'follower' || this.leaderId !== message.from) this.becomeFollower(this.term, message.from, now);
    this.duties.acceptHeartbeat(message, now);
  }

  /**
   * Without a log every candidate is "up to date"; what is left is one vote per term, and no
   * vote for a rival of a leader this node already follows in this term. (Protected, like
   * quorumSize and adoptHigherTerm, so that the mutation suite can break it on purpose.)
   */
  protected grantsVote(candidate: string): boolean {
    if (!this.membership.votes) return false;
    return this.votedFor === candidate || (this.votedFor === null && this.leaderId === null);
  }

  protected quorumSize(): number {
    return this.membership.quorum;
  }

  /** Whether this node may stand for election: it votes and its priority is above 0. */
  protected mayCampaign(): boolean {
    return this.membership.canLead(this.id);
  }

  /** The leader's watch for takeovers (a factory so that the mutation suite can swap in a broken one). */
  protected watchFollowers(...args: ConstructorParameters<typeof TakeoverWatch>): TakeoverWatch {
    return new TakeoverWatch(...args);
  }

  /** The leader lease's bookkeeping, both sides (factories so that the mutation suite can swap in broken ones). */
  protected leaseOfLeader(...args: ConstructorParameters<typeof LeaderLease>): LeaderLease {
    return new LeaderLease(...args);
  }

  protected promiseToLeaders(...args: ConstructorParameters<typeof LeasePromise>): LeasePromise {
    return new LeasePromise(...args);
  }

  /** A message of a later term: follow that term (the sender leads it if it sent a heartbeat). */
  protected adoptHigherTerm(message: RaftMessage, now: number): void {
    this.becomeFollower(message.term, message.kind === 'Heartbeat' ? message.from : null, now);
  }

  private countVote(from: string, granted: boolean, now: number): void {
    if (!this.membership.voters.has(from)) return;
    (granted ? this.votesGranted : this.votesRejected).add(from);
    if (this.votesGranted.size < this.quorumSize()) return;
    if (this.role === 'precandidate') this.campaign(now, false);
    else this.becomeLeader(now);
  }

  private startPreVote(now: number): void {
    if (this.refuseTermPastMax(now)) return;
    this.role = 'precandidate';
    this.leaderId = null;
    this.votesGranted = new Set([this.id]);
    this.votesRejected = new Set();
    this.election.reset(now);
    if (this.votesGranted.size >= this.quorumSize()) {
      this.campaign(now, false);
      return;
    }
    for (const peer of this.membership.voterPeers) this.send({ kind: 'PreVote', from: this.id, to: peer, term: this.term + 1 });
  }

  private campaign(now: number, transfer: boolean): void {
    if (this.refuseTermPastMax(now)) return;
    this.role = 'candidate';
    this.term += 1;
    this.votedFor = this.id;
    this.leaderId = null;
    this.votesGranted = new Set([this.id]);
    this.votesRejected = new Set();
    this.election.reset(now);
    if (this.votesGranted.size >= this.quorumSize()) {
      this.becomeLeader(now);
      return;
    }
    for (const peer of this.membership.voterPeers) this.send({ kind: 'RequestVote', from: this.id, to: peer, term: this.term, transfer });
  }

  /** At TERM_MAX there is no next term to campaign in: the node stays a follower. */
  private refuseTermPastMax(now: number): boolean {
    if (this.term < TERM_MAX) return false;
    this.becomeFollower(this.term, null, now);
    return true;
  }

  private becomeLeader(now: number): void {
    this.role = 'leader';
    this.leaderId = this.id;
    this.duties.lead(now);
  }

  private becomeFollower(term: number, leaderId: string | null, now: number): void {
    if (term > this.term) {
      this.term = term;
      this.votedFor = null;
    }
    this.role = 'follower';
    this.leaderId = leaderId;
    this.duties.follow(leaderId, now);
  }

  /** This node leads, or heard from its leader within the minimum election timeout. */
  private leaderAlive(now: number): boolean {
    return this.role === 'leader' || this.duties.checkQuorum.leaderHeardRecently(now, this.leaderId !== null);
  }

  private send(message: RaftMessage): void {
    this.outbox.push(message);
  }
}
