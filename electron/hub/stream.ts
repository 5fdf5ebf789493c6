/**
 * Messages for the dashboards: transits collected into one batch per interval (bounded, so a
 * busy 25-node cluster cannot flood a browser), and the most recent ones kept for export.
 */
import { messageCategory, type MessageBatch, type MessageRecord } from '../../shared/protocol/messages.js';
import type { Transit } from '../runtime/fabric.js';

export const BATCH_INTERVAL_MS = 100;
/** Messages per batch at most (5,000 a second); the rest are counted as omitted. */
export const MAX_BATCH_MESSAGES = 500;
/** Messages kept for export. */
export const MAX_MESSAGES_KEPT = 20_000;

export function toRecord(transit: Transit): MessageRecord {
  const { message } = transit;
  return {
    from: message.from,
    to: message.to,
    kind: message.kind,
    category: messageCategory(message),
    sentT: transit.sentAt,
    deliverT: transit.deliverAt,
    duplicate: transit.duplicate,
  };
}

export class MessageStream {
  private pending: MessageRecord[] = [];
  private omitted = 0;
  private readonly recent: MessageRecord[] = [];

  add(transit: Transit): void {
    const record = toRecord(transit);
    this.recent.push(record);
    if (this.recent.length >= MAX_MESSAGES_KEPT + 2_000) this.recent.splice(0, this.recent.length - MAX_MESSAGES_KEPT);
    if (this.pending.length < MAX_BATCH_MESSAGES) this.pending.push(record);
    else this.omitted += 1;
  }

  /** The batch collected since the last call. */
  take(t: number, timers: MessageBatch['timers']): MessageBatch {
    const batch = { t, messages: this.pending, omitted: this.omitted, timers };
    this.pending = [];
    this.omitted = 0;
    return batch;
  }

  /** The most recent messages, oldest first. */
  history(): MessageRecord[] {
    return this.recent.slice(-MAX_MESSAGES_KEPT);
  }

  clear(): void {
    this.pending = [];
    this.omitted = 0;
    this.recent.length = 0;
  }
}
