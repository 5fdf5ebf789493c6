/**
 * The leader lease behind `GET /leader` and `--on-elected` (docs/lease.md): a leader claims
 * leadership to applications only while it holds a lease, and no two members hold one at the
 * same instant of real time, whatever the network, crash hints or restarts do.
 *
 * - Every heartbeat round carries a number. A follower that accepts a heartbeat makes its
 *   leader a *promise*: for PROMISE_HEARTBEATS heartbeat intervals from then (its own clock), it
 *   acknowledges no other leader's heartbeats as fresh. Its answer says whether the ack is
 *   fresh: whether it held an unexpired promise to another leader (or term) when it answered.
 *   A node that boots holds a promise to nobody for that long, since it may have made one
 *   before it crashed.
 * - A leader holds the lease from the moment it *sent* a round that a majority (itself
 *   included) acknowledged freshly, for the promise shortened by the clock-drift bound (as
 *   measured on its own clock, which may run faster than theirs). So its lease ends before any of
 *   those followers' promises, and a later leader needs fresh acks from a majority, one of which
 *   comes from a follower of that same majority once its promise ended.
 * - Crash hints and votes play no part: a hint may let a follower vote at once (a fast
 *   election), but not acknowledge the new leader freshly before its promise ends.
 * - A follower that answers a new leader not yet freshly says when it will (`freshInMs`), and
 *   the leader sends a round then instead of waiting for its next heartbeat: the lease starts
 *   within a round trip of the old one's end. Only speed depends on it; a wrong figure costs a
 *   round, never safety, since only fresh answers back a lease.
 */
import type { ElectionConfig } from './election.js';
import type { Membership } from './membership.js';

/** A follower's promise lasts this many heartbeat intervals: the leader renews it every one, with room for a late round trip. */
export const PROMISE_HEARTBEATS = 2;
/** Clocks may run this much faster or slower than real time (1%), by default; a cluster file may say otherwise. */
export const DEFAULT_CLOCK_DRIFT_MAX = 0.01;
/** Clock drift bounds a cluster may set. */
export const CLOCK_DRIFT_MAX_LIMIT = 0.5;
/** Taken off the lease besides the drift: timers that fire late, the time to act on a lapse. */
export const LEASE_MARGIN_MS = 2;

export interface LeaseTiming {
  /** How long a follower's promise lasts after it accepts a heartbeat (its clock). */
  promiseMs: number;
  /** How long a leader's lease lasts after it sent a round a majority acknowledged freshly (its clock). */
  leaseMs: number;
  /** The clock-drift bound both allow for. */
  clockDriftMax: number;
}

/** Time reported by a follower for when its answers turn fresh is bounded by this (ms); more is read as this. */
export const FRESH_IN_MS_MAX = 600_000;
/** A round meant to find a follower's promise ended leaves this long after the figure it gave, besides the drift allowance. */
export const FRESH_ROUND_MARGIN_MS = 1;

/** A message's `freshInMs` field: absent, or a finite number of ms from 0 to FRESH_IN_MS_MAX. */
export function isFreshInMsField(value: unknown): boolean {
  return value === undefined || (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= FRESH_IN_MS_MAX);
}

/**
 * A lease outlives none of the promises behind it: a promise of P ms on a clock up to `drift`
 * slow lasts at least P(1 − drift) real ms, a lease of L ms on a clock up to `drift` fast at most
 * L(1 + drift); so L = P(1 − drift)/(1 + drift), less a margin.
 */
export function leaseTiming(config: ElectionConfig, clockDriftMax = DEFAULT_CLOCK_DRIFT_MAX): LeaseTiming {
  const promiseMs = PROMISE_HEARTBEATS * config.heartbeatMs;
  const leaseMs = Math.max(0, (promiseMs * (1 - clockDriftMax)) / (1 + clockDriftMax) - LEASE_MARGIN_MS);
  return { promiseMs, leaseMs, clockDriftMax };
}

/** A follower's side: the promise it made to the leader whose heartbeats it last accepted. */
export class LeasePromise {
  private leader: string | null = null;
  private term = -1;
  /** When the promise to the current leader (and term) ends. */
  private until = -Infinity;
  /** When the last promise to any other leader or term ends: until then, no ack is fresh. */
  private blockedUntil: number;

  constructor(
    protected readonly timing: LeaseTiming,
    now: number,
  ) {
    // Booted: a promise made before a crash may still run, to a leader this node no longer knows.
    this.blockedUntil = now + timing.promiseMs;
  }

  /**
   * Accepts a heartbeat of `leader` in `term`: whether the ack is fresh (no unexpired promise to
   * another leader or term stands), and a promise to this one from now.
   */
  accept(leader: string, term: number, now: number): boolean {
    if (this.leader !== leader || this.term !== term) {
      this.blockedUntil = Math.max(this.blockedUntil, this.until);
      this.leader = leader;
      this.term = term;
    }
    this.until = now + this.timing.promiseMs;
    return now >= this.blockedUntil;
  }

  /** How long until this follower's answers are fresh (0: they are), for the leader to send a round then. */
  freshInMs(now: number): number {
    return Math.max(0, this.blockedUntil - now);
  }

  /** A hint that the leader crashed changes nothing: a promise lasts its length whatever the connections do (docs/lease.md). */
  hinted(_peer: string, _now: number): void {}

  /** Forgets every promise (for the mutation suite's break of the rule above). */
  protected forget(): void {
    this.leader = null;
    this.term = -1;
    this.until = -Infinity;
    this.blockedUntil = -Infinity;
  }

  /** For the detail view: to whom, how long it still runs, and how long until acks are fresh. */
  inspect(now: number): { to: string | null; term: number | null; remainingMs: number; freshInMs: number } {
    return { to: this.leader, term: this.term < 0 ? null : this.term, remainingMs: Math.max(0, this.until - now), freshInMs: Math.max(0, this.blockedUntil - now) };
  }
}

/** A leader's side: its heartbeat rounds, when each left, and who acknowledged which freshly. */
export class LeaderLease {
  private round = 0;
  /** Send times of the rounds not yet superseded by a majority's acks, by round. */
  private readonly sentAt = new Map<number, number>();
  /** The latest round each voter acknowledged freshly. */
  private readonly acked = new Map<string, number>();
  /** When each voter that answered but not freshly said it would answer freshly (this node's clock). */
  private readonly freshAt = new Map<string, number>();
  /** When the last round left. */
  private lastSentAt = -Infinity;
  /** When the lease ends (this node's clock); -Infinity while it holds none. */
  private until = -Infinity;
  private leading = false;

  constructor(
    protected readonly timing: LeaseTiming,
    private readonly membership: Membership,
  ) {}

  /** A new term of leadership: no round is acknowledged yet. */
  lead(): void {
    this.leading = true;
    this.reset();
  }

  /** No longer leading (or handing over): the lease ends now. */
  stop(): void {
    this.leading = false;
    this.reset();
  }

  private reset(): void {
    this.sentAt.clear();
    this.acked.clear();
    this.freshAt.clear();
    this.lastSentAt = -Infinity;
    this.until = -Infinity;
  }

  /** A heartbeat round leaves now: its number, for the heartbeats to carry. Rounds too old to extend the lease beyond now are forgotten. */
  send(now: number): number {
    this.round += 1;
    this.sentAt.set(this.round, now);
    this.lastSentAt = now;
    for (const [round, at] of this.sentAt) if (at + this.timing.leaseMs <= now) this.sentAt.delete(round);
    return this.round;
  }

  /**
   * A voter's answer to `round` (this node's own, too), at `now`; only a fresh one backs the
   * lease. A stale one may say in how long the voter's answers turn fresh (its clock).
   */
  answer(peer: string, round: number, fresh: boolean, now: number, freshInMs?: number): void {
    if (!this.leading || !this.membership.voters.has(peer) || round > this.round) return;
    if (!fresh) {
      if (freshInMs !== undefined && Number.isFinite(freshInMs) && freshInMs >= 0) {
        // Its clock may run slow and this one fast: the figure is stretched by both drifts.
        const drift = this.timing.clockDriftMax;
        const stretched = (Math.min(freshInMs, FRESH_IN_MS_MAX) * (1 + drift)) / (1 - Math.min(drift, 0.9));
        this.freshAt.set(peer, now + stretched + FRESH_ROUND_MARGIN_MS);
      }
      return;
    }
    this.freshAt.delete(peer);
    if (round <= (this.acked.get(peer) ?? 0)) return;
    this.acked.set(peer, round);
    this.extend(now);
  }

  /** When the lease ends on this node's clock, or null while it holds none at `now`. */
  expiresAt(now: number): number | null {
    return this.leading && now < this.until ? this.until : null;
  }

  /** Time passed: a lease whose end has come is over (so that its end is no longer a deadline). */
  tick(now: number): void {
    if (now >= this.until) this.until = -Infinity;
  }

  /** The next moment the lease's standing changes: its end, while it holds one. */
  deadline(): number {
    return this.leading && Number.isFinite(this.until) ? this.until : Infinity;
  }

  /**
   * While it holds no lease: when enough voters will answer freshly for a round sent then to
   * win one, if that is after the last round left (Infinity otherwise, or while unknown). The
   * leader sends a round at that moment rather than at its next heartbeat.
   */
  roundDue(): number {
    if (!this.leading || Number.isFinite(this.until)) return Infinity;
    const ready = [...this.membership.voters].map((voter) => (this.acked.has(voter) ? -Infinity : (this.freshAt.get(voter) ?? Infinity))).sort((a, b) => a - b);
    const at = ready[this.membership.quorum - 1] ?? Infinity;
    // Never more than one round per eighth of a promise, whatever a broken follower reports.
    return at > this.lastSentAt ? Math.max(at, this.lastSentAt + this.timing.promiseMs / 8) : Infinity;
  }

  /**
   * Where a round's lease starts: when the round was *sent*, since each follower's promise began
   * when it received the round, later. (Protected, like lengthMs, for the mutation suite.)
   */
  protected startOf(sentAt: number, _ackedAt: number): number {
    return sentAt;
  }

  /** How long a lease lasts: the promise shortened by the drift bound. */
  protected lengthMs(): number {
    return this.timing.leaseMs;
  }

  private extend(now: number): void {
    // The latest round a majority acknowledged freshly (this node acknowledges its own rounds too, freshly once no promise to another stands).
    const rounds = [...this.membership.voters].map((voter) => this.acked.get(voter) ?? 0).sort((a, b) => b - a);
    const backed = rounds[this.membership.quorum - 1] ?? 0;
    const sentAt = this.sentAt.get(backed);
    if (sentAt === undefined) return;
    this.until = Math.max(this.until, this.startOf(sentAt, now) + this.lengthMs());
    // Rounds before it can no longer extend the lease.
    for (const round of this.sentAt.keys()) if (round < backed) this.sentAt.delete(round);
  }
}

/** How long a lease ending at `expiresAt` still runs, for the detail view; null for none. */
export function leaseRemainingMs(expiresAt: number | null, now: number): number | null {
  return expiresAt === null ? null : Math.max(0, expiresAt - now);
}
