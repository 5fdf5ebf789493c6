/**
 * Priorities and the preferred-leader rule on the simulator: random priorities that the nemesis
 * changes (0 included) and noisy load averages under the rule, among every other fault, over many
 * seeds of every algorithm: safety unchanged, no priority-0 leader, no takeover to an unreachable
 * node, a priority-0 leader hands over and a higher priority takes over within their bounds, no
 * flapping (electron/sim/leadership-checks.ts). Then the same promises shown one by one.
 */
import { describe, expect, it } from 'vitest';
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, type AlgorithmName } from '../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, TAKEOVER_AFTER_TIMEOUTS, type LeadershipConfig } from '../../shared/core/leadership.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { Cluster } from '../../electron/targets/embedded/cluster.js';
import { LEADERSHIP_FAULTS, Nemesis, type FaultProfile } from '../../electron/sim/faults.js';
import { SIMULATED_RULE } from '../../electron/sim/mutations.js';
import { describeFailure, runSimulation, violationOf } from '../../electron/sim/simulator.js';
import { createRandom } from '../../shared/core/random.js';
import { baseOptions } from './suite.js';

const SEEDS = 300;
const DURATION_MS = 120_000;
const TAKEOVER_MS = TAKEOVER_AFTER_TIMEOUTS * DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs;
/** What the simulator's checker allows a takeover on top of its delay (leadership-checks.ts). */
const TAKEOVER_BOUND_MS = TAKEOVER_MS + 2 * DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs;

describe.each(ALGORITHMS)('%s with random priorities the nemesis changes, and noisy capabilities under the rule', (algorithm) => {
  it(`${SEEDS} seeds of ${DURATION_MS / 1000} s`, () => {
    let priorityChanges = 0;
    let recoveries = 0;
    let elections = 0;
    let takeovers = 0;
    let timed = 0;
    let worstTakeoverMs = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const result = runSimulation({
        ...baseOptions(algorithm),
        durationMs: DURATION_MS,
        seed,
        faults: LEADERSHIP_FAULTS,
        priorities: 'random',
        preferredLeader: SIMULATED_RULE,
      });
      if (violationOf(result) !== null) {
        expect.fail(describeFailure(result, `npm run sim -- --algorithm ${algorithm} --seed ${seed} --duration-s ${DURATION_MS / 1000} --faults all --priorities random --preferred-leader loadavg`));
      }
      elections += result.elections;
      takeovers += result.takeovers;
      timed += result.takeoversTimed;
      worstTakeoverMs = Math.max(worstTakeoverMs, result.worstTakeoverMs);
      priorityChanges += result.priorityChanges;
      recoveries += result.recoveries;
    }
    console.log(
      `${algorithm} with priorities: ${SEEDS} seeds x ${DURATION_MS / 1000} s, ${priorityChanges} changes of priority, ${elections} elections, ` +
        `${recoveries} recoveries to the ${algorithm === 'bully' ? 'top-ranked coordinator' : 'majority leader'}, ${takeovers} transfers leaders started on their own, ` +
        `${timed} priority takeovers timed on a clean network (slowest ${worstTakeoverMs.toFixed(0)} ms, bound ${TAKEOVER_BOUND_MS} ms)`,
    );
    expect(priorityChanges).toBeGreaterThan(SEEDS * 5);
    expect(elections).toBeGreaterThan(SEEDS * 5);
    expect(recoveries).toBeGreaterThan(SEEDS * 5);
    if (algorithm !== 'bully') {
      expect(takeovers).toBeGreaterThan(SEEDS * 3);
      expect(timed).toBeGreaterThan(SEEDS);
      expect(worstTakeoverMs).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
    }
  }, 300_000);
});

describe('replay', () => {
  it.each(ALGORITHMS)('%s: a seed with priorities, their changes and noise replays byte for byte', (algorithm) => {
    const options = { ...baseOptions(algorithm), durationMs: 60_000, keepTrace: true, faults: LEADERSHIP_FAULTS, priorities: 'random' as const, preferredLeader: SIMULATED_RULE };
    const first = runSimulation({ ...options, seed: 5 });
    const again = runSimulation({ ...options, seed: 5 });
    expect(again.trace.join('\n')).toBe(first.trace.join('\n'));
    expect(first.trace.filter((line) => / priority \d+ -> \d+$/.test(line)).length).toBeGreaterThan(2);
  });
});

function seeded(algorithm: AlgorithmName, leadership: LeadershipConfig, seed: number) {
  const clock = new VirtualClock();
  const cluster = new Cluster({ algorithm, nodeCount: 5, config: DEFAULT_ELECTION_CONFIG, seed, clock, leadership });
  const events: ClusterEvent[] = [];
  cluster.subscribe({ onEvent: (event) => events.push(event) });
  cluster.start();
  const run = (ms: number): void => {
    clock.runUntil(clock.now() + ms);
  };
  /** Runs until `node` leads a majority (or `limitMs` passes); returns how long it took, or null. */
  const until = (node: string, limitMs: number): number | null => {
    const start = clock.now();
    while (clock.now() - start < limitMs) {
      run(10);
      const quorum = events.filter((event) => event.type === 'quorum').at(-1);
      if (quorum?.type === 'quorum' && quorum.leaderId === node) return clock.now() - start;
    }
    return null;
  };
  return { clock, cluster, events, run, until, leader: () => cluster.snapshot().leader?.id ?? null };
}

describe.each(['raft', 'paxos'] as const)('%s: the preferred node', (algorithm) => {
  const preferred = { ...DEFAULT_LEADERSHIP, priorities: { n3: 3, n5: 0 } };

  it('takes leadership back within its bound after it restarts, and never gets it while down (50 seeds)', () => {
    const times: number[] = [];
    for (let seed = 1; seed <= 50; seed++) {
      const c = seeded(algorithm, preferred, seed);
      expect(c.until('n3', 3_000), `seed ${seed}: n3 leads first`).not.toBeNull();
      c.cluster.execute({ type: 'kill', nodeId: 'n3' });
      const downAt = c.events.length;
      c.run(2_000 + (seed % 5) * 500);
      expect(c.leader(), `seed ${seed}`).not.toBeNull();
      expect(c.leader(), `seed ${seed}: never n5 (priority 0)`).not.toBe('n5');
      expect(c.events.slice(downAt).filter((event) => event.type === 'transfer' && event.to === 'n3'), `seed ${seed}`).toEqual([]);
      c.cluster.execute({ type: 'restart', nodeId: 'n3' });
      const took = c.until('n3', 10_000);
      expect(took, `seed ${seed}: n3 leads again`).not.toBeNull();
      expect(took!, `seed ${seed}`).toBeGreaterThanOrEqual(TAKEOVER_MS);
      expect(took!, `seed ${seed}`).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      times.push(took!);
      c.cluster.stop();
    }
    console.log(`${algorithm}: the preferred node led again ${Math.min(...times).toFixed(0)} to ${Math.max(...times).toFixed(0)} ms after its restart (takeover after ${TAKEOVER_MS} ms)`);
  });

  it('takes over within its bound once a partition that isolated it heals, and never while isolated (50 seeds)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const c = seeded(algorithm, preferred, seed);
      expect(c.until('n3', 3_000), `seed ${seed}`).not.toBeNull();
      c.cluster.execute({ type: 'partition', groups: [['n3']] });
      const cutAt = c.events.length;
      c.run(3_000);
      const during = c.events.slice(cutAt).filter((event) => event.type === 'transfer' && event.to === 'n3');
      expect(during, `seed ${seed}`).toEqual([]);
      c.cluster.execute({ type: 'heal' });
      const took = c.until('n3', 10_000);
      expect(took, `seed ${seed}`).not.toBeNull();
      expect(took!, `seed ${seed}`).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      c.cluster.stop();
    }
  });

  it('with noisy load averages, the rule moves leadership only to a lower level, never back (100 seeds of 60 s)', () => {
    const noiseOnly: FaultProfile = { ...LEADERSHIP_FAULTS, kinds: ['capability'], meanIntervalMs: 1e9 };
    let moves = 0;
    let seedsMoved = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const c = seeded(algorithm, { ...DEFAULT_LEADERSHIP, preferredLeader: SIMULATED_RULE }, seed);
      const nemesis = new Nemesis(c.cluster, c.clock, noiseOnly, createRandom(seed).fork('faults'));
      nemesis.start();
      c.run(60_000);
      const leaders = c.events.flatMap((event) => (event.type === 'leader' ? [event.nodeId] : []));
      const levels = leaders.map((id) => nemesis.loadLevel(id)!);
      const history = `seed ${seed}: ${leaders.map((id, i) => `${id} (level ${levels[i]})`).join(' -> ')}`;
      expect(new Set(leaders).size, history).toBe(leaders.length);
      for (let i = 1; i < levels.length; i++) expect(levels[i]!, history).toBeLessThan(levels[i - 1]!);
      moves += leaders.length - 1;
      if (leaders.length > 1) seedsMoved += 1;
      c.cluster.stop();
    }
    console.log(`${algorithm}: the rule moved leadership ${moves} times in ${seedsMoved} of 100 seeds, each time to a lower level; never back`);
    expect(seedsMoved).toBeGreaterThan(10);
  });
});

describe('bully: the top-ranked reachable node coordinates', () => {
  it('by priority, then member order, never a priority-0 node', () => {
    const c = seeded('bully', { ...DEFAULT_LEADERSHIP, priorities: { n1: 3, n2: 3, n5: 0 } }, 1);
    c.run(1_000);
    expect(c.leader()).toBe('n2');
    c.cluster.execute({ type: 'kill', nodeId: 'n2' });
    c.run(2_000);
    expect(c.leader()).toBe('n1');
    c.cluster.execute({ type: 'partition', groups: [['n1']] });
    c.run(2_000);
    // The majority side elects its own top: n4 (priority 1, last in member order), never n5.
    expect(c.cluster.snapshot().nodes.filter((node) => node.id !== 'n1' && node.status === 'up').every((node) => node.leaderId === 'n4')).toBe(true);
    c.cluster.execute({ type: 'heal' });
    c.run(2_000);
    expect(c.leader()).toBe('n2');
    expect(c.events.filter((event) => event.type === 'leader').map((event) => event.type === 'leader' && event.nodeId)).not.toContain('n5');
  });
});
