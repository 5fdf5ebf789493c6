/**
 * A term far ahead of a node's own is not adopted on one member's word. Terms (election numbers,
 * ballots) grow by one election at a time, so a message whose term is more than a long outage's
 * worth of elections ahead comes from a broken member (or from someone holding the cluster token):
 * adopting it would make every member persist it, and a term at TERM_MAX leaves nobody able to
 * campaign again. Such a message is refused, and the refusal reported, unless a majority of the
 * voters has sent terms at least that high (then this node is the one that fell behind, and it
 * follows them).
 */
import { quorum, type AlgorithmName, type Message } from './election.js';

/**
 * How many elections ahead of a node's own term a message may be on one member's word: about 40
 * hours of elections failing every 150 ms on a member cut off without pre-vote.
 */
export const TERM_JUMP_ELECTIONS_MAX = 1_000_000;

/** Refusals of one sender's terms are reported at most twice this often: the first at once, then a count. */
export const TERM_REFUSED_WINDOW_MS = 5_000;

export interface TermRefusal {
  /** The highest term this node would have taken from that message. */
  limit: number;
}

export class TermGuard {
  /** The highest term each voter sent us. */
  private readonly reported = new Map<string, number>();
  private readonly jumpMax: number;

  constructor(
    private readonly self: string,
    private readonly voters: readonly string[],
    algorithm: AlgorithmName,
    memberCount: number,
  ) {
    // A Paxos ballot moves on by the number of members per round (ballot = round * n + index).
    this.jumpMax = TERM_JUMP_ELECTIONS_MAX * (algorithm === 'paxos' ? memberCount : 1);
  }

  /** Null when `message` may be stepped; else why not. `ownTerm` is this node's term now. */
  check(message: Message, ownTerm: number): TermRefusal | null {
    if (this.voters.includes(message.from) && message.term > (this.reported.get(message.from) ?? 0)) this.reported.set(message.from, message.term);
    const limit = ownTerm + this.jumpMax;
    if (message.term <= limit) return null;
    const terms = this.voters.map((voter) => (voter === this.self ? ownTerm : (this.reported.get(voter) ?? 0))).sort((a, b) => b - a);
    const backed = terms[quorum(this.voters.length) - 1] ?? 0;
    return backed >= message.term ? null : { limit: Math.max(limit, backed) };
  }
}
