/**
 * What recorded traces mean: the run analysis on hand-written event streams, including
 * planted violations that must be caught, and the figures it derives.
 */
import { describe, expect, it } from 'vitest';
import { MAX_RECORDS, PRUNE_EVERY, RunAnalysis } from '../../shared/analysis/run.js';
import { SafetyMonitor } from '../../shared/analysis/safety.js';
import { percentile, summarize } from '../../shared/analysis/stats.js';
import type { Role } from '../../shared/core/election.js';
import type { ClusterEvent, ClusterEventBody } from '../../shared/protocol/types.js';

const MEMBERS = ['n1', 'n2', 'n3'];

function trace(...bodies: Array<[number, ClusterEventBody]>): ClusterEvent[] {
  return traceOf(bodies);
}

function traceOf(bodies: Array<[number, ClusterEventBody]>): ClusterEvent[] {
  return bodies.map(([t, body], index) => ({ ...body, seq: index + 1, t, at: 1_000_000 + t }) as ClusterEvent);
}

function status(nodeId: string, role: Role, term: number, leaderId: string | null = null, votedFor: string | null = null): ClusterEventBody {
  return { type: 'status', nodeId, role, term, votedFor, leaderId };
}

function analyze(events: ClusterEvent[], singleLeaderPerTerm = true): RunAnalysis {
  const analysis = new RunAnalysis({ members: MEMBERS, singleLeaderPerTerm });
  for (const event of events) analysis.observe(event);
  return analysis;
}

/** n1 leads term 1 from t=200 with everyone following; then n1 is killed at 1,000 and n2 leads term 2 at 1,300. */
const FAILOVER = trace(
  [0, status('n1', 'follower', 0)],
  [0, status('n2', 'follower', 0)],
  [0, status('n3', 'follower', 0)],
  [150, { type: 'role', nodeId: 'n1', from: 'follower', to: 'candidate', term: 1 }],
  [150, status('n1', 'candidate', 1, null, 'n1')],
  [200, status('n1', 'leader', 1, 'n1', 'n1')],
  [200, { type: 'leader', nodeId: 'n1', term: 1 }],
  [202, status('n2', 'follower', 1, 'n1', 'n1')],
  [202, { type: 'quorum', leaderId: 'n1', term: 1 }],
  [203, status('n3', 'follower', 1, 'n1', 'n1')],
  [1_000, { type: 'traffic', intervalMs: 1_000, sent: { Heartbeat: 40, HeartbeatResp: 40 }, dropped: 0 }],
  [1_000, { type: 'kill', nodeId: 'n1' }],
  [1_000, { type: 'leader-lost', leaderId: 'n1', term: 1, cause: 'killed' }],
  [1_000, { type: 'quorum', leaderId: null, term: null }],
  [1_250, { type: 'role', nodeId: 'n2', from: 'follower', to: 'candidate', term: 2 }],
  [1_250, status('n2', 'candidate', 2, null, 'n2')],
  [1_300, status('n2', 'leader', 2, 'n2', 'n2')],
  [1_300, { type: 'leader', nodeId: 'n2', term: 2 }],
  [1_302, status('n3', 'follower', 2, 'n2', 'n2')],
  [1_302, { type: 'quorum', leaderId: 'n2', term: 2 }],
  [2_000, { type: 'traffic', intervalMs: 1_000, sent: { Heartbeat: 20, HeartbeatResp: 20, RequestVote: 2 }, dropped: 2 }],
);

describe('run analysis', () => {
  it('leadership periods: who led which term, from when, and how it ended', () => {
    const analysis = analyze(FAILOVER);
    expect(analysis.leadership.map((p) => [p.nodeId, p.term, p.startT, p.endT, p.endReason])).toEqual([
      ['n1', 1, 200, 1_000, 'killed'],
      ['n2', 2, 1_300, null, null],
    ]);
  });

  it('leaderless gaps: the startup election, then a failover timed from the crash to the new majority', () => {
    const analysis = analyze(FAILOVER);
    expect(analysis.gaps).toEqual([
      { start: 0, end: 202, cause: 'startup', lostLeader: null, newLeader: 'n1' },
      { start: 1_000, end: 1_302, cause: 'killed', lostLeader: 'n1', newLeader: 'n2' },
    ]);
  });

  it('figures: elections, failovers, leaderless time, availability, message rates', () => {
    const metrics = analyze(FAILOVER).metrics(2_000);
    expect(metrics).toMatchObject({
      elapsedMs: 2_000,
      hasLeader: true,
      leaderChanges: 2,
      electionsStarted: 2,
      failovers: 1,
      lastFailoverMs: 302,
      leaderlessMs: 202 + 302,
      messagesPerSecond: { Heartbeat: 20, HeartbeatResp: 20, RequestVote: 2 },
      messagesTotal: { Heartbeat: 60, HeartbeatResp: 60, RequestVote: 2 },
      droppedTotal: 2,
      safetyViolations: 0,
    });
    expect(metrics.availability).toBeCloseTo(1 - 504 / 2_000, 10);
    expect(metrics.failoverMs).toMatchObject({ count: 1, p50: 302, p99: 302 });
  });

  it('an open gap counts up to now; has_leader is false during it', () => {
    const metrics = analyze(FAILOVER.slice(0, 14)).metrics(1_100);
    expect(metrics.hasLeader).toBe(false);
    expect(metrics.leaderlessMs).toBe(202 + 100);
  });

  it('per-node role bands, split on every role, term and run-state change', () => {
    const analysis = analyze(FAILOVER);
    expect(analysis.segments.filter((s) => s.nodeId === 'n1').map((s) => [s.state, s.term, s.start, s.end])).toEqual([
      ['follower', 0, 0, 150],
      ['candidate', 1, 150, 200],
      ['leader', 1, 200, 1_000],
      ['down', 1, 1_000, null],
    ]);
  });

  it('fault windows open and close with their faults; heal-all closes every one', () => {
    const analysis = analyze(
      trace(
        [0, status('n1', 'follower', 0)],
        [10, { type: 'pause', nodeId: 'n2' }],
        [20, { type: 'partition', label: 'Partition {n1} | {n2, n3}', groups: [['n1'], ['n2', 'n3']], blocked: ['n1->n2', 'n2->n1', 'n1->n3', 'n3->n1'] }],
        [30, { type: 'link', from: 'n2', to: 'n3', fault: { cut: false, dropProbability: 0.5, latencyMs: null, jitterMs: null, duplicateProbability: 0 } }],
        [40, { type: 'resume', nodeId: 'n2' }],
        [50, { type: 'heal', faultId: null, label: 'every fault' }],
      ),
    );
    expect(analysis.faults.map((f) => [f.id, f.label, f.start, f.end])).toEqual([
      ['paused:n2', 'n2 paused', 10, 40],
      ['partition', 'Partition {n1} | {n2, n3}', 20, 50],
      ['link:n2->n3', 'n2 → n3: 50% loss', 30, 50],
    ]);
    expect(analysis.faults[1]!.nodes.sort()).toEqual(['n1', 'n2', 'n3']);
    expect(analysis.network()).toEqual({ partition: null, blocked: [], links: [] });
  });

  it('rebuilds what a snapshot showed at any point of the run (replay)', () => {
    const analysis = analyze(FAILOVER.slice(0, 13));
    expect(analysis.nodeViews()).toEqual([
      { id: 'n1', status: 'down', role: null, term: 1, votedFor: 'n1', leaderId: null },
      { id: 'n2', status: 'up', role: 'follower', term: 1, votedFor: 'n1', leaderId: 'n1' },
      { id: 'n3', status: 'up', role: 'follower', term: 1, votedFor: 'n1', leaderId: 'n1' },
    ]);
    expect(analysis.activeFaults()).toEqual([{ id: 'down:n1', kind: 'down', label: 'n1 down', nodes: ['n1'], sinceT: 1_000, sinceAt: 1_001_000 }]);
  });
});

describe('alarms', () => {
  it('catches a planted second leader in one term, with the evidence', () => {
    const analysis = analyze(
      trace(
        [10, { type: 'leader', nodeId: 'n1', term: 4 }],
        [20, { type: 'leader', nodeId: 'n2', term: 4 }],
      ),
    );
    expect(analysis.alarms).toEqual([
      expect.objectContaining({ kind: 'two-leaders', severity: 'violation', nodes: ['n1', 'n2'], start: 20, message: expect.stringContaining('two leaders in term 4: n1') }),
    ]);
    expect(analysis.metrics().safetyViolations).toBe(1);
  });

  it('catches a planted double vote and a vote in an older term', () => {
    const analysis = analyze(
      trace(
        [10, { type: 'vote', nodeId: 'n2', term: 7, votedFor: 'n1' }],
        [20, { type: 'vote', nodeId: 'n2', term: 7, votedFor: 'n3' }],
        [30, { type: 'vote', nodeId: 'n3', term: 9, votedFor: 'n3' }],
        [40, { type: 'vote', nodeId: 'n3', term: 8, votedFor: 'n1' }],
      ),
    );
    expect(analysis.alarms.map((a) => [a.kind, a.message])).toEqual([
      ['double-vote', 'n2 voted twice in term 7: for n1, then for n3'],
      ['vote-regress', 'n3 voted in term 8 after voting in term 9'],
    ]);
  });

  it('reports a stale leader (two leaders in different terms) as a warning with its duration', () => {
    const analysis = analyze(
      trace(
        [0, status('n1', 'leader', 3, 'n1')],
        [0, status('n2', 'follower', 3, 'n1')],
        [100, { type: 'pause', nodeId: 'n1' }],
        [400, status('n2', 'leader', 4, 'n2')],
        [900, { type: 'resume', nodeId: 'n1' }],
        [905, status('n1', 'follower', 4, 'n2')],
      ),
    );
    expect(analysis.alarms).toEqual([
      expect.objectContaining({ kind: 'stale-leader', severity: 'warning', nodes: ['n1', 'n2'], start: 400, end: 905 }),
    ]);
  });

  it('explains a Bully split brain under a partition as expected, not as a violation', () => {
    const analysis = analyze(
      trace(
        [0, status('n3', 'leader', 1, 'n3')],
        [10, { type: 'partition', label: 'Partition {n3} | {n1, n2}', groups: [['n3'], ['n1', 'n2']], blocked: ['n3->n1', 'n1->n3', 'n3->n2', 'n2->n3'] }],
        [400, status('n2', 'leader', 2, 'n2')],
        [410, { type: 'leader', nodeId: 'n2', term: 2 }],
        [420, { type: 'leader', nodeId: 'n3', term: 2 }],
      ),
      false,
    );
    expect(analysis.alarms).toEqual([
      expect.objectContaining({ kind: 'split-brain', severity: 'expected', nodes: ['n2', 'n3'], message: expect.stringContaining('Bully has no quorum') }),
    ]);
  });
});

describe('safety monitor', () => {
  it('passes a clean history', () => {
    const monitor = new SafetyMonitor();
    for (const event of trace(
      [1, { type: 'vote', nodeId: 'n1', term: 1, votedFor: 'n1' }],
      [2, { type: 'vote', nodeId: 'n2', term: 1, votedFor: 'n1' }],
      [3, { type: 'leader', nodeId: 'n1', term: 1 }],
      [4, { type: 'vote', nodeId: 'n2', term: 1, votedFor: 'n1' }],
      [5, { type: 'vote', nodeId: 'n2', term: 2, votedFor: 'n3' }],
      [6, { type: 'leader', nodeId: 'n3', term: 2 }],
    )) {
      expect(monitor.observe(event)).toBeNull();
    }
    expect(monitor.violations).toEqual([]);
  });
});

describe('percentiles', () => {
  it('nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 99), percentile(sorted, 100), percentile([7], 99)]).toEqual([50, 99, 100, 7]);
    expect(summarize([3, 1, 2])).toEqual({ count: 3, min: 1, p50: 2, p90: 3, p99: 3, max: 3, mean: 2 });
    expect(summarize([]).count).toBe(0);
  });
});

describe('long runs', () => {
  it('keep memory bounded while whole-run figures stay exact', () => {
    const bodies: Array<[number, ClusterEventBody]> = [[0, status('n1', 'follower', 0)], [0, status('n2', 'follower', 0)], [0, status('n3', 'follower', 0)]];
    // 30,000 leader changes: each one a failover of 100 ms after 900 ms of leadership.
    for (let round = 1; round <= 30_000; round++) {
      const t = round * 1_000;
      bodies.push([t, status('n1', 'leader', round, 'n1')]);
      bodies.push([t, { type: 'leader', nodeId: 'n1', term: round }]);
      bodies.push([t, { type: 'quorum', leaderId: 'n1', term: round }]);
      bodies.push([t + 900, { type: 'leader-lost', leaderId: 'n1', term: round, cause: 'paused' }]);
      bodies.push([t + 900, status('n1', 'follower', round)]);
      bodies.push([t + 900, { type: 'role', nodeId: 'n1', from: 'leader', to: 'follower', term: round }]);
    }
    const analysis = analyze(traceOf(bodies));
    expect(analysis.leadership.length).toBeLessThanOrEqual(21_000);
    expect(analysis.gaps.length).toBeLessThanOrEqual(21_000);
    const metrics = analysis.metrics(30_000_950);
    expect(metrics.leaderChanges).toBe(30_000);
    expect(metrics.failovers).toBe(29_999);
    expect(metrics.failoverMs.p50).toBe(100);
    expect(metrics.leaderlessMs).toBe(1_000 + 29_999 * 100 + 50);
  });

  it('stay bounded when a record never closes (a node killed and never restarted), and the figures still add up', () => {
    const bodies: Array<[number, ClusterEventBody]> = [
      [0, status('n1', 'follower', 0)],
      [0, status('n2', 'follower', 0)],
      [0, status('n3', 'follower', 0)],
      // n3's down band and fault window stay open for the whole run.
      [1, { type: 'kill', nodeId: 'n3' }],
    ];
    // 300,000 events of churn: each round n1 leads, n2 is paused and resumed, and n1 loses its majority.
    const EVENTS_PER_ROUND = 7;
    const rounds = Math.ceil(300_000 / EVENTS_PER_ROUND);
    for (let round = 1; round <= rounds; round++) {
      const t = round * 1_000;
      bodies.push([t, status('n1', 'leader', round, 'n1')]);
      bodies.push([t, { type: 'leader', nodeId: 'n1', term: round }]);
      bodies.push([t, { type: 'quorum', leaderId: 'n1', term: round }]);
      bodies.push([t + 100, { type: 'pause', nodeId: 'n2' }]);
      bodies.push([t + 200, { type: 'resume', nodeId: 'n2' }]);
      bodies.push([t + 900, { type: 'leader-lost', leaderId: 'n1', term: round, cause: 'paused' }]);
      bodies.push([t + 900, status('n1', 'follower', round)]);
    }
    const analysis = analyze(traceOf(bodies));
    const bound = MAX_RECORDS + PRUNE_EVERY;
    for (const [name, list] of Object.entries({ segments: analysis.segments, faults: analysis.faults, leadership: analysis.leadership, gaps: analysis.gaps })) {
      expect(list.length, name).toBeLessThanOrEqual(bound);
    }
    expect(analysis.segments.find((segment) => segment.nodeId === 'n3')).toMatchObject({ state: 'down', start: 1, end: null });
    expect(analysis.faults.find((window) => window.id === 'down:n3')).toMatchObject({ start: 1, end: null });
    expect(analysis.activeFaults().map((fault) => fault.id)).toEqual(['down:n3']);
    const metrics = analysis.metrics();
    expect(metrics.leaderChanges).toBe(rounds);
    expect(metrics.failovers).toBe(rounds - 1);
    expect(metrics.lastFailoverMs).toBe(100);
    expect(metrics.failoverMs.p50).toBe(100);
    expect(metrics.leaderlessMs).toBe(1_000 + (rounds - 1) * 100);
    expect(metrics.safetyViolations).toBe(0);
  });
});
