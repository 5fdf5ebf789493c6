/**
 * The cluster as it was at a moment of a run, from its events: what a replayed record and a
 * rewound live run both show. A RunAnalysis fed up to the moment answers for roles, terms,
 * faults and metrics; going back in time rebuilds it from the run's start (or from a base state
 * when the oldest events are no longer kept), going forward feeds the next events.
 */
import { ALGORITHM_INFO } from '../../../shared/algorithms.js';
import { RunAnalysis } from '../../../shared/analysis/run.js';
import type { AlgorithmName, ElectionConfig } from '../../../shared/core/election.js';
import type { ClusterEvent, ClusterEventBody, ClusterSnapshot, LeaderInfo, NodeView, TargetInfo } from '../../../shared/protocol/types.js';

export interface RunIdentity {
  runId: string;
  target: TargetInfo;
  algorithm: AlgorithmName;
  config: ElectionConfig;
  members: readonly string[];
}

export function newAnalysis(members: readonly string[], algorithm: AlgorithmName): RunAnalysis {
  return new RunAnalysis({ members, singleLeaderPerTerm: ALGORITHM_INFO[algorithm].singleLeaderPerTerm });
}

/** Running nodes in the leader role, the highest term first. */
export function leadersAmong(nodes: readonly NodeView[]): NodeView[] {
  return nodes.filter((node) => node.status === 'up' && node.role === 'leader').sort((a, b) => b.term - a.term || (a.id < b.id ? -1 : 1));
}

/** A snapshot of the moment `t`, as the hub would have sent it then. */
export function snapshotAt(analysis: RunAnalysis, run: RunIdentity, t: number): ClusterSnapshot {
  const nodes = analysis.nodeViews();
  const top = leadersAmong(nodes)[0];
  let leader: LeaderInfo | null = null;
  if (top !== undefined) {
    const period = analysis.leadership.findLast((p) => p.nodeId === top.id && p.endT === null);
    leader = { id: top.id, term: top.term, sinceT: period?.startT ?? t, sinceAt: period?.startAt ?? analysis.lastAt };
  }
  return {
    runId: run.runId,
    target: run.target,
    algorithm: run.algorithm,
    config: run.config,
    nodes,
    faults: analysis.activeFaults(),
    network: analysis.network(),
    leader,
    clockSpeed: analysis.clockSpeed,
    scenario: null,
    t,
    at: analysis.lastAt + (t - analysis.lastT),
    lastEventSeq: 0,
  };
}

/**
 * Events that put a fresh analysis in the state another one has reached: each node's role and
 * run state, the partition, link faults and the clock, stamped at `t`. How a rewind starts
 * when the run's oldest events are no longer kept.
 */
export function seedEvents(base: RunAnalysis, t: number): ClusterEvent[] {
  const at = base.lastAt;
  const bodies: ClusterEventBody[] = [];
  for (const node of base.nodeViews()) {
    if (node.role !== null) bodies.push({ type: 'status', nodeId: node.id, role: node.role, term: node.term, votedFor: node.votedFor, leaderId: node.leaderId });
    if (node.status === 'down') bodies.push({ type: 'kill', nodeId: node.id });
    if (node.status === 'paused') bodies.push({ type: 'pause', nodeId: node.id });
    if (node.status === 'up' && node.role === 'leader') bodies.push({ type: 'leader', nodeId: node.id, term: node.term });
  }
  const network = base.network();
  if (network.partition !== null) bodies.push({ type: 'partition', label: network.partition.label, groups: network.partition.groups, blocked: network.blocked });
  for (const link of network.links) bodies.push({ type: 'link', from: link.from, to: link.to, fault: link.fault });
  if (base.clockSpeed !== 1) bodies.push({ type: 'clock', speed: base.clockSpeed });
  const majority = base.majorityLeader;
  if (majority !== null) {
    const view = base.nodeViews().find((node) => node.id === majority);
    bodies.push({ type: 'quorum', leaderId: majority, term: view?.term ?? 0 });
  }
  return bodies.map((body) => ({ ...body, seq: 0, t, at }) as ClusterEvent);
}

/** A position in a run's events, moved forward cheaply and backward by rebuilding. */
export class RunCursor {
  analysis: RunAnalysis;
  t: number;
  private applied = 0;

  constructor(
    private readonly members: readonly string[],
    private readonly algorithm: AlgorithmName,
    private readonly events: () => readonly ClusterEvent[],
    /** Events that come before the first one (a base state), or none. */
    private readonly seed: () => readonly ClusterEvent[] = () => [],
  ) {
    this.analysis = this.fresh();
    this.t = -Infinity;
  }

  seek(t: number): void {
    const events = this.events();
    if (t < this.t) {
      this.analysis = this.fresh();
      this.applied = 0;
    }
    while (this.applied < events.length && events[this.applied]!.t <= t) this.analysis.observe(events[this.applied++]!);
    this.t = t;
  }

  /** The kept events dropped `count` from their front: the cursor's place moves with them. */
  shifted(count: number): void {
    this.applied = Math.max(0, this.applied - count);
  }

  private fresh(): RunAnalysis {
    const analysis = newAnalysis(this.members, this.algorithm);
    for (const event of this.seed()) analysis.observe(event);
    return analysis;
  }
}
