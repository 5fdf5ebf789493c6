/**
 * Whether a majority follows a leader: the running leader a majority of running voters follow
 * in its term, recorded as a `quorum` event when it changes, and when a fault cut that leader off
 * (crashed, froze, or left unable to reach a majority both ways) a `leader-lost` event: where a
 * failover starts.
 */
import { quorum, type NodeStatus } from '../../../shared/core/election.js';
import type { ClusterCommand, ClusterEventBody, LeaderLossCause } from '../../../shared/protocol/types.js';
import type { NodeControl } from '../target.js';

export interface MajorityLeader {
  id: string;
  term: number;
}

export class MajorityTracker {
  /** The running leader followed by a majority of running voters, as last recorded. */
  private majorityLeader: MajorityLeader | null = null;
  /** A fault cut the majority leader off (recorded as leader-lost) and it has not regained a majority. */
  private leaderCutOff = false;

  constructor(
    private readonly members: readonly string[],
    private readonly voters: ReadonlySet<string>,
    private readonly control: NodeControl,
    /** Whether a message from one node gets through to another right now. */
    private readonly linkOpen: (from: string, to: string) => boolean,
    private readonly record: (body: Extract<ClusterEventBody, { type: 'quorum' | 'leader-lost' }>) => void,
  ) {}

  /** The majority leader as last recorded. */
  get leader(): MajorityLeader | null {
    return this.majorityLeader;
  }

  /** Records a change of the majority leader, if there is one. */
  update(): void {
    const current = this.find();
    const previous = this.majorityLeader;
    if (current?.id === previous?.id && current?.term === previous?.term) return;
    this.majorityLeader = current;
    this.leaderCutOff = false;
    this.record({ type: 'quorum', leaderId: current?.id ?? null, term: current?.term ?? null });
  }

  /**
   * After a fault: if it cut the majority leader `before` it off, record when. If the network
   * heals before anyone else leads, record that the same leader has its majority again.
   */
  checkLoss(before: MajorityLeader | null, command: ClusterCommand): void {
    if (before === null) return;
    const run = this.control.run(before.id);
    const rebooted = command.type === 'restart' && command.nodeId === before.id;
    let cause: LeaderLossCause | null = null;
    if (run === 'down' || rebooted) cause = 'killed';
    else if (run === 'paused') cause = 'paused';
    else if (!this.reachesMajority(before.id)) cause = 'cut off';
    if (cause !== null && !this.leaderCutOff) {
      this.leaderCutOff = true;
      this.record({ type: 'leader-lost', leaderId: before.id, term: before.term, cause });
    } else if (cause === null && this.leaderCutOff && this.find()?.id === before.id) {
      this.leaderCutOff = false;
      this.record({ type: 'quorum', leaderId: before.id, term: before.term });
    }
  }

  /** The running leader that a majority of running voters (itself included) follow in its term. */
  private find(): MajorityLeader | null {
    const majority = quorum(this.voters.size);
    const running: Array<{ id: string; status: NodeStatus }> = [];
    for (const id of this.members) {
      const status = this.control.run(id) === 'up' ? this.control.status(id) : null;
      if (status !== null) running.push({ id, status });
    }
    for (const candidate of running) {
      if (candidate.status.role !== 'leader') continue;
      let followers = 0;
      for (const other of running) {
        if (this.voters.has(other.id) && other.status.leaderId === candidate.id && other.status.term === candidate.status.term) followers += 1;
      }
      if (followers >= majority) return { id: candidate.id, term: candidate.status.term };
    }
    return null;
  }

  /** Whether a node can exchange messages both ways with a majority of running voters (itself included). */
  private reachesMajority(id: string): boolean {
    let reachable = this.voters.has(id) ? 1 : 0;
    for (const other of this.members) {
      if (other !== id && this.voters.has(other) && this.control.run(other) === 'up' && this.linkOpen(id, other) && this.linkOpen(other, id)) reachable += 1;
    }
    return reachable >= quorum(this.voters.size);
  }
}
