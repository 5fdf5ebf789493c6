/**
 * Each chaos control on a seeded cluster: during the fault no term has two leaders, and once
 * healed every node follows one leader within the bound (10 election timeouts).
 */
import { describe, expect, it } from 'vitest';
import { SafetyMonitor } from '../../shared/analysis/safety.js';
import { DEFAULT_ELECTION_CONFIG, type AlgorithmName, type ElectionConfig } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import type { ClusterCommand } from '../../shared/protocol/types.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { Cluster } from '../../electron/targets/embedded/cluster.js';

const BOUND_MS = 10 * DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs;
const SEEDS = 40;

type Chaos = (cluster: Cluster, leader: string, followers: string[]) => ClusterCommand[];

const CHAOS: Record<string, Chaos> = {
  'pause the leader': (_c, leader) => [{ type: 'pause', nodeId: leader }],
  'pause a follower': (_c, _leader, followers) => [{ type: 'pause', nodeId: followers[0]! }],
  'isolate the leader': () => [{ type: 'partition', preset: 'isolate-leader' }],
  'isolate a follower': (_c, _leader, followers) => [{ type: 'partition', groups: [[followers[1]!]] }],
  'random halves': () => [{ type: 'partition', preset: 'halves' }],
  'majorities ring': () => [{ type: 'partition', preset: 'majorities-ring' }],
  bridge: () => [{ type: 'partition', preset: 'bridge' }],
  'one-way cut from the leader': (_c, leader, followers) => [{ type: 'link', from: leader, to: followers[0]!, cut: true }],
  'one-way cut to the leader': (_c, leader, followers) => [{ type: 'link', from: followers[0]!, to: leader, cut: true }],
  'the leader can send but not receive': (_c, leader) => [{ type: 'link', to: leader, cut: true }],
  'the leader can receive but not send': (_c, leader) => [{ type: 'link', from: leader, cut: true }],
};

interface Outcome {
  violations: string[];
  convergedMs: number | null;
}

function trial(algorithm: AlgorithmName, config: ElectionConfig, chaos: Chaos, seed: number): Outcome {
  const clock = new VirtualClock();
  const random = createRandom(seed);
  const cluster = new Cluster({ algorithm, nodeCount: 5, config, seed, clock });
  const safety = new SafetyMonitor({ singleLeaderPerTerm: true });
  cluster.subscribe({ onEvent: (event) => void safety.observe(event) });
  cluster.start();
  clock.runUntil(2_000);
  const leader = cluster.snapshot().leader;
  if (leader === null) return { violations: ['no leader before the fault'], convergedMs: null };
  const followers = cluster.members.filter((id) => id !== leader.id);
  for (const command of chaos(cluster, leader.id, followers)) expect(cluster.execute(command)).toEqual({ ok: true });
  clock.runUntil(clock.now() + random.between(500, 8_000));
  expect(cluster.execute({ type: 'heal' })).toEqual({ ok: true });
  const healedAt = clock.now();
  let convergedMs: number | null = null;
  for (let t = healedAt; t <= healedAt + BOUND_MS && convergedMs === null; t += 5) {
    clock.runUntil(t);
    const snapshot = cluster.snapshot();
    const lead = snapshot.leader;
    if (lead !== null && snapshot.nodes.every((node) => node.status === 'up' && node.leaderId === lead.id && node.term === lead.term)) {
      convergedMs = t - healedAt;
    }
  }
  clock.runUntil(clock.now() + 2_000);
  cluster.stop();
  return { violations: safety.violations.map((v) => v.message), convergedMs };
}

const CONFIGS: Array<[string, AlgorithmName, ElectionConfig]> = [
  ['raft', 'raft', DEFAULT_ELECTION_CONFIG],
  ['raft without pre-vote and check-quorum', 'raft', { ...DEFAULT_ELECTION_CONFIG, preVote: false, checkQuorum: false }],
  ['paxos', 'paxos', DEFAULT_ELECTION_CONFIG],
];

describe.each(CONFIGS)('%s under each chaos control', (_name, algorithm, config) => {
  it.each(Object.keys(CHAOS))('%s: one leader per term, and one leader for all within the bound once healed', (name) => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const outcome = trial(algorithm, config, CHAOS[name]!, seed);
      expect(outcome.violations, `seed ${seed}`).toEqual([]);
      expect(outcome.convergedMs, `seed ${seed}: no single leader ${BOUND_MS} ms after healing`).not.toBeNull();
    }
  });
});
