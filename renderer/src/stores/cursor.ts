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
