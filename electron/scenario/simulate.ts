/** A scenario on the deterministic simulator: the same runner, a virtual clock, a seed. */
import { parseElectionConfig } from '../../shared/core/config.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import type { Scenario, ScenarioReport } from '../../shared/scenario/format.js';
import { VirtualClock } from '../runtime/clock.js';
import { Cluster, DEFAULT_NODE_COUNT } from '../runtime/cluster.js';
import { ScenarioRunner } from './runner.js';

export interface SimulatedScenario {
  report: ScenarioReport;
  events: ClusterEvent[];
  algorithm: string;
  nodes: number;
}

/** A guard against a runaway run: no more timers than this per simulated second. */
const MAX_TIMERS_PER_SECOND = 200_000;

export function simulateScenario(scenario: Scenario, seed: number): SimulatedScenario {
  const clock = new VirtualClock();
  const random = createRandom(seed);
  const algorithm = scenario.cluster?.algorithm ?? 'raft';
  const nodes = scenario.cluster?.nodes ?? DEFAULT_NODE_COUNT;
  const cluster = new Cluster({
    algorithm,
    nodeCount: nodes,
    config: parseElectionConfig({ ...DEFAULT_ELECTION_CONFIG, ...scenario.cluster?.config }, 'scenario.cluster.config'),
    seed: random.fork('cluster').seed,
    clock,
  });
  const events: ClusterEvent[] = [];
  cluster.subscribe({ onEvent: (event) => events.push(event) });
  cluster.start();
  const runner = new ScenarioRunner(scenario, cluster, clock, { random: random.fork('scenario') });
  for (let t = 0; t <= scenario.durationMs && runner.finished === null; t += 1_000) {
    clock.runUntil(Math.min(t + 1_000, scenario.durationMs), MAX_TIMERS_PER_SECOND);
  }
  const report = runner.finished ?? runner.stop();
  cluster.stop();
  return { report, events, algorithm, nodes };
}
