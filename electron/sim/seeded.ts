/** A cluster on a virtual clock, every random choice derived from one seed: what the simulator, the failover measurement and scenario runs start from. */
import type { AlgorithmName, ElectionConfig } from '../../shared/core/election.js';
import { createRandom, type Random } from '../../shared/core/random.js';
import type { DurableStorage } from '../runtime/agent.js';
import { VirtualClock } from '../runtime/clock.js';
import { Cluster } from '../runtime/cluster.js';
import type { LinkSettings } from '../runtime/fabric.js';

/** A guard against a runaway state machine: no run fires more timers per simulated second. */
export const MAX_TIMERS_PER_SIMULATED_SECOND = 200_000;

export interface SeededClusterOptions {
  algorithm: AlgorithmName;
  nodes: number;
  config: ElectionConfig;
  seed: number;
  link?: LinkSettings;
  storage?: (nodeId: string) => DurableStorage;
}

export function seededCluster(options: SeededClusterOptions): { clock: VirtualClock; cluster: Cluster; random: Random } {
  const clock = new VirtualClock();
  const random = createRandom(options.seed);
  const cluster = new Cluster({
    algorithm: options.algorithm,
    nodeCount: options.nodes,
    config: options.config,
    seed: random.fork('cluster').seed,
    clock,
    ...(options.link === undefined ? {} : { link: options.link }),
    ...(options.storage === undefined ? {} : { storage: options.storage }),
  });
  return { clock, cluster, random };
}
