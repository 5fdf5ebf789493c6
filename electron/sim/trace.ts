/**
 * One line per event, stable across runs of the same seed (the byte-for-byte replay check).
 * Status and traffic events, which restate what the other lines say, are left out (null).
 */
import { describeLinkFault } from '../../shared/protocol/faults.js';
import { describeCapabilities, describeRule } from '../../shared/protocol/leadership.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';

export function formatEvent(event: ClusterEvent): string | null {
  const time = `t=${event.t.toFixed(3)}`;
  switch (event.type) {
    case 'role':
      return `${time} ${event.nodeId} ${event.from ?? 'boot'} -> ${event.to} (term ${event.term})`;
    case 'leader':
      return `${time} ${event.nodeId} became leader of term ${event.term}`;
    case 'vote':
      return `${time} ${event.nodeId} voted for ${event.votedFor} in term ${event.term}`;
    case 'kill':
    case 'restart':
    case 'pause':
    case 'resume':
      return `${time} fault: ${event.type} ${event.nodeId}`;
    case 'partition':
      return `${time} fault: partition ${event.label}`;
    case 'link':
      return `${time} fault: link ${event.from ?? 'all'} -> ${event.to ?? 'all'}: ${event.fault === null ? 'healthy' : describeLinkFault(event.fault)}`;
    case 'heal':
      return `${time} fault: heal ${event.label}`;
    case 'transfer':
      return `${time} transfer leadership ${event.from} -> ${event.to}${event.reason === undefined ? '' : `: ${event.reason}`}`;
    case 'priority':
      return `${time} ${event.nodeId} priority ${event.previous} -> ${event.priority}`;
    case 'capabilities':
      return `${time} ${event.nodeId} capabilities ${describeCapabilities(event.capabilities)}`;
    case 'leadership':
      return `${time} leadership: takeover after ${event.takeoverAfterMs} ms, preferred leader ${event.preferredLeader === null ? 'off' : describeRule(event.preferredLeader)}`;
    case 'clock':
      return `${time} clock speed ${event.speed}`;
    case 'quorum':
      return event.leaderId === null ? `${time} no leader followed by a majority` : `${time} ${event.leaderId} followed by a majority in term ${event.term}`;
    case 'leader-lost':
      return `${time} leader ${event.leaderId} lost: ${event.cause}`;
    case 'term-refused':
      return `${time} ${event.nodeId} refused ${event.refused} message(s) from ${event.from} in term ${event.term} (its own: ${event.ownTerm})`;
    case 'scenario':
      return `${time} scenario "${event.name}" ${event.status}${event.report === null ? '' : event.report.passed ? ': passed' : ': failed'}`;
    case 'status':
    case 'traffic':
      return null;
  }
}
