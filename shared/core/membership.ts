import { quorum } from './election.js';
import { DEFAULT_PRIORITY, byPriority } from './leadership.js';

/**
 * Who is in the cluster from one node's point of view: its peers, the voters, the quorum, and
 * who may lead in which order (priorities, known to every node; shared/core/leadership.ts).
 */
export class Membership {
  readonly id: string;
  readonly members: readonly string[];
  readonly voters: ReadonlySet<string>;
  /** Every other member: heartbeats go to all of them. */
  readonly peers: readonly string[];
  /** Every other voter: vote requests go to them. */
  readonly voterPeers: readonly string[];
  /** Whether this node votes (a priority-0 voter votes but never leads). */
  readonly votes: boolean;
  readonly quorum: number;
  private priorities: Readonly<Record<string, number>>;
  /** Orders derived from the priorities, computed once per table (a follower asks at every heartbeat). */
  private readonly successors = new Map<string | null, string[]>();
  private bandOf: TimerSlot | null | undefined;

  constructor(id: string, members: readonly string[], voters: readonly string[] = members, priorities: Readonly<Record<string, number>> = {}) {
    this.id = id;
    this.members = members;
    this.voters = new Set(voters.filter((voter) => members.includes(voter)));
    this.peers = members.filter((member) => member !== id);
    this.voterPeers = this.peers.filter((peer) => this.voters.has(peer));
    this.votes = this.voters.has(id);
    this.quorum = quorum(this.voters.size);
    this.priorities = priorities;
  }

  isMember(id: string): boolean {
    return this.members.includes(id);
  }

  setPriorities(priorities: Readonly<Record<string, number>>): void {
    this.priorities = priorities;
    this.successors.clear();
    this.bandOf = undefined;
  }

  priority(id: string): number {
    return this.priorities[id] ?? DEFAULT_PRIORITY;
  }

  /** A voter whose priority is above 0. */
  canLead(id: string): boolean {
    return this.voters.has(id) && this.priority(id) > 0;
  }

  /** Whether `a` comes before `b` in rank order: a higher priority first, then member order. */
  ranksBefore(a: string, b: string): boolean {
    const [priorityA, priorityB] = [this.priority(a), this.priority(b)];
    return priorityA !== priorityB ? priorityA > priorityB : this.members.indexOf(a) < this.members.indexOf(b);
  }

  /**
   * This node's place among the members that would replace `leader` (those that may lead, the
   * leader left out, by priority and then member order): the first times out first. Null when
   * this node may not lead, or when the leader is unknown.
   */
  slotUnder(leader: string | null): TimerSlot | null {
    if (leader === null || !this.canLead(this.id)) return null;
    let successors = this.successors.get(leader);
    if (successors === undefined) {
      successors = byPriority(this.members, (id) => (this.voters.has(id) ? this.priority(id) : 0), (id) => id === leader);
      this.successors.set(leader, successors);
    }
    const index = successors.indexOf(this.id);
    return index < 0 ? null : { index, count: successors.length };
  }

  /**
   * With no leader to rank under: this node's band of the timeout range, one band per distinct
   * priority among the members that may lead (the highest first), so that higher priorities time
   * out sooner. Null (the whole range) when all share one priority or this node may not lead.
   */
  band(): TimerSlot | null {
    if (this.bandOf !== undefined) return this.bandOf;
    const levels = [...new Set([...this.voters].map((id) => this.priority(id)).filter((priority) => priority > 0))].sort((a, b) => b - a);
    this.bandOf = !this.canLead(this.id) || levels.length < 2 ? null : { index: levels.indexOf(this.priority(this.id)), count: levels.length };
    return this.bandOf;
  }
}

/** A node's place in the order in which nodes would time out: among a leader's successors, or among priority bands. */
export interface TimerSlot {
  index: number;
  count: number;
}
