import { describe, expect, it } from 'vitest';
import { leadershipPeriods } from '../../shared/analysis/leadership.js';
import { SafetyMonitor } from '../../shared/analysis/safety.js';
import type { ClusterEvent, ClusterEventBody } from '../../shared/protocol/types.js';

function trace(...bodies: Array<[number, ClusterEventBody]>): ClusterEvent[] {
  return bodies.map(([t, body], index) => ({ ...body, seq: index + 1, t, at: 1_000_000 + t }) as ClusterEvent);
}

describe('leadership periods', () => {
  it('opens a period per leader and closes it on step-down, kill or restart', () => {
    const periods = leadershipPeriods(
      trace(
        [100, { type: 'leader', nodeId: 'n1', term: 1 }],
        [900, { type: 'kill', nodeId: 'n1' }],
        [1_200, { type: 'leader', nodeId: 'n3', term: 2 }],
        [2_000, { type: 'role', nodeId: 'n3', from: 'leader', to: 'follower', term: 3 }],
        [2_100, { type: 'leader', nodeId: 'n2', term: 3 }],
        [2_500, { type: 'restart', nodeId: 'n4' }],
      ),
    );
    expect(periods.map((p) => [p.nodeId, p.term, p.startT, p.endT, p.endReason])).toEqual([
      ['n1', 1, 100, 900, 'killed'],
      ['n3', 2, 1_200, 2_000, 'stepped down'],
      ['n2', 3, 2_100, null, null],
    ]);
    expect(periods[0]!.startAt).toBe(1_000_100);
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

  it('catches a planted second leader in one term', () => {
    const monitor = new SafetyMonitor();
    const events = trace([10, { type: 'leader', nodeId: 'n1', term: 4 }], [20, { type: 'leader', nodeId: 'n2', term: 4 }]);
    monitor.observe(events[0]!);
    expect(monitor.observe(events[1]!)).toMatchObject({ kind: 'two-leaders', term: 4, nodes: ['n1', 'n2'], seq: 2 });
  });

  it('catches a planted double vote (a vote forgotten across a crash)', () => {
    const monitor = new SafetyMonitor();
    const events = trace(
      [10, { type: 'vote', nodeId: 'n2', term: 7, votedFor: 'n1' }],
      [20, { type: 'kill', nodeId: 'n2' }],
      [30, { type: 'restart', nodeId: 'n2' }],
      [40, { type: 'vote', nodeId: 'n2', term: 7, votedFor: 'n3' }],
    );
    const found = events.map((event) => monitor.observe(event)).filter((v) => v !== null);
    expect(found).toEqual([expect.objectContaining({ kind: 'double-vote', term: 7, nodes: ['n2'] })]);
    expect(found[0]!.message).toBe('n2 voted twice in term 7: for n1, then for n3');
  });
});
