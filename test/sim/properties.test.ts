/**
 * What the simulator and the algorithms promise beyond "no violation": exact replay, checkers
 * that report what they find (mutations.test.ts proves they catch broken variants), and the
 * behaviours pre-vote, check-quorum, Bully's bullying and leadership transfer exist for, each
 * shown on seeded clusters.
 */
import { describe, expect, it } from 'vitest';
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, type AlgorithmName, type ElectionConfig } from '../../shared/core/election.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { Cluster } from '../../electron/targets/embedded/cluster.js';
import { runFailover } from '../../electron/sim/failover.js';
import { MUTATIONS } from '../../electron/sim/mutations.js';
import { runSimulation } from '../../electron/sim/simulator.js';
import { baseOptions } from './suite.js';


function seeded(algorithm: AlgorithmName, config: ElectionConfig = DEFAULT_ELECTION_CONFIG, seed = 4, nodes = 5) {
  const clock = new VirtualClock();
  const cluster = new Cluster({ algorithm, nodeCount: nodes, config, seed, clock });
  const events: ClusterEvent[] = [];
  cluster.subscribe({ onEvent: (event) => events.push(event) });
  cluster.start();
  const run = (ms: number) => clock.runUntil(clock.now() + ms);
  const leader = () => cluster.snapshot().leader;
  const node = (id: string) => cluster.snapshot().nodes.find((n) => n.id === id)!;
  return { clock, cluster, events, run, leader, node };
}

describe('replay', () => {
  it.each(ALGORITHMS)('%s: the same seed gives the same trace byte for byte; another seed another', (algorithm) => {
    const options = { ...baseOptions(algorithm), durationMs: 60_000, keepTrace: true };
    const first = runSimulation({ ...options, seed: 77 });
    const again = runSimulation({ ...options, seed: 77 });
    const other = runSimulation({ ...options, seed: 78 });
    expect(again.trace.join('\n')).toBe(first.trace.join('\n'));
    expect(again.traceHash).toBe(first.traceHash);
    expect(other.traceHash).not.toBe(first.traceHash);
    expect(first.trace.length).toBeGreaterThan(50);
  });
});

describe('the checkers report what they find', () => {
  // Pauses: a frozen leader sends no crash hint, so every failover waits out a timeout.
  const pauses = { kinds: ['pause'] as const, meanIntervalMs: 1_000, durationMs: [500, 1_000] as const, leaderBias: 0.5, maxConcurrent: 2 };

  it.each([
    ['raft', 'no-leader'],
    ['paxos', 'no-leader'],
    ['bully', 'no-coordinator'],
  ] as const)('%s: a liveness bound shorter than any election is reported as %s, and the run goes on', (algorithm, kind) => {
    const result = runSimulation({ ...baseOptions(algorithm), durationMs: 20_000, seed: 3, faults: pauses, livenessBoundMs: 1, keepTrace: true });
    expect(result.liveness?.kind).toBe(kind);
    expect(result.safety).toBeNull();
    const reported = result.trace.findIndex((line) => line.includes(`LIVENESS ${kind}`));
    expect(result.trace.slice(reported + 1).filter((line) => line.includes('became leader')).length).toBeGreaterThan(0);
  });

  it('a liveness failure does not hide a later safety violation in the same seed', () => {
    const broken = MUTATIONS.find((mutation) => mutation.name === 'raft-lead-on-quorum-minus-one')!;
    const result = runSimulation({ ...baseOptions('raft'), durationMs: 20_000, seed: 3, faults: null, livenessBoundMs: 1, variant: broken.variant });
    expect(result.liveness?.kind).toBe('no-leader');
    expect(result.safety?.kind).toBe('leader-without-quorum');
    expect(result.safety!.t).toBeGreaterThan(result.liveness!.t);
  });
});

describe('Raft: what pre-vote and check-quorum prevent', () => {
  it.each([false, true])('with pre-vote and check-quorum %s, a follower rejoining from a partition never deposes a healthy leader (100 seeds)', (checkQuorum) => {
    const deposed: string[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const c = seeded('raft', { ...DEFAULT_ELECTION_CONFIG, preVote: true, checkQuorum }, seed);
      c.run(2_000);
      const before = c.leader()!;
      const isolated = c.cluster.members.filter((id) => id !== before.id)[seed % 4]!;
      c.cluster.execute({ type: 'partition', groups: [[isolated]] });
      c.run(1_000 + (seed % 7) * 700);
      c.cluster.execute({ type: 'heal' });
      c.run(3_000);
      const after = c.leader();
      if (after?.id !== before.id || after.term !== before.term) deposed.push(`seed ${seed}: ${before.id}@${before.term} became ${after?.id}@${after?.term} after ${isolated} rejoined`);
    }
    expect(deposed).toEqual([]);
  });

  it.each([
    [true, 'keeps its term and the leader keeps leading'],
    [false, 'inflates its term and deposes the leader when it rejoins'],
  ])('with pre-vote %s, a node isolated for 10 s %s', (preVote) => {
    const c = seeded('raft', { ...DEFAULT_ELECTION_CONFIG, preVote, checkQuorum: false });
    c.run(2_000);
    const before = c.leader()!;
    const isolated = c.cluster.members.find((id) => id !== before.id)!;
    c.cluster.execute({ type: 'partition', groups: [[isolated]] });
    c.run(10_000);
    const isolatedTerm = c.node(isolated).term;
    c.cluster.execute({ type: 'heal' });
    c.run(3_000);
    const after = c.leader()!;
    if (preVote) {
      expect(isolatedTerm).toBe(before.term);
      expect(after).toMatchObject({ id: before.id, term: before.term });
    } else {
      expect(isolatedTerm).toBeGreaterThan(before.term + 10);
      expect(after.term).toBeGreaterThan(isolatedTerm);
    }
  });

  it.each([
    [true, 'steps down within two election timeouts'],
    [false, 'believes it leads until the partition heals'],
  ])('with check-quorum %s, a leader cut off in a minority %s', (checkQuorum) => {
    const c = seeded('raft', { ...DEFAULT_ELECTION_CONFIG, checkQuorum });
    c.run(2_000);
    const old = c.leader()!;
    expect(c.cluster.execute({ type: 'partition', preset: 'isolate-leader' })).toEqual({ ok: true });
    c.run(2 * DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs);
    const majorityLeader = c.leader()!;
    expect(majorityLeader.id).not.toBe(old.id);
    expect(majorityLeader.term).toBeGreaterThan(old.term);
    if (checkQuorum) {
      // Stepped down; alone, it can only ask for pre-votes, which do not inflate its term.
      expect(c.node(old.id)).toMatchObject({ role: expect.stringMatching(/^(follower|precandidate)$/), term: old.term });
    } else {
      expect(c.node(old.id)).toMatchObject({ role: 'leader', term: old.term });
    }
    c.cluster.execute({ type: 'heal' });
    c.run(1_000);
    expect(c.node(old.id)).toMatchObject({ role: 'follower', leaderId: majorityLeader.id });
  });

  it('a paused leader resumed after the others moved on learns the higher term and steps down', () => {
    const c = seeded('raft');
    c.run(2_000);
    const old = c.leader()!;
    c.cluster.execute({ type: 'pause', nodeId: old.id });
    c.run(2_000);
    const next = c.leader()!;
    expect(next.id).not.toBe(old.id);
    expect(c.node(old.id)).toMatchObject({ status: 'paused', role: 'leader', term: old.term });
    c.cluster.execute({ type: 'resume', nodeId: old.id });
    c.run(200);
    expect(c.node(old.id)).toMatchObject({ status: 'up', role: 'follower', term: next.term, leaderId: next.id });
  });
});

describe('Bully', () => {
  it('the highest-ranked node coordinates; a recovering higher node takes over', () => {
    const c = seeded('bully');
    c.run(2_000);
    expect(c.leader()!.id).toBe('n5');
    c.cluster.execute({ type: 'kill', nodeId: 'n5' });
    c.run(2_000);
    expect(c.leader()!.id).toBe('n4');
    c.cluster.execute({ type: 'restart', nodeId: 'n5' });
    c.run(500);
    const snapshot = c.cluster.snapshot();
    expect(snapshot.nodes.filter((n) => n.role === 'leader').map((n) => n.id)).toEqual(['n5']);
    expect(snapshot.nodes.every((n) => n.leaderId === 'n5')).toBe(true);
  });

  it('splits its brain under a partition (a coordinator per side), and converges when healed', () => {
    const c = seeded('bully');
    c.run(2_000);
    c.cluster.execute({ type: 'partition', groups: [['n1', 'n2', 'n3']] });
    c.run(2_000);
    const leaders = c.cluster.snapshot().nodes.filter((n) => n.role === 'leader').map((n) => n.id);
    expect(leaders).toEqual(['n3', 'n5']);
    c.cluster.execute({ type: 'heal' });
    c.run(1_000);
    expect(c.cluster.snapshot().nodes.map((n) => n.leaderId)).toEqual(Array(5).fill('n5'));
  });
});

describe('leadership transfer through the cluster', () => {
  it.each(['raft', 'paxos'] as const)('%s hands leadership to the chosen node', (algorithm) => {
    const c = seeded(algorithm);
    c.run(2_000);
    const old = c.leader()!;
    const target = c.cluster.members.find((id) => id !== old.id)!;
    expect(c.cluster.execute({ type: 'transfer', nodeId: target })).toEqual({ ok: true });
    c.run(500);
    expect(c.leader()).toMatchObject({ id: target });
    expect(c.leader()!.term).toBeGreaterThan(old.term);
    expect(c.events.some((e) => e.type === 'transfer' && e.from === old.id && e.to === target)).toBe(true);
  });

  it.each(['raft', 'paxos'] as const)('%s: a target paused right after the request and resumed 5 s later does not depose the healthy leader (50 seeds)', (algorithm) => {
    const forced: string[] = [];
    for (let seed = 1; seed <= 50; seed++) {
      const c = seeded(algorithm, DEFAULT_ELECTION_CONFIG, seed);
      c.run(2_000);
      const old = c.leader()!;
      const target = c.cluster.members.find((id) => id !== old.id)!;
      expect(c.cluster.execute({ type: 'transfer', nodeId: target })).toEqual({ ok: true });
      expect(c.cluster.execute({ type: 'pause', nodeId: target })).toEqual({ ok: true });
      c.run(5_000);
      const beforeResume = c.leader()!;
      expect(c.cluster.execute({ type: 'resume', nodeId: target })).toEqual({ ok: true });
      c.run(1_000);
      const after = c.leader();
      if (after?.id !== beforeResume.id || after.term !== beforeResume.term) forced.push(`seed ${seed}: ${beforeResume.id}@${beforeResume.term} became ${after?.id}@${after?.term}`);
    }
    expect(forced).toEqual([]);
  });

  it('bully refuses, explaining why', () => {
    const c = seeded('bully');
    c.run(2_000);
    const ack = c.cluster.execute({ type: 'transfer', nodeId: 'n2' });
    expect(ack).toEqual({ ok: false, error: expect.stringContaining('highest-ranked running node') });
    expect(c.events.some((e) => e.type === 'transfer')).toBe(false);
  });
});

describe('failover measurement', () => {
  const config = { ...DEFAULT_ELECTION_CONFIG, heartbeatMs: 75 };
  const link = { latencyMs: 7, jitterMs: 0 };

  it.each(ALGORITHMS)('%s without crash hints: every trial fails over, and no faster than detection allows', (algorithm) => {
    const report = runFailover({ algorithm, nodes: 5, config, link, trials: 200, seed: 1, crashHints: false });
    expect(report.failed).toBe(0);
    expect(report.trials).toHaveLength(200);
    // Followers last heard the leader at most one heartbeat before the crash, so none can
    // notice before (minimum timeout - heartbeat); Bully's followers are no different.
    expect(report.failoverMs.min).toBeGreaterThanOrEqual(config.electionTimeoutMinMs - config.heartbeatMs);
    expect(report.failoverMs.p50).toBeLessThan(config.electionTimeoutMaxMs + 10 * 7 + config.heartbeatMs);
  });

  it.each(ALGORITHMS)('%s with crash hints: followers learn of the crash a network delay later and fail over well before any timeout', (algorithm) => {
    const report = runFailover({ algorithm, nodes: 5, config, link, trials: 200, seed: 1 });
    expect(report.failed).toBe(0);
    // Nothing happens before the hint arrives; Bully's candidate still waits out its answer timeout.
    expect(report.failoverMs.min).toBeGreaterThanOrEqual(link.latencyMs);
    expect(report.failoverMs.p99).toBeLessThan(algorithm === 'bully' ? 3 * config.heartbeatMs + 4 * link.latencyMs : config.electionTimeoutMinMs - config.heartbeatMs);
  });

  it.each(['raft', 'paxos'] as const)('%s: ranked timeouts fail over faster than uniform ones at the same settings, without more elections', (algorithm) => {
    const uniform = runFailover({ algorithm, nodes: 5, config: { ...config, rankedTimeouts: false }, link, trials: 300, seed: 1, crashHints: false });
    const ranked = runFailover({ algorithm, nodes: 5, config, link, trials: 300, seed: 1, crashHints: false });
    expect(ranked.failoverMs.p50).toBeLessThan(uniform.failoverMs.p50);
    expect(ranked.failoverMs.p90).toBeLessThan(uniform.failoverMs.p90);
    expect(ranked.elections.mean).toBeLessThanOrEqual(uniform.elections.mean);
  });
});

describe('the leader lease (docs/lease.md)', () => {
  it.each(['raft', 'paxos'] as const)('%s: no two lease holders at once with clocks drifting up to a tenth, the bound the nodes are told', (algorithm) => {
    let acquisitions = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const result = runSimulation({ ...baseOptions(algorithm), durationMs: 60_000, seed, clockDriftMax: 0.1 });
      expect(result.safety, `seed ${seed}: ${result.safety?.message}`).toBeNull();
      acquisitions += result.leaseAcquisitions;
    }
    expect(acquisitions).toBeGreaterThan(150 * 5);
  });

  it('Bully takes no lease: its coordinators need no majority, so each side of a partition has one (a documented limit)', () => {
    const result = runSimulation({ ...baseOptions('bully'), durationMs: 60_000, seed: 5 });
    expect(result.leaseAcquisitions).toBe(0);
    expect(result.concurrentLeadersMs).toBeGreaterThan(0);
  });
});
