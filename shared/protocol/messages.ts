/**
 * Messages on the wire as the dashboard sees them: compact records streamed by the hub in
 * batches (and kept in exported runs), each with a category that says how to draw it.
 */
import type { Message } from '../core/election.js';

export const MESSAGE_CATEGORIES = ['request', 'granted', 'denied', 'heartbeat', 'ack', 'control'] as const;
export type MessageCategory = (typeof MESSAGE_CATEGORIES)[number];

export const CATEGORY_LABELS: Record<MessageCategory, string> = {
  request: 'vote request (RequestVote, PreVote, Prepare, Election)',
  granted: 'vote granted (or promise)',
  denied: 'vote denied (or NACK, Answer)',
  heartbeat: 'heartbeat',
  ack: 'heartbeat reply',
  control: 'Coordinator, TimeoutNow',
};

/** How each algorithm's message kinds are drawn; a reply's grant decides between granted and denied. */
export function messageCategory(message: Message): MessageCategory {
  switch (message.kind) {
    case 'PreVote':
    case 'RequestVote':
    case 'Prepare':
    case 'Election':
      return 'request';
    case 'PreVoteResp':
    case 'RequestVoteResp':
      return (message as { granted?: unknown }).granted === true ? 'granted' : 'denied';
    case 'Promise':
      return 'granted';
    case 'Nack':
    case 'Answer':
      return 'denied';
    case 'Heartbeat':
      return 'heartbeat';
    case 'HeartbeatResp':
    case 'HeartbeatAck':
      return 'ack';
    default:
      return 'control';
  }
}

/** One message: sent at `sentT`, delivered at `deliverT` (cluster ms), or dropped (`deliverT` null). */
export interface MessageRecord {
  from: string;
  to: string;
  kind: string;
  category: MessageCategory;
  sentT: number;
  deliverT: number | null;
  duplicate: boolean;
}

/** What the hub streams to dashboards every 100 ms. */
export interface MessageBatch {
  /** Cluster time when the batch left the hub. */
  t: number;
  messages: MessageRecord[];
  /** Messages left out because the batch was full (the animation samples under heavy load). */
  omitted: number;
  /** Election timers that are running: node, start and due time (cluster ms). */
  timers: Array<{ id: string; startedAt: number; dueAt: number }>;
}

/**
 * Messages of one link and category over a stretch of cluster time, counted rather than kept:
 * what a recording holds for the stretch before its whole messages begin.
 */
export interface MessageAggregate {
  /** Cluster ms: the stretch [fromT, toT). */
  fromT: number;
  toT: number;
  from: string;
  to: string;
  category: MessageCategory;
  sent: number;
  /** Of them, dropped by the network. */
  dropped: number;
}
