/** A /control client as the hub serves it: the rate limit's arithmetic and the pacing of what it is sent, on a hand-driven clock and a fake socket. */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MessageBatch } from '../../shared/protocol/messages.js';
import type { ClusterEvent, ClusterSnapshot } from '../../shared/protocol/types.js';
import {
  BACKLOG_PACKETS_MAX,
  CLOSE_GRACE_MS,
  ControlSession,
  EXPENSIVE_REQUEST_COST,
  REFUSALS_MAX,
  STALL_MS_MAX,
  TokenBucket,
  requestCost,
  type ControlSocket,
} from '../../electron/hub/session.js';

describe('token bucket', () => {
  it('allows a burst, then refills at its rate up to its capacity', () => {
    let nowMs = 0;
    const bucket = new TokenBucket(4, 2, () => nowMs);
    expect([1, 2, 3, 4, 5].map(() => bucket.take(1))).toEqual([true, true, true, true, false]);
    expect(bucket.waitMs(1)).toBe(500);
    nowMs = 499;
    expect(bucket.take(1)).toBe(false);
    nowMs = 500;
    expect(bucket.take(1)).toBe(true);
    nowMs = 60_000;
    expect(bucket.take(5)).toBe(false);
    expect(bucket.take(4)).toBe(true);
  });

  it('takes nothing when a request costs more than is there', () => {
    let nowMs = 0;
    const bucket = new TokenBucket(10, 1, () => nowMs);
    expect(bucket.take(7)).toBe(true);
    expect(bucket.take(7)).toBe(false);
    expect(bucket.take(3)).toBe(true);
    nowMs = 1_000;
    expect(bucket.waitMs(2)).toBe(1_000);
  });
});

describe('request cost', () => {
  it('charges more for what rebuilds the cluster', () => {
    expect(requestCost('command', { type: 'configure', nodes: 3 })).toBe(EXPENSIVE_REQUEST_COST);
    expect(requestCost('command', { type: 'scenario', action: 'run', scenario: {} })).toBe(EXPENSIVE_REQUEST_COST);
    expect(requestCost('command', { type: 'open', target: { kind: 'etcd-playground', members: 3 } })).toBe(EXPENSIVE_REQUEST_COST);
    expect(requestCost('command', { type: 'scenario', action: 'stop' })).toBe(1);
    expect(requestCost('command', { type: 'kill', nodeId: 'n1' })).toBe(1);
    expect(requestCost('command', 'configure')).toBe(1);
    expect(requestCost('inspect', 'n1')).toBe(1);
    expect(requestCost('frobnicate', { type: 'configure' })).toBe(1);
  });
});

/** Just enough of a socket.io socket: what the session emits, and an engine whose write buffer the test fills. */
function fakeSocket() {
  const conn = Object.assign(new EventEmitter(), { writeBuffer: [] as unknown[], closed: [] as Array<boolean | undefined> });
  const socket = Object.assign(new EventEmitter(), {
    conn: Object.assign(conn, { close: (discard?: boolean) => conn.closed.push(discard) }),
    sent: [] as Array<[string, unknown]>,
    disconnected: false,
    disconnect() {
      socket.disconnected = true;
    },
  });
  // Emitting records what the client would be sent; the test decides whether it is taken.
  socket.emit = ((event: string, payload: unknown) => {
    socket.sent.push([event, payload]);
    return true;
  }) as typeof socket.emit;
  return socket;
}

function sessionOn(socket: ReturnType<typeof fakeSocket>, clock: { nowMs: number }, latest: ClusterSnapshot) {
  const drops: string[] = [];
  const session = new ControlSession(socket as unknown as ControlSocket, {
    latestSnapshot: () => latest,
    onRefused: () => undefined,
    onDrop: (reason) => drops.push(reason),
    now: () => clock.nowMs,
  });
  return { session, drops };
}

const SNAPSHOT = { t: 1 } as unknown as ClusterSnapshot;
const LATEST = { t: 2 } as unknown as ClusterSnapshot;
const batch = (t: number, messages: number, omitted = 0): MessageBatch => ({
  t,
  messages: Array.from({ length: messages }, () => ({}) as MessageBatch['messages'][number]),
  omitted,
  timers: [],
});

describe('pacing a client', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends at once to a client that keeps up', () => {
    const socket = fakeSocket();
    const { session } = sessionOn(socket, { nowMs: 0 }, LATEST);
    session.offerSnapshot(SNAPSHOT);
    session.offerBatch(batch(1, 3));
    expect(socket.sent.map(([event]) => event)).toEqual(['snapshot', 'messages']);
  });

  it('holds only the latest snapshot and one merged batch while the client is behind, and sends them when it drains', async () => {
    const socket = fakeSocket();
    const { session, drops } = sessionOn(socket, { nowMs: 0 }, LATEST);
    socket.conn.writeBuffer.push('an event not taken yet');
    session.offerSnapshot(SNAPSHOT);
    session.offerBatch(batch(1, 3, 1));
    session.offerBatch(batch(2, 2));
    session.sendEvent({ seq: 7 } as ClusterEvent);
    expect(socket.sent).toEqual([['event', { seq: 7 }]]);
    socket.conn.writeBuffer.length = 0;
    socket.conn.emit('drain');
    await Promise.resolve();
    expect(socket.sent.slice(1)).toEqual([
      ['snapshot', LATEST],
      ['messages', { ...batch(2, 2), omitted: 4 }],
    ]);
    expect(drops).toEqual([]);
  });

  it('drops a client with more packets waiting than the limit, saying why', () => {
    const socket = fakeSocket();
    const { session, drops } = sessionOn(socket, { nowMs: 0 }, LATEST);
    socket.conn.writeBuffer.length = BACKLOG_PACKETS_MAX + 1;
    session.sendEvent({ seq: 1 } as ClusterEvent);
    expect(drops).toEqual(['slow']);
    expect(socket.sent).toEqual([['closing', { reason: 'slow', message: expect.stringContaining(`more than ${BACKLOG_PACKETS_MAX} packets`) }]]);
    expect(socket.conn.closed).toEqual([undefined]);
    session.sendEvent({ seq: 2 } as ClusterEvent);
    expect(socket.sent).toHaveLength(1);
    // It takes nothing during the grace period either: its connection is cut, discarding the rest.
    vi.advanceTimersByTime(CLOSE_GRACE_MS);
    expect(socket.conn.closed).toEqual([undefined, true]);
  });

  it('lets a dropped client that reads its notice close by itself', () => {
    const socket = fakeSocket();
    const { session } = sessionOn(socket, { nowMs: 0 }, LATEST);
    socket.conn.writeBuffer.length = BACKLOG_PACKETS_MAX + 1;
    session.sendEvent({ seq: 1 } as ClusterEvent);
    socket.conn.emit('close');
    vi.advanceTimersByTime(CLOSE_GRACE_MS);
    expect(socket.conn.closed).toEqual([undefined]);
  });

  it('drops a client that takes nothing for too long, and not one that drains in between', () => {
    const clock = { nowMs: 0 };
    const socket = fakeSocket();
    const { session, drops } = sessionOn(socket, clock, LATEST);
    socket.conn.writeBuffer.push('waiting');
    session.sendEvent({ seq: 1 } as ClusterEvent);
    clock.nowMs = STALL_MS_MAX;
    socket.conn.emit('drain');
    session.sendEvent({ seq: 2 } as ClusterEvent);
    clock.nowMs = 2 * STALL_MS_MAX;
    session.sendEvent({ seq: 3 } as ClusterEvent);
    expect(drops).toEqual([]);
    clock.nowMs = 2 * STALL_MS_MAX + 1;
    session.sendEvent({ seq: 4 } as ClusterEvent);
    expect(drops).toEqual(['slow']);
    expect(socket.sent.at(-1)).toEqual(['closing', { reason: 'slow', message: expect.stringContaining(`took nothing for ${STALL_MS_MAX / 1000} s`) }]);
  });

  it('disconnects a flooder from the namespace once its refusals run out', () => {
    const socket = fakeSocket();
    const { session, drops } = sessionOn(socket, { nowMs: 0 }, LATEST);
    let refused = 0;
    while (drops.length === 0 && refused < 10 * REFUSALS_MAX) if (session.admit('inspect', 'n1') !== null) refused += 1;
    expect(refused).toBe(REFUSALS_MAX + 1);
    expect(drops).toEqual(['flood']);
    expect(socket.disconnected).toBe(true);
    expect(socket.sent).toEqual([['closing', { reason: 'flood', message: expect.stringContaining('too many requests') }]]);
  });
});
