/**
 * Each node as the model records it: its status changes (status, role and leader events), its
 * durable votes, its run state (kill, restart, pause and resume: by command, or as a remote
 * runtime reports it), which running node leads and since when, and handing leadership over.
 * What a down node shows is its last status while it ran (its term and vote are persisted).
 */
import { sameNodeStatus, type NodeStatus } from '../../../shared/core/election.js';
import type { CommandAck, LeaderInfo, NodeCommandType, NodeRunState, NodeView } from '../../../shared/protocol/types.js';
import type { Clock } from '../../runtime/clock.js';
import type { NodeControl } from '../target.js';
import type { EventRecorder } from './recorder.js';
import { refuse } from './refusals.js';

type RunCommandType = Exclude<NodeCommandType, 'transfer'>;

/** The run state each run command leaves a node in. */
const RUN_AFTER: Record<RunCommandType, NodeRunState> = { kill: 'down', restart: 'up', pause: 'paused', resume: 'up' };

export class NodeRecords {
  /** Last status of each node while it ran. */
  private readonly lastStatus = new Map<string, NodeStatus>();
  private readonly leaderSince = new Map<string, { t: number; at: number }>();
  /** Each node's last durable vote, recorded as a `vote` event once written. */
  private readonly durableVote = new Map<string, { term: number; votedFor: string }>();
  /** The run state each node was last recorded in (kill, restart, pause and resume events). */
  private readonly recordedRun = new Map<string, NodeRunState>();

  constructor(
    private readonly members: readonly string[],
    private readonly control: NodeControl,
    private readonly clock: Clock,
    private readonly recorder: Pick<EventRecorder, 'record' | 'now' | 'wallAt'>,
  ) {}

  view(id: string): NodeView {
    const live = this.control.status(id);
    const last = this.lastStatus.get(id);
    return live !== null
      ? { id, status: this.control.run(id), ...live }
      : { id, status: 'down', role: null, term: last?.term ?? 0, votedFor: last?.votedFor ?? null, leaderId: null };
  }

  /** The running leader of the highest term among these views, and since when it leads. */
  leader(nodes: readonly NodeView[]): LeaderInfo | null {
    let best: NodeView | null = null;
    for (const node of nodes) {
      if (node.status === 'up' && node.role === 'leader' && (best === null || node.term > best.term)) best = node;
    }
    if (best === null) return null;
    const since = this.leaderSince.get(best.id);
    return { id: best.id, term: best.term, sinceT: since?.t ?? this.clock.now(), sinceAt: since?.at ?? this.clock.wallNow() };
  }

  /** A node's status after a step or tick (`previous` null: it just booted); whether it changed. */
  observe(id: string, status: NodeStatus, previous: NodeStatus | null): boolean {
    this.lastStatus.set(id, status);
    if (sameNodeStatus(previous, status)) return false;
    this.recorder.record({ type: 'status', nodeId: id, ...status });
    if (previous?.role !== status.role) {
      this.recorder.record({ type: 'role', nodeId: id, from: previous?.role ?? null, to: status.role, term: status.term });
    }
    const becameLeader = status.role === 'leader' && (previous?.role !== 'leader' || previous.term !== status.term);
    if (becameLeader) {
      const t = this.recorder.now();
      this.leaderSince.set(id, { t, at: this.recorder.wallAt(t) });
      this.recorder.record({ type: 'leader', nodeId: id, term: status.term });
    } else if (status.role !== 'leader') {
      this.leaderSince.delete(id);
    }
    return true;
  }

  /** A vote counts once it is durable: only then may the grant leave the node. */
  persisted(id: string, status: NodeStatus): void {
    if (status.votedFor === null) return;
    const last = this.durableVote.get(id);
    if (last?.term === status.term && last.votedFor === status.votedFor) return;
    this.durableVote.set(id, { term: status.term, votedFor: status.votedFor });
    this.recorder.record({ type: 'vote', nodeId: id, term: status.term, votedFor: status.votedFor });
  }

  /**
   * A node's process changed state on its own, as a remote runtime reports it: recorded as the
   * command that would have done it, which is returned (null: no change).
   */
  reconcile(id: string, run: NodeRunState): { type: RunCommandType; nodeId: string } | null {
    const was = this.recordedRun.get(id) ?? 'up';
    if (was === run) return null;
    const type: RunCommandType = run === 'down' ? 'kill' : run === 'paused' ? 'pause' : was === 'down' ? 'restart' : 'resume';
    this.recordRun(type, id);
    return { type, nodeId: id };
  }

  /** Carries out a command on one member; refusals change nothing. */
  apply(type: NodeCommandType, id: string): CommandAck {
    const run = this.control.run(id);
    switch (type) {
      case 'kill':
        if (run === 'down') return refuse(`${id} is already down`);
        this.crash(id);
        this.recordRun('kill', id);
        return { ok: true };
      case 'restart':
        // Restarting a running node reboots it: a crash followed by a start.
        if (run !== 'down') this.crash(id);
        this.recordRun('restart', id);
        this.control.start(id);
        return { ok: true };
      case 'pause':
        if (run === 'down') return refuse(`${id} is down; only a running node can be paused`);
        if (run === 'paused') return refuse(`${id} is already paused`);
        this.control.pause(id);
        this.recordRun('pause', id);
        return { ok: true };
      case 'resume':
        if (run !== 'paused') return refuse(`${id} is not paused (it is ${run})`);
        this.recordRun('resume', id);
        this.control.resume(id);
        return { ok: true };
      case 'transfer':
        return this.transferTo(id);
    }
  }

  private recordRun(type: RunCommandType, id: string): void {
    this.recordedRun.set(id, RUN_AFTER[type]);
    if (type === 'kill') this.leaderSince.delete(id);
    this.recorder.record({ type, nodeId: id });
  }

  private crash(id: string): void {
    const status = this.control.status(id);
    if (status !== null) this.lastStatus.set(id, status);
    this.leaderSince.delete(id);
    this.control.kill(id);
  }

  private transferTo(target: string): CommandAck {
    const leader = this.leader(this.members.map((id) => this.view(id)));
    if (leader === null) return refuse('there is no leader to hand leadership over from');
    if (leader.id === target) return refuse(`${target} already leads`);
    const run = this.control.run(target);
    if (run !== 'up') return refuse(`${target} is ${run}; leadership can only go to a running node`);
    const result = this.control.transfer(leader.id, target);
    if (result.ok) this.recorder.record({ type: 'transfer', from: leader.id, to: target });
    return result;
  }
}
