/**
 * Safety checks over an event stream, usable live (alarms) and in the simulator:
 * - election safety: at most one leader per term;
 * - vote safety: a node never votes for two different candidates in one term, and never votes
 *   (or promises) in a term below one it voted in before, even across crashes: what persisting
 *   the vote before answering guarantees.
 * Election safety is a property of Raft and Paxos, not of Bully, whose election numbers two
 * coordinators may share: for it, pass `singleLeaderPerTerm: false`.
 */
import type { ClusterEvent } from '../protocol/types.js';

export type SafetyViolationKind = 'two-leaders' | 'double-vote' | 'vote-regress';

export interface SafetyViolation {
  kind: SafetyViolationKind;
  term: number;
  nodes: string[];
  /** Cluster time of the event that revealed it. */
  t: number;
  seq: number;
  message: string;
}

export interface SafetyOptions {
  singleLeaderPerTerm: boolean;
}

export class SafetyMonitor {
  private readonly leaderOfTerm = new Map<number, { nodeId: string; t: number }>();
  /** Each node's latest vote: any later vote must be in a later term, or the same vote again. */
  private readonly lastVote = new Map<string, { term: number; votedFor: string }>();
  readonly violations: SafetyViolation[] = [];

  constructor(private readonly options: SafetyOptions = { singleLeaderPerTerm: true }) {}

  /** Checks one event; returns the violation it reveals, if any (also kept in `violations`). */
  observe(event: ClusterEvent): SafetyViolation | null {
    let violation: SafetyViolation | null = null;
    const found = (kind: SafetyViolationKind, term: number, nodes: string[], message: string): SafetyViolation => ({
      kind,
      term,
      nodes,
      t: event.t,
      seq: event.seq,
      message,
    });
    if (event.type === 'leader' && this.options.singleLeaderPerTerm) {
      const previous = this.leaderOfTerm.get(event.term);
      if (previous === undefined) {
        this.leaderOfTerm.set(event.term, { nodeId: event.nodeId, t: event.t });
      } else if (previous.nodeId !== event.nodeId) {
        violation = found(
          'two-leaders',
          event.term,
          [previous.nodeId, event.nodeId],
          `two leaders in term ${event.term}: ${previous.nodeId} (since t=${previous.t.toFixed(1)} ms) and ${event.nodeId} (t=${event.t.toFixed(1)} ms)`,
        );
      }
    } else if (event.type === 'vote') {
      const previous = this.lastVote.get(event.nodeId);
      if (previous !== undefined && event.term < previous.term) {
        violation = found('vote-regress', event.term, [event.nodeId], `${event.nodeId} voted in term ${event.term} after voting in term ${previous.term}`);
      } else if (previous !== undefined && event.term === previous.term && event.votedFor !== previous.votedFor) {
        violation = found(
          'double-vote',
          event.term,
          [event.nodeId],
          `${event.nodeId} voted twice in term ${event.term}: for ${previous.votedFor}, then for ${event.votedFor}`,
        );
      } else {
        this.lastVote.set(event.nodeId, { term: event.term, votedFor: event.votedFor });
      }
    }
    if (violation !== null) this.violations.push(violation);
    return violation;
  }
}
