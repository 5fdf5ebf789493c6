/** The agent's persistence pipeline: nothing leaves before the state it depends on is durable. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG, type DurableState, type Message } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { Agent, WRITE_RETRY_MS_MIN, type DurableStorage } from '../../electron/runtime/agent.js';
import { VirtualClock } from '../../electron/runtime/clock.js';

/** A disk whose writes take `writeMs` and fail the first `failures` times. */
class FlakyDisk implements DurableStorage {
  durable: DurableState | null = null;
  attempts = 0;
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
    const sentAt = v.sent[0]!.at;
    expect(sentAt).toBe(5 + WRITE_RETRY_MS_MIN + 5 + 2 * WRITE_RETRY_MS_MIN + 5);
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
