/** The agent's persistence pipeline: nothing leaves before the state it depends on is durable. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG, type DurableState, type Message } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { Agent, WAITING_MESSAGES_MAX, WRITE_RETRY_MS_MIN, type DurableStorage } from '../../electron/runtime/agent.js';
import { VirtualClock } from '../../electron/runtime/clock.js';

/** A disk whose writes take `writeMs` and fail the first `failures` times. */
class FlakyDisk implements DurableStorage {
  durable: DurableState | null = null;
  attempts = 0;
  /** Every state asked to be written, in order. */
  readonly asked: DurableState[] = [];
  constructor(
    private readonly clock: VirtualClock,
    private readonly writeMs: number,
    private failures: number,
  ) {}
  load(): DurableState | null {
    return this.durable;
  }
  save(state: DurableState, done: (error: Error | null) => void): void {
    this.attempts += 1;
    this.asked.push({ ...state });
    this.clock.setTimer(this.clock.now() + this.writeMs, () => {
      if (this.failures > 0) {
        this.failures -= 1;
        done(new Error('EIO: disk full'));
        return;
      }
      this.durable = { ...state };
      done(null);
    });
  }
}

function voter(failures: number) {
  const clock = new VirtualClock();
  const disk = new FlakyDisk(clock, 5, failures);
  const sent: Array<{ at: number; message: Message }> = [];
  const confirmed: Array<{ at: number; state: DurableState }> = [];
  const errors: string[] = [];
  const agent = new Agent({
    id: 'n1',
    members: ['n1', 'n2', 'n3'],
    algorithm: 'raft',
    config: { ...DEFAULT_ELECTION_CONFIG, electionTimeoutMinMs: 10_000, electionTimeoutMaxMs: 10_000 },
    clock,
    random: createRandom(1),
    storage: disk,
    send: (message) => sent.push({ at: clock.now(), message }),
    onUpdate: () => undefined,
    onPersisted: (_agent, state) => confirmed.push({ at: clock.now(), state }),
    onWriteError: (_agent, error) => errors.push(error.message),
  });
  agent.start();
  return { clock, disk, agent, sent, confirmed, errors };
}

describe('agent persistence', () => {
  it('a vote leaves only once its write is durable, and the machine hears of it only then', () => {
    const v = voter(0);
    v.agent.receive({ kind: 'RequestVote', from: 'n2', to: 'n1', term: 1, transfer: false } as Message);
    expect(v.sent).toEqual([]);
    expect(v.agent.inspect()?.persisted).toEqual({ term: 0, votedFor: null });
    v.clock.runUntil(5);
    expect(v.sent.map(({ at, message }) => [at, message.kind])).toEqual([[5, 'RequestVoteResp']]);
    expect(v.confirmed).toEqual([{ at: 5, state: { term: 1, votedFor: 'n2' } }]);
    expect(v.agent.inspect()?.persisted).toEqual({ term: 1, votedFor: 'n2' });
  });

  it('a failed write is retried with backoff while the vote waits; nothing is lost', () => {
    const v = voter(2);
    v.agent.receive({ kind: 'RequestVote', from: 'n2', to: 'n1', term: 1, transfer: false } as Message);
    v.clock.runUntil(1_000);
    expect(v.errors).toEqual(['EIO: disk full', 'EIO: disk full']);
    expect(v.disk.attempts).toBe(3);
    // Three writes of 5 ms; the first retry waits the minimum, the second from it to twice it (equal jitter).
    const sentAt = v.sent[0]!.at;
    expect(sentAt).toBeGreaterThanOrEqual(5 + WRITE_RETRY_MS_MIN + 5 + WRITE_RETRY_MS_MIN + 5);
    expect(sentAt).toBeLessThanOrEqual(5 + WRITE_RETRY_MS_MIN + 5 + 2 * WRITE_RETRY_MS_MIN + 5);
    expect(v.confirmed[0]!.at).toBe(sentAt);
  });

  it('a crash before the write lands: nothing is sent, nothing is confirmed', () => {
    const v = voter(0);
    v.agent.receive({ kind: 'RequestVote', from: 'n2', to: 'n1', term: 1, transfer: false } as Message);
    v.clock.runUntil(2);
    v.agent.crash();
    v.clock.runUntil(100);
    expect(v.sent).toEqual([]);
    expect(v.confirmed).toEqual([]);
  });
});

describe('agent persistence while the disk keeps failing', () => {
  /** Heartbeats from n2, leader of a term that grows every 1,000 messages, one per ms while every write fails. */
  function flood(v: ReturnType<typeof voter>, count: number, termStep = 1_000) {
    const waiting = (): Array<{ messages: Message[] }> => (v.agent as unknown as { waiting: Array<{ messages: Message[] }> }).waiting;
    let most = { batches: 0, messages: 0 };
    for (let i = 0; i < count; i++) {
      v.clock.runUntil(i);
      v.agent.receive({ kind: 'Heartbeat', from: 'n2', to: 'n1', term: 1 + Math.floor(i / termStep), round: 1 } as Message);
      const now = { batches: waiting().length, messages: waiting().reduce((sum, batch) => sum + batch.messages.length, 0) };
      most = { batches: Math.max(most.batches, now.batches), messages: Math.max(most.messages, now.messages) };
    }
    return most;
  }

  it('what waits behind the failing write stays bounded, and nothing leaves', () => {
    const v = voter(Infinity);
    const most = flood(v, 20_000);
    expect(most.batches).toBeLessThanOrEqual(3);
    expect(most.messages).toBeLessThanOrEqual(WAITING_MESSAGES_MAX);
    expect(v.sent).toEqual([]);
    expect(v.confirmed).toEqual([]);
  });

  it('once the disk recovers, the newest state is written first, confirmed once, and only the newest replies leave', () => {
    const v = voter(Infinity);
    flood(v, 5_000);
    const askedBefore = v.disk.asked.length;
    (v.disk as unknown as { failures: number }).failures = 0;
    v.clock.runUntil(10_000);
    expect(v.disk.asked[askedBefore]).toEqual({ term: 5, votedFor: null });
    expect(v.confirmed.map(({ state }) => state)).toEqual([{ term: 5, votedFor: null }]);
    expect(v.sent.length).toBeGreaterThan(0);
    expect(v.sent.length).toBeLessThanOrEqual(WAITING_MESSAGES_MAX);
    expect(v.sent.every(({ message }) => message.kind === 'HeartbeatResp' && message.term === 5)).toBe(true);
  });
});
