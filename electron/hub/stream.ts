/**
 * Messages for the dashboards: transits collected into one batch per interval (bounded, so a
 * busy 101-node cluster cannot flood a browser), and the whole run kept for export in bounded
 * memory: the most recent messages whole, older ones counted per link and category in
 * stretches of cluster time (a second at first, longer as the run grows).
 */
import { messageCategory, type MessageAggregate, type MessageBatch, type MessageRecord } from '../../shared/protocol/messages.js';
import type { Transit } from '../runtime/fabric.js';

export const BATCH_INTERVAL_MS = 100;
/** Messages per batch at most (5,000 a second); the rest are counted as omitted. */
export const MAX_BATCH_MESSAGES = 500;
/** Messages kept whole for export: the most recent ones. */
export const MAX_MESSAGES_KEPT = 20_000;
/** Counted stretches kept at most; beyond it, stretches are merged into ones twice as long. */
export const MAX_AGGREGATES = 100_000;
/** The first length of a counted stretch (cluster ms). */
export const AGGREGATE_MS = 1_000;

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

/** What a recording holds of the run's messages. */
export interface MessageCoverage {
  /** Whole messages, oldest first. */
  messages: MessageRecord[];
  /** Counts per link and category for the stretch before `detailFromT`, in time order. */
  aggregates: MessageAggregate[];
  /** Cluster time from which messages are whole; null when every message of the run is. */
  detailFromT: number | null;
}

export class MessageStream {
  private pending: MessageRecord[] = [];
  private omitted = 0;
  private readonly recent: MessageRecord[] = [];
  private aggregates = new Map<string, MessageAggregate>();
  private aggregateMs = AGGREGATE_MS;
  private detailFromT: number | null = null;

  add(transit: Transit): void {
    const record = toRecord(transit);
    this.recent.push(record);
    if (this.recent.length >= MAX_MESSAGES_KEPT + 2_000) this.fold(this.recent.splice(0, this.recent.length - MAX_MESSAGES_KEPT));
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

  /** The run's messages: the most recent whole, the older ones counted. */
  history(): MessageCoverage {
    const excess = this.recent.length - MAX_MESSAGES_KEPT;
    if (excess > 0) this.fold(this.recent.splice(0, excess));
    return {
      messages: this.recent.slice(),
      aggregates: [...this.aggregates.values()].sort((a, b) => a.fromT - b.fromT || (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : 1)),
      detailFromT: this.detailFromT,
    };
  }

  clear(): void {
    this.pending = [];
    this.omitted = 0;
    this.recent.length = 0;
    this.aggregates.clear();
    this.aggregateMs = AGGREGATE_MS;
    this.detailFromT = null;
  }

  /** Counts messages that leave the whole record. */
  private fold(records: readonly MessageRecord[]): void {
    for (const record of records) this.count(this.aggregates, record.sentT, record.from, record.to, record.category, 1, record.deliverT === null ? 1 : 0);
    const next = this.recent[0];
    if (next !== undefined) this.detailFromT = next.sentT;
    while (this.aggregates.size > MAX_AGGREGATES) this.coarsen();
  }

  private count(into: Map<string, MessageAggregate>, t: number, from: string, to: string, category: MessageAggregate['category'], sent: number, dropped: number): void {
    const fromT = Math.floor(t / this.aggregateMs) * this.aggregateMs;
    const key = `${fromT}|${from}|${to}|${category}`;
    const entry = into.get(key);
    if (entry === undefined) into.set(key, { fromT, toT: fromT + this.aggregateMs, from, to, category, sent, dropped });
    else {
      entry.sent += sent;
      entry.dropped += dropped;
    }
  }

  /** Stretches twice as long, so that a long run's counts stay within MAX_AGGREGATES. */
  private coarsen(): void {
    this.aggregateMs *= 2;
    const merged = new Map<string, MessageAggregate>();
    for (const entry of this.aggregates.values()) this.count(merged, entry.fromT, entry.from, entry.to, entry.category, entry.sent, entry.dropped);
    this.aggregates = merged;
  }
}
