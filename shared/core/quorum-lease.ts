import type { ElectionConfig } from './election.js';
import type { Membership } from './membership.js';

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
