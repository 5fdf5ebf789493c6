/**
 * What a Raft or Paxos leader does to keep leading, and its followers' side of it: heartbeat
 * rounds, check-quorum (quorum-lease.ts), the leader lease (lease.ts), transfers (transfer.ts),
 * takeovers (takeover.ts) and crash hints. The two algorithms differ in how a node wins and in
 * what a term is; once one leads, the rest is this part. The algorithm keeps its role, term and
 * leader, tells the part when it starts to lead or follow, and lends it the rest through a host.
 */
import type { ActionResult, ElectionConfig, Envelope, Hint, Notice, Role } from './election.js';
import type { ElectionTimer } from './election-timer.js';
import type { LeadershipConfig } from './leadership.js';
import type { LeaderLease, LeasePromise } from './lease.js';
import type { Membership } from './membership.js';
import { QuorumLease } from './quorum-lease.js';
import type { TakeoverWatch } from './takeover.js';
import { startTransfer, transferRefusal, type Transfer } from './transfer.js';

/** The messages this part sends; `Reply` is the algorithm's kind of a follower's answer to a heartbeat. */
export type DutyMessage<Reply extends string> =
  | (Envelope & { kind: 'Heartbeat'; round: number })
  | (Envelope & { kind: Reply; round: number; fresh: boolean; freshInMs?: number; metric?: number })
  | (Envelope & { kind: 'TimeoutNow'; deadline: number });

/** A follower's answer to a heartbeat as the leader reads it: `round` is absent on an answer to a stale one. */
export interface HeartbeatAnswer {
  from: string;
  round?: number;
  fresh?: boolean;
  freshInMs?: number;
  metric?: number;
}

/** What the part reads of the node that holds it, and what it asks of it. */
export interface DutyHost<Reply extends string> {
  readonly id: string;
  readonly replyKind: Reply;
  role(): Role;
  leaderId(): string | null;
  /** The term (Paxos: the ballot promised) the node is in. */
  term(): number;
  /** The algorithm's rule for standing for election (a method, so that the mutation suite can break it). */
  mayCampaign(): boolean;
  /** Follow no one in the current term: the leader lost its majority, or a campaign is abandoned. */
  stepDown(now: number): void;
  send(message: DutyMessage<Reply>): void;
}

/** The parts the algorithm builds itself (Raft's lease and either's takeover watch through factories the mutation suite overrides). */
export interface DutyParts {
  config: ElectionConfig;
  membership: Membership;
  election: ElectionTimer;
  promise: LeasePromise;
  leaderLease: LeaderLease;
  takeover: TakeoverWatch;
}

export class LeaderDuties<Reply extends string> {
  /** Check-quorum, and the stickiness it brings. */
  readonly checkQuorum: QuorumLease;
  /** The leader lease applications see: this node's promise as a follower, its lease as a leader. */
  readonly promise: LeasePromise;
  private readonly leaderLease: LeaderLease;
  /** Leaders: whether leadership should move on its own (priority takeover, the preferred-leader rule). */
  readonly takeover: TakeoverWatch;
  private readonly config: ElectionConfig;
  private readonly membership: Membership;
  private readonly election: ElectionTimer;
  /** Leaders: when the next heartbeat is due. */
  private heartbeatDeadline = Infinity;
  /** Leaders: an ongoing leadership transfer. */
  private transfer: Transfer | null = null;
  private notices: Notice[] = [];

  constructor(
    private readonly host: DutyHost<Reply>,
    parts: DutyParts,
  ) {
    this.config = parts.config;
    this.membership = parts.membership;
    this.election = parts.election;
    this.checkQuorum = new QuorumLease(parts.config, parts.membership);
    this.promise = parts.promise;
    this.leaderLease = parts.leaderLease;
    this.takeover = parts.takeover;
  }

  /** The node won: its first heartbeat round leaves now. */
  lead(now: number): void {
    this.transfer = null;
    this.checkQuorum.lead(now);
    this.leaderLease.lead();
    this.takeover.lead();
    this.heartbeat(now);
  }

  /** The node follows `leaderId` (null: no one yet) from now: no more rounds, its election timer restarts. */
  follow(leaderId: string | null, now: number): void {
    if (leaderId !== null) this.checkQuorum.heardFromLeader(now);
    this.heartbeatDeadline = Infinity;
    this.checkQuorum.stop();
    this.leaderLease.stop();
    this.transfer = null;
    this.election.reset(now, leaderId);
  }

  /** A leader's tick: a transfer expires, a leader without a majority's answers steps down, a round leaves when due. */
  tick(now: number): void {
    this.leaderLease.tick(now);
    if (this.transfer !== null && now >= this.transfer.deadline) {
      this.takeover.failed(this.transfer.target, now);
      this.transfer = null;
    }
    if (now >= this.checkQuorum.deadline && !this.checkQuorum.renew(now)) {
      this.host.stepDown(now);
      return;
    }
    if (now >= this.heartbeatDeadline) {
      this.considerTakeover(now);
      this.heartbeat(now);
    } else if (now >= this.leaderLease.roundDue()) {
      // Enough followers' promises to the old leader have ended: a round now wins the lease.
      this.heartbeat(now);
    }
  }

  /** Ready's `wakeAt`: a leader's next round, check or deadline; otherwise the election timer, if the node may campaign. */
  wakeAt(): number {
    if (this.host.role() === 'leader') {
      return Math.min(this.heartbeatDeadline, this.checkQuorum.deadline, this.transfer?.deadline ?? Infinity, this.leaderLease.deadline(), this.leaderLease.roundDue());
    }
    return this.host.mayCampaign() ? this.election.deadline : Infinity;
  }

  /** What the node decided on its own since the last call (ready's `notices`). */
  takeNotices(): Notice[] {
    const notices = this.notices;
    this.notices = [];
    return notices;
  }

  leaseExpiresAt(now: number): number | null {
    return this.host.role() === 'leader' ? this.leaderLease.expiresAt(now) : null;
  }

  /** A follower heard its leader's heartbeat (the algorithm already follows the sender): it trusts it, promises it, answers. */
  acceptHeartbeat(heartbeat: { from: string; round: number }, now: number): void {
    const term = this.host.term();
    this.checkQuorum.heardFromLeader(now);
    this.election.reset(now, heartbeat.from);
    const fresh = this.promise.accept(heartbeat.from, term, now);
    const metric = this.takeover.metric;
    this.host.send({
      kind: this.host.replyKind,
      from: this.host.id,
      to: heartbeat.from,
      term,
      round: heartbeat.round,
      fresh,
      ...(fresh ? {} : { freshInMs: this.promise.freshInMs(now) }),
      ...(metric === null ? {} : { metric }),
    });
  }

  /** A leader reads a follower's answer of its own term: for the lease, check-quorum and the takeover watch. */
  answered(answer: HeartbeatAnswer, now: number): void {
    if (answer.round !== undefined) this.leaderLease.answer(answer.from, answer.round, answer.fresh === true, now, answer.freshInMs);
    this.checkQuorum.answer(answer.from);
    this.takeover.answered(answer.from, answer.metric ?? null, now);
  }

  hint(hint: Hint, now: number): void {
    if (hint.kind !== 'peer-down' || this.host.role() !== 'follower' || hint.peer !== this.host.leaderId() || !this.membership.votes) return;
    // A voter stops trusting it (so that it grants the successors' requests); one that may lead hurries.
    // Its lease promise stands: a new leader still waits for it to end before its lease begins.
    this.promise.hinted(hint.peer, now);
    this.checkQuorum.leaderLost();
    if (this.host.mayCampaign()) this.election.hurry(now, hint.peer);
  }

  setLeadership(leadership: LeadershipConfig, now: number): void {
    const could = this.host.mayCampaign();
    this.membership.setPriorities(leadership.priorities);
    this.takeover.setLeadership(leadership, now);
    const role = this.host.role();
    if (role === 'leader') {
      this.considerTakeover(now); // a leader whose priority became 0 hands over at once
    } else if (!this.host.mayCampaign() && role !== 'follower') {
      this.host.stepDown(now); // abandons its campaign
    } else if (this.host.mayCampaign() && !could) {
      this.election.reset(now, this.host.leaderId()); // its timer starts now
    }
  }

  transferLeadership(target: string, now: number): ActionResult {
    const refusal = transferRefusal({ id: this.host.id, role: this.host.role(), membership: this.membership }, target);
    if (refusal !== null) return refusal;
    this.transfer = startTransfer(this.config, target, now);
    this.sendTimeoutNow(this.transfer);
    return { ok: true };
  }

  /** Stickiness (only with check-quorum, as in etcd): a live leader was heard from recently. */
  inLease(now: number): boolean {
    return this.checkQuorum.holds(now, this.host.leaderId() !== null);
  }

  /** For the detail view: null while not leading. */
  heartbeatDueInMs(now: number): number | null {
    return this.host.role() === 'leader' ? Math.max(0, this.heartbeatDeadline - now) : null;
  }

  get transferTarget(): string | null {
    return this.transfer?.target ?? null;
  }

  /** Hands leadership over on its own when a follower should lead instead (takeover.ts), saying why. */
  private considerTakeover(now: number): void {
    const notice = this.takeover.consider(now, this.host.role() === 'leader' && this.transfer === null, (target) => this.transferLeadership(target, now));
    if (notice !== null) this.notices.push(notice);
  }

  private heartbeat(now: number): void {
    const { id } = this.host;
    const term = this.host.term();
    const round = this.leaderLease.send(now);
    // The leader answers its own round as a follower would: freshly once no promise to another leader stands.
    this.leaderLease.answer(id, round, this.promise.accept(id, term, now), now, this.promise.freshInMs(now));
    for (const peer of this.membership.peers) this.host.send({ kind: 'Heartbeat', from: id, to: peer, term, round });
    // Until the transfer completes or times out, repeat the hand-over with every heartbeat in
    // case the first TimeoutNow was lost or reached the target before it followed this leader.
    if (this.transfer !== null) this.sendTimeoutNow(this.transfer);
    this.heartbeatDeadline = now + this.config.heartbeatMs;
  }

  private sendTimeoutNow(transfer: Transfer): void {
    this.host.send({ kind: 'TimeoutNow', from: this.host.id, to: transfer.target, term: this.host.term(), deadline: transfer.deadline });
  }
}
