/**
 * Leadership periods from a recorded event stream: who led which term, from when, until when.
 * Pure, so the hub, the dashboard and the replay derive the same answer from the same events.
 */
import type { ClusterEvent } from '../protocol/types.js';

export interface LeadershipPeriod {
  nodeId: string;
  term: number;
  /** Cluster ms and wall epoch ms when the node became leader. */
  startT: number;
  startAt: number;
  /** When it stopped leading (stepped down, crashed), or null if it still leads. */
  endT: number | null;
  endReason: 'stepped down' | 'killed' | 'restarted' | null;
}

export function leadershipPeriods(events: readonly ClusterEvent[]): LeadershipPeriod[] {
  const periods: LeadershipPeriod[] = [];
  const open = new Map<string, LeadershipPeriod>();
  const close = (nodeId: string, t: number, reason: NonNullable<LeadershipPeriod['endReason']>): void => {
    const period = open.get(nodeId);
    if (period === undefined) return;
    period.endT = t;
    period.endReason = reason;
    open.delete(nodeId);
  };
  for (const event of events) {
    switch (event.type) {
      case 'leader': {
        close(event.nodeId, event.t, 'stepped down');
        const period: LeadershipPeriod = {
          nodeId: event.nodeId,
          term: event.term,
          startT: event.t,
          startAt: event.at,
          endT: null,
          endReason: null,
        };
        periods.push(period);
        open.set(event.nodeId, period);
        break;
      }
      case 'role':
        if (event.from === 'leader' && event.to !== 'leader') close(event.nodeId, event.t, 'stepped down');
        break;
      case 'kill':
        close(event.nodeId, event.t, 'killed');
        break;
      case 'restart':
        close(event.nodeId, event.t, 'restarted');
        break;
      default:
        break;
    }
  }
  return periods;
}
