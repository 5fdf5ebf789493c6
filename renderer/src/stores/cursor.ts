/**
 * The cluster as it was at a moment of a run, from its events: what a replayed record and a
 * rewound live run both show. A RunAnalysis fed up to the moment answers for roles, terms,
 * faults and metrics; going back in time rebuilds it from the run's start (or from a base state
 * when the oldest events are no longer kept), going forward feeds the next events.
 */
import { ALGORITHM_INFO } from '../../../shared/algorithms.js';
import { RunAnalysis } from '../../../shared/analysis/run.js';
import type { AlgorithmName, ElectionConfig } from '../../../shared/core/election.js';
import { DEFAULT_PRIORITY, type Capabilities } from '../../../shared/core/leadership.js';
import type { ClusterEvent, ClusterEventBody, ClusterSnapshot, LeaderInfo, NodeView, TargetInfo } from '../../../shared/protocol/types.js';

export interface RunIdentity {
  runId: string;
  target: TargetInfo;
  algorithm: AlgorithmName;
  config: ElectionConfig;
  members: readonly string[];
  /** The run's nodes have priorities (not etcd's): a node no `priority` event names has the default one. */
  hasPriorities?: boolean;
}

/** Each node's priority and capabilities as the events set them (the run analysis does not keep them). */
export class NodeCriteria {
  readonly priorities = new Map<string, number>();
  readonly capabilities = new Map<string, Capabilities>();

  observe(event: ClusterEvent): void {
    if (event.type === 'priority') this.priorities.set(event.nodeId, event.priority);
    else if (event.type === 'capabilities') this.capabilities.set(event.nodeId, event.capabilities);
  }

  decorate(node: NodeView, hasPriorities: boolean): NodeView {
    const priority = this.priorities.get(node.id) ?? (hasPriorities ? DEFAULT_PRIORITY : undefined);
    const capabilities = this.capabilities.get(node.id);
    return { ...node, ...(priority === undefined ? {} : { priority }), ...(capabilities === undefined ? {} : { capabilities }) };
  }
}

/** Whether a recorded run's nodes had priorities: it says so by recording a change of who should lead. */
export function recordsPriorities(events: readonly ClusterEvent[]): boolean {
  return events.some((event) => event.type === 'priority' || event.type === 'capabilities' || event.type === 'leadership');
}

export function newAnalysis(members: readonly string[], algorithm: AlgorithmName): RunAnalysis {
  return new RunAnalysis({ members, singleLeaderPerTerm: ALGORITHM_INFO[algorithm].singleLeaderPerTerm });
}

/** Running nodes in the leader role, the highest term first. */
export function leadersAmong(nodes: readonly NodeView[]): NodeView[] {
  return nodes.filter((node) => node.status === 'up' && node.role === 'leader').sort((a, b) => b.term - a.term || (a.id < b.id ? -1 : 1));
}

/** A snapshot of the moment `t`, as the hub would have sent it then. */
export function snapshotAt(analysis: RunAnalysis, run: RunIdentity, t: number, criteria: NodeCriteria | null = null): ClusterSnapshot {
  const nodes = criteria === null ? analysis.nodeViews() : analysis.nodeViews().map((node) => criteria.decorate(node, run.hasPriorities === true));
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

/** The state `base` reached, as events stamped at `t` (with `seq` 0): where a rewind starts when the oldest events are gone. */
export function seedEvents(base: RunAnalysis, t: number): ClusterEvent[] {
  return stamp(base.stateEvents(), t, base.lastAt);
}

/** Bodies of events (a record's initial state) as events at `t`, before any recorded one (`seq` 0). */
export function stamp(bodies: readonly ClusterEventBody[], t: number, at: number): ClusterEvent[] {
  return bodies.map((body) => ({ ...body, seq: 0, t, at }) as ClusterEvent);
}

/** A position in a run's events, moved forward cheaply and backward by rebuilding. */
export class RunCursor {
  analysis: RunAnalysis;
  criteria = new NodeCriteria();
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
    while (this.applied < events.length && events[this.applied]!.t <= t) {
      const event = events[this.applied++]!;
      this.analysis.observe(event);
      this.criteria.observe(event);
    }
    this.t = t;
  }

  /** The kept events dropped `count` from their front: the cursor's place moves with them. */
  shifted(count: number): void {
    this.applied = Math.max(0, this.applied - count);
  }

  private fresh(): RunAnalysis {
    const analysis = newAnalysis(this.members, this.algorithm);
    this.criteria = new NodeCriteria();
    for (const event of this.seed()) {
      analysis.observe(event);
      this.criteria.observe(event);
    }
    return analysis;
  }
}
