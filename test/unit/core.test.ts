import { describe, expect, it } from 'vitest';
import { configWarnings, parseElectionConfig } from '../../shared/core/config.js';
import { DEFAULT_ELECTION_CONFIG, quorum } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { TimerQueue, VirtualClock } from '../../electron/runtime/clock.js';

describe('seeded random', () => {
  it('the same seed gives the same stream, another seed another', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const draw = (random: typeof a) => Array.from({ length: 20 }, () => random.next());
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
  });

  it('forks are stable per label and independent of each other', () => {
    const root = createRandom(9);
    expect(root.fork('n1').next()).toBe(createRandom(9).fork('n1').next());
    expect(root.fork('n1').next()).not.toBe(root.fork('n2').next());
  });

  it('int covers its inclusive range evenly enough', () => {
    const random = createRandom(1);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[random.int(0, 5)]! += 1;
    for (const count of counts) expect(count).toBeGreaterThan(9_000);
  });
});

describe('quorum', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [25, 13],
  ])('%i members need %i', (members, needed) => expect(quorum(members)).toBe(needed));
});

describe('election config', () => {
  it('fills defaults', () => {
    expect(parseElectionConfig({})).toEqual(DEFAULT_ELECTION_CONFIG);
  });

  it.each([
    [{ heartbeatMs: 200, electionTimeoutMinMs: 150 }, 'must be greater than the heartbeat interval'],
    [{ electionTimeoutMinMs: 300, electionTimeoutMaxMs: 200 }, 'must not be below the minimum'],
    [{ heartbeatMs: 0 }, 'config.heartbeatMs must be between 1 and 60000'],
    [{ heartbeatMs: 2.5 }, 'config.heartbeatMs must be an integer'],
    [{ preVote: 'yes' }, 'config.preVote must be true or false'],
    [{ heartbeat: 50 }, 'unknown field "heartbeat"'],
  ])('refuses %j with an explicit reason', (input, reason) => {
    expect(() => parseElectionConfig(input)).toThrow(reason);
  });
});

describe('settings that are valid but behave badly', () => {
  it.each([
    [150, 150, /are equal \(150 ms\).*livelock of Figure 16/],
    [200, 201, /range 200-201 ms is narrow/],
    [150, 155, /range 150-155 ms is narrow/],
  ])('election timeouts %i-%i ms are warned about', (min, max, warning) => {
    const warnings = configWarnings({ ...DEFAULT_ELECTION_CONFIG, electionTimeoutMinMs: min, electionTimeoutMaxMs: max });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(warning);
  });

  it('a randomized range and a fast network draw no warning', () => {
    expect(configWarnings({ ...DEFAULT_ELECTION_CONFIG, electionTimeoutMinMs: 150, electionTimeoutMaxMs: 175 }, 4)).toEqual([]);
  });

  it('check-quorum with an election timeout shorter than a heartbeat and its round trip is warned about', () => {
    const config = { ...DEFAULT_ELECTION_CONFIG, heartbeatMs: 6, electionTimeoutMinMs: 12, electionTimeoutMaxMs: 24 };
    expect(configWarnings(config, 10)).toEqual([expect.stringMatching(/^With check-quorum a leader must hear from a majority within 12 ms/)]);
    expect(configWarnings({ ...config, checkQuorum: false }, 10)).toEqual([]);
  });
});

describe('timers', () => {
  it('fire in time order, ties in insertion order, skipping cancelled ones', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push('c'));
    clock.setTimer(10, () => fired.push('a'));
    const cancelled = clock.setTimer(20, () => fired.push('x'));
    clock.setTimer(10, () => fired.push('b'));
    clock.clearTimer(cancelled);
    clock.runUntil(25);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.now()).toBe(25);
    clock.runUntil(100);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('a timer re-arming itself for the same instant is stopped by the budget instead of hanging', () => {
    const clock = new VirtualClock();
    const rearm = (): void => void clock.setTimer(clock.now(), rearm);
    clock.setTimer(5, rearm);
    expect(() => clock.runUntil(10, 1_000)).toThrow(/more than 1000 timers/);
  });

  it('the heap pops a large random set in sorted order', () => {
    const queue = new TimerQueue();
    const random = createRandom(3);
    const times = Array.from({ length: 2_000 }, () => random.int(0, 500));
    for (const at of times) queue.push(at, () => undefined);
    const popped: number[] = [];
    for (let entry = queue.pop(); entry !== undefined; entry = queue.pop()) popped.push(entry.at);
    expect(popped).toEqual([...times].sort((x, y) => x - y));
  });
});
