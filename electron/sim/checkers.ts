/**
 * Safety checks that need the simulator's global view, beyond the event-level SafetyMonitor
 * that the live dashboard shares:
 * - the wire: a voter never grants its vote (promise) in one term to two candidates (a
 *   candidate's request counts as its vote for itself), never grants in a term below one it
 *   granted in before, and a node becomes leader of a term only holding grants for it from a
 *   majority (itself included);
 * - the disks: a node reboots with at least the term, and the same vote, that its disk
 *   confirmed before the crash, and at least the highest term it sent in a message (a runtime
 *   that sends before saving shows here: its messages outlive what it wrote);
 * - rival majorities: of two nodes leading at once, at most one holds a majority, i.e. a
 *   majority of nodes whose term and vote (promise) are its own (down nodes count what they
 *   would reboot with).
 * Each check names the node and the term, so that a failing seed explains itself.
 */
import { quorum, type Message, type NodeStatus, type VoteGrant } from '../../shared/core/election.js';

export type WireViolationKind = 'double-grant' | 'grant-regress' | 'leader-without-quorum' | 'term-regress' | 'vote-forgotten' | 'rival-majorities';

export interface Finding {
  kind: WireViolationKind;
  message: string;
}

interface Durable {
  term: number;
  votedFor: string | null;
}

export class GlobalChecks {
  /** Each voter's latest grant: the term, and the candidate it went to. */
  private readonly grants = new Map<string, { term: number; candidate: string }>();
  /** Each candidate's grants received in its latest term, in this boot. */
  private readonly received = new Map<string, { term: number; voters: Set<string> }>();
  /** What each node's disk confirmed last. */
  private readonly confirmed = new Map<string, Durable>();
  /** The highest durable term each node has shown in a message. */
  private readonly termSent = new Map<string, number>();
  private readonly majority: number;

  constructor(
    members: readonly string[],
    private readonly voteGrant: (message: Message) => VoteGrant | null,
    private readonly committedTerm: (message: Message) => number | null,
  ) {
    this.majority = quorum(members.length);
  }

  /** A message left its sender (delivered or not, a grant commits the voter). */
  sent(message: Message): Finding | null {
    const shown = this.committedTerm(message);
    if (shown !== null && shown > (this.termSent.get(message.from) ?? -1)) this.termSent.set(message.from, shown);
    const grant = this.voteGrant(message);
    if (grant === null) return null;
    const { voter, candidate, term } = grant;
    const earlier = this.grants.get(voter);
    if (earlier === undefined || term > earlier.term) {
      this.grants.set(voter, { term, candidate });
      return null;
    }
    if (term < earlier.term) {
      return { kind: 'grant-regress', message: `${voter} granted a vote in term ${term} after granting one in term ${earlier.term} (seen on the wire)` };
    }
    if (earlier.candidate === candidate) return null;
    const whom = (id: string): string => (id === voter ? 'itself' : id);
    return {
      kind: 'double-grant',
      message: `${voter} gave its vote in term ${term} to ${whom(earlier.candidate)}, then to ${whom(candidate)} (seen on the wire)`,
    };
  }

  /** A message reached its recipient's process. */
  delivered(message: Message): void {
    const grant = this.voteGrant(message);
    if (grant === null || grant.candidate !== message.to) return;
    const current = this.received.get(message.to);
    if (current === undefined || grant.term > current.term) this.received.set(message.to, { term: grant.term, voters: new Set([grant.voter]) });
    else if (grant.term === current.term) current.voters.add(grant.voter);
  }

  /** A node became leader of `term`: it must hold grants from a majority, itself included. */
  becameLeader(nodeId: string, term: number): Finding | null {
    const current = this.received.get(nodeId);
    const voters = new Set(current?.term === term ? current.voters : []);
    voters.add(nodeId);
    if (voters.size >= this.majority) return null;
    return {
      kind: 'leader-without-quorum',
      message: `${nodeId} became leader of term ${term} holding grants from ${voters.size} node(s) (${[...voters].sort().join(', ')}); a majority is ${this.majority}`,
    };
  }

  persisted(nodeId: string, status: NodeStatus): void {
    this.confirmed.set(nodeId, { term: status.term, votedFor: status.votedFor });
  }

  /** A node booted: it must remember what its disk confirmed. */
  booted(nodeId: string, status: NodeStatus): Finding | null {
    this.received.delete(nodeId);
    const sentTerm = this.termSent.get(nodeId) ?? -1;
    if (status.term < sentTerm) {
      return { kind: 'term-regress', message: `${nodeId} rebooted in term ${status.term}, below term ${sentTerm} of a message it had sent` };
    }
    const before = this.confirmed.get(nodeId);
    if (before === undefined) return null;
    if (status.term < before.term) {
      return { kind: 'term-regress', message: `${nodeId} rebooted in term ${status.term}, below term ${before.term} that its disk had confirmed` };
    }
    if (status.term === before.term && before.votedFor !== null && status.votedFor !== before.votedFor) {
      return {
        kind: 'vote-forgotten',
        message: `${nodeId} rebooted in term ${status.term} without its confirmed vote for ${before.votedFor} (it could vote again)`,
      };
    }
    return null;
  }

  /** With two or more leaders at once, at most one may hold a majority. */
  rivalMajorities(nodes: ReadonlyArray<{ id: string; status: NodeStatus | null }>): Finding | null {
    const leaders = nodes.filter((node) => node.status?.role === 'leader');
    if (leaders.length < 2) return null;
    const holding = leaders.filter((leader) => {
      let holders = 0;
      for (const node of nodes) {
        const view = node.status ?? this.confirmed.get(node.id);
        if (view !== undefined && view.term === leader.status!.term && view.votedFor === leader.id) holders += 1;
      }
      return holders >= this.majority;
    });
    if (holding.length < 2) return null;
    return {
      kind: 'rival-majorities',
      message: `${holding.map((leader) => `${leader.id} (term ${leader.status!.term})`).join(' and ')} lead at once, each holding a majority`,
    };
  }
}
