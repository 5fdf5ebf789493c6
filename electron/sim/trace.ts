/** One line per event, stable across runs of the same seed (the byte-for-byte replay check). */
import type { ClusterEvent } from '../../shared/protocol/types.js';

export function formatEvent(event: ClusterEvent): string {
  const time = `t=${event.t.toFixed(3)}`;
  switch (event.type) {
    case 'role':
      return `${time} ${event.nodeId} ${event.from ?? 'boot'} -> ${event.to} (term ${event.term})`;
    case 'leader':
      return `${time} ${event.nodeId} became leader of term ${event.term}`;
    case 'vote':
      return `${time} ${event.nodeId} voted for ${event.votedFor} in term ${event.term}`;
    case 'kill':
      return `${time} fault: kill ${event.nodeId}`;
    case 'restart':
      return `${time} fault: restart ${event.nodeId}`;
  }
}
