/** A scenario on the deterministic simulator: the same runner, a virtual clock, a seed. */
import { parseElectionConfig } from '../../shared/core/config.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import type { Scenario, ScenarioReport } from '../../shared/scenario/format.js';
import { DEFAULT_NODE_COUNT } from '../targets/embedded/cluster.js';
import { seededCluster, timerBudgetPerSecond } from '../sim/seeded.js';
import { ScenarioRunner } from '../targets/scenario-runner.js';

export interface SimulatedScenario {
  report: ScenarioReport;
  events: ClusterEvent[];
  algorithm: string;
  nodes: number;
}


export function simulateScenario(scenario: Scenario, seed: number): SimulatedScenario {
  const algorithm = scenario.cluster?.algorithm ?? 'raft';
  const nodes = scenario.cluster?.nodes ?? DEFAULT_NODE_COUNT;
  const config = parseElectionConfig({ ...DEFAULT_ELECTION_CONFIG, ...scenario.cluster?.config }, 'scenario.cluster.config');
  const { clock, cluster, random } = seededCluster({ algorithm, nodes, config, seed });
  const events: ClusterEvent[] = [];
  cluster.subscribe({ onEvent: (event) => events.push(event) });
  cluster.start();
  const runner = new ScenarioRunner(scenario, cluster, clock, { random: random.fork('scenario') });
  for (let t = 0; t <= scenario.durationMs && runner.finished === null; t += 1_000) {
    clock.runUntil(Math.min(t + 1_000, scenario.durationMs), timerBudgetPerSecond(nodes));
  }
  const report = runner.finished ?? runner.stop();
  cluster.stop();
  return { report, events, algorithm, nodes };
}
