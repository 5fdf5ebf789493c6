/** The hub's record of a run's messages: the recent ones whole, the older ones counted, all in bounded memory. */
import { describe, expect, it } from 'vitest';
import type { Message } from '../../shared/core/election.js';
import { AGGREGATE_MS, MAX_AGGREGATES, MAX_MESSAGES_KEPT, MessageStream } from '../../electron/hub/stream.js';
import type { Transit } from '../../electron/runtime/fabric.js';

function transit(from: string, to: string, sentAt: number, dropped = false): Transit {
  const message = { kind: 'Heartbeat', from, to, term: 1 } as unknown as Message;
  return { message, sentAt, deliverAt: dropped ? null : sentAt + 2, duplicate: false } as Transit;
}

describe('message stream', () => {
  it('keeps every message whole while the run is short, and says so', () => {
    const stream = new MessageStream();
    for (let i = 0; i < 100; i++) stream.add(transit('n1', 'n2', i * 10));
    const coverage = stream.history();
    expect(coverage.messages).toHaveLength(100);
    expect(coverage.aggregates).toEqual([]);
    expect(coverage.detailFromT).toBeNull();
  });

  it('counts the messages that leave the whole record per second, link and category, so the whole run is covered', () => {
    const stream = new MessageStream();
    const total = MAX_MESSAGES_KEPT + 5_000;
    for (let i = 0; i < total; i++) stream.add(transit(i % 2 === 0 ? 'n1' : 'n2', i % 2 === 0 ? 'n2' : 'n1', i, i % 100 === 0));
    const coverage = stream.history();
    expect(coverage.messages).toHaveLength(MAX_MESSAGES_KEPT);
    expect(coverage.detailFromT).toBe(coverage.messages[0]!.sentT);
    const counted = coverage.aggregates.reduce((sum, entry) => sum + entry.sent, 0);
    expect(counted + coverage.messages.length).toBe(total);
    expect(coverage.aggregates[0]).toEqual({ fromT: 0, toT: AGGREGATE_MS, from: 'n1', to: 'n2', category: 'heartbeat', sent: 500, dropped: 10 });
    expect(coverage.aggregates.every((entry) => entry.fromT < coverage.detailFromT!)).toBe(true);
  });

  it('merges counted stretches into longer ones rather than grow without bound', () => {
    const stream = new MessageStream();
    // Many links, one message each per second: enough distinct stretches to pass the bound.
    const links = 200;
    const seconds = Math.ceil((MAX_AGGREGATES * 1.5) / links);
    for (let s = 0; s < seconds; s++) for (let l = 0; l < links; l++) stream.add(transit(`n${l}`, 'n0', s * 1_000 + l));
    for (let i = 0; i < MAX_MESSAGES_KEPT; i++) stream.add(transit('n1', 'n2', seconds * 1_000 + i / 100));
    const coverage = stream.history();
    expect(coverage.aggregates.length).toBeLessThanOrEqual(MAX_AGGREGATES);
    expect(coverage.aggregates[0]!.toT - coverage.aggregates[0]!.fromT).toBe(2 * AGGREGATE_MS);
    expect(coverage.aggregates.reduce((sum, entry) => sum + entry.sent, 0) + coverage.messages.length).toBe(seconds * links + MAX_MESSAGES_KEPT);
  });
});
