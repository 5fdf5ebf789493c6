/**
 * Safety checks over an event stream, usable live (alarms) and in the simulator:
 * - election safety: at most one leader per term;
 * - vote safety: a node never votes for two different candidates in one term, even across
 *   crashes (which is what persisting the vote before answering guarantees).
 */
import type { ClusterEvent } from '../protocol/types.js';

export type SafetyViolationKind = 'two-leaders' | 'double-vote';

export interface SafetyViolation {
  kind: SafetyViolationKind;
  term: number;
  nodes: string[];
  /** Cluster time of the event that revealed it. */
  t: number;
  seq: number;
  message: string;
}

export class SafetyMonitor {
  private readonly leaderOfTerm = new Map<number, { nodeId: string; t: number }>();
  private readonly voteOfNode = new Map<string, Map<number, string>>();
  readonly violations: SafetyViolation[] = [];

  /** Checks one event; returns the violation it reveals, if any (also kept in `violations`). */
  observe(event: ClusterEvent): SafetyViolation | null {
    let violation: SafetyViolation | null = null;
    if (event.type === 'leader') {
      const previous = this.leaderOfTerm.get(event.term);
      if (previous === undefined) {
        this.leaderOfTerm.set(event.term, { nodeId: event.nodeId, t: event.t });
      } else if (previous.nodeId !== event.nodeId) {
        violation = {
          kind: 'two-leaders',
          term: event.term,
          nodes: [previous.nodeId, event.nodeId],
          t: event.t,
          seq: event.seq,
          message: `two leaders in term ${event.term}: ${previous.nodeId} (since t=${previous.t.toFixed(1)} ms) and ${event.nodeId} (t=${event.t.toFixed(1)} ms)`,
        };
      }
    } else if (event.type === 'vote') {
      let votes = this.voteOfNode.get(event.nodeId);
      if (votes === undefined) this.voteOfNode.set(event.nodeId, (votes = new Map()));
      const previous = votes.get(event.term);
      if (previous === undefined) {
        votes.set(event.term, event.votedFor);
      } else if (previous !== event.votedFor) {
        violation = {
          kind: 'double-vote',
          term: event.term,
          nodes: [event.nodeId],
          t: event.t,
          seq: event.seq,
          message: `${event.nodeId} voted twice in term ${event.term}: for ${previous}, then for ${event.votedFor}`,
        };
      }
    }
    if (violation !== null) this.violations.push(violation);
    return violation;
  }
}
