/** The kept events of a run: the latest MAX_EVENTS_KEPT, the older ones folded into a base state. */
import { describe, expect, it } from 'vitest';
import { EventLog, MAX_EVENTS_KEPT } from '../../shared/analysis/event-log.js';
import { RunAnalysis } from '../../shared/analysis/run.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';

const MEMBERS = ['n1', 'n2', 'n3'];
const CHUNK = 100;

/** Event `seq` at t = seq: n1 is killed at 1 and restarted at 3, and everyone's status changes at every step between. */
function event(seq: number): ClusterEvent {
  const at = 1_000_000 + seq;
  if (seq === 1) return { type: 'kill', nodeId: 'n1', seq, t: seq, at };
  if (seq === 3) return { type: 'restart', nodeId: 'n1', seq, t: seq, at };
  return { type: 'status', nodeId: MEMBERS[seq % 3]!, role: 'follower', term: seq, votedFor: null, leaderId: null, seq, t: seq, at };
}

function logWithBase() {
  const drops: number[] = [];
  const log = new EventLog({ trimChunk: CHUNK, newBase: () => new RunAnalysis({ members: MEMBERS, singleLeaderPerTerm: true }), dropped: (count) => drops.push(count) });
  return { log, drops };
}

describe('the event log', () => {
  it('keeps the latest events, dropping a chunk at a time, and folds the dropped ones into its base', () => {
    const { log, drops } = logWithBase();
    for (let seq = 1; seq < MAX_EVENTS_KEPT + CHUNK; seq++) log.append(event(seq));
    expect(log.events).toHaveLength(MAX_EVENTS_KEPT + CHUNK - 1);
    expect(log.base).toBeNull();
    log.append(event(MAX_EVENTS_KEPT + CHUNK));
    expect(drops).toEqual([CHUNK]);
    expect(log.events).toHaveLength(MAX_EVENTS_KEPT);
    expect(log.events[0]!.seq).toBe(CHUNK + 1);
    expect(log.baseT).toBe(CHUNK);
    expect(log.base!.lastT).toBe(CHUNK);
    expect(log.base!.faults.map((window) => [window.id, window.start, window.end])).toEqual([['down:n1', 1, 3]]);
    expect(log.history(2).map((kept) => kept.seq)).toEqual([MAX_EVENTS_KEPT + CHUNK - 1, MAX_EVENTS_KEPT + CHUNK]);
    expect(log.history(MAX_EVENTS_KEPT * 2)).toHaveLength(MAX_EVENTS_KEPT);
  });

  it('takes each event once, in seq order', () => {
    const { log } = logWithBase();
    expect([1, 2, 2, 1, 3].map((seq) => log.append(event(seq)))).toEqual([true, true, false, false, true]);
    expect(log.events.map((kept) => kept.seq)).toEqual([1, 2, 3]);
  });

  it('drops what the log it follows no longer keeps', () => {
    const { log, drops } = logWithBase();
    for (let seq = 1; seq <= 10; seq++) log.append(event(seq));
    log.dropBefore(4);
    log.dropBefore(2);
    expect(drops).toEqual([3]);
    expect(log.events.map((kept) => kept.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(log.base!.activeFaults()).toEqual([]);
    expect(log.baseT).toBe(3);
  });

  it('starts over in a new array with no base', () => {
    const { log } = logWithBase();
    for (let seq = 1; seq <= 10; seq++) log.append(event(seq));
    log.dropBefore(5);
    const before = log.events;
    log.replace([event(7), event(8)]);
    expect(log.events).not.toBe(before);
    expect(before.map((kept) => kept.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(log.events.map((kept) => kept.seq)).toEqual([7, 8]);
    expect(log.base).toBeNull();
  });

  it('without a base, dropped events are forgotten', () => {
    const log = new EventLog({ trimChunk: CHUNK });
    for (let seq = 1; seq <= 10; seq++) log.append(event(seq));
    log.dropBefore(6);
    expect(log.base).toBeNull();
    expect(log.events[0]!.seq).toBe(6);
  });
});
