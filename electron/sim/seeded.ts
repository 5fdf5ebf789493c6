/** A cluster on a virtual clock, every random choice derived from one seed: what the simulator, the failover measurement and scenario runs start from. */
import type { AlgorithmName, ElectionConfig, ElectionNode, NodeOptions } from '../../shared/core/election.js';
import type { LeadershipConfig } from '../../shared/core/leadership.js';
import { createRandom, type Random } from '../../shared/core/random.js';
import type { Agent, AgentOptions } from '../runtime/agent.js';
import { DriftingClock, VirtualClock } from '../runtime/clock.js';
import { DEFAULT_CLOCK_DRIFT_MAX } from '../../shared/core/lease.js';
import { Cluster } from '../targets/embedded/cluster.js';
import type { LinkSettings } from '../../shared/network/link-rules.js';
import { SimulatedDisk, type DiskListener } from './disk.js';

/** A guard against a runaway state machine: no run of 5 nodes or fewer fires more timers per simulated second. */
export const MAX_TIMERS_PER_SIMULATED_SECOND = 200_000;

/**
 * The guard for a cluster of `nodes`: an election round is every candidate messaging every node,
 * so the timers a healthy run fires grow with the square of its size (101 nodes: ×408).
 */
export function timerBudgetPerSecond(nodes: number): number {
  return MAX_TIMERS_PER_SIMULATED_SECOND * Math.max(1, (nodes / 5) ** 2);
}

/** A deliberately broken runtime, to prove the checkers catch what they claim to (see mutations.ts). */
export interface Variant {
  createMachine?: (options: NodeOptions) => ElectionNode;
  createAgent?: (options: AgentOptions) => Agent;
  /** A disk that forgets: what a node reads back at boot, given what it last wrote. */
  forgetful?: boolean;
}

export interface SeededClusterOptions {
  algorithm: AlgorithmName;
  nodes: number;
  config: ElectionConfig;
  seed: number;
  link?: LinkSettings;
  /** How long a durable write takes (0: at once); a crash before it completes loses it. */
  diskWriteMs?: number;
  /** Told when each write starts (the nemesis crashes nodes inside that window). */
  disk?: DiskListener;
  variant?: Variant;
  /** Whether a killed node's peers get a crash hint (default true). */
  crashHints?: boolean;
  /** Nodes boot at random moments within this long (default: together). */
  bootSpreadMs?: number;
  /** Priorities and the rules that move leadership at the start (the defaults when left out). */
  leadership?: LeadershipConfig;
  /**
   * Each node's clock runs at its own seeded rate within 1 ± this (the bound the leader lease
   * allows for, which the nodes are told), fast and slow in turn (CLOCK_SLEW_PERIOD_MS); 0 keeps
   * every clock exact. The lease's default when left out.
   */
  clockDriftMax?: number;
  /** Told whether each node holds the leader lease and until when, on the simulator's clock. */
  onLease?: (nodeId: string, untilT: number | null) => void;
}

/**
 * Node clocks run fast then slow for this long each (simulated ms), as NTP keeps a machine's
 * clock near true time: rates are off by up to the drift bound at every instant (what the lease
 * allows for), while clocks stay within drift × this of each other (what a transfer's deadline,
 * in the leader's time, needs).
 */
export const CLOCK_SLEW_PERIOD_MS = 1000;

export function seededCluster(options: SeededClusterOptions): { clock: VirtualClock; cluster: Cluster; random: Random } {
  const clock = new VirtualClock();
  const random = createRandom(options.seed);
  const { variant } = options;
  const driftMax = options.clockDriftMax ?? DEFAULT_CLOCK_DRIFT_MAX;
  const rates = random.fork('clock-drift');
  const cluster = new Cluster({
    algorithm: options.algorithm,
    nodeCount: options.nodes,
    config: options.config,
    seed: random.fork('cluster').seed,
    clock,
    ...(options.link === undefined ? {} : { link: options.link }),
    ...(options.crashHints === undefined ? {} : { crashHints: options.crashHints }),
    ...(options.bootSpreadMs === undefined ? {} : { bootSpreadMs: options.bootSpreadMs }),
    ...(options.leadership === undefined ? {} : { leadership: options.leadership }),
    storage: (nodeId) => {
      const disk = new SimulatedDisk(nodeId, clock, options.diskWriteMs ?? 0, options.disk ?? null);
      if (variant?.forgetful) disk.load = () => null;
      return disk;
    },
    ...(variant?.createMachine === undefined ? {} : { createMachine: variant.createMachine }),
    ...(variant?.createAgent === undefined ? {} : { createAgent: variant.createAgent }),
    clockDriftMax: driftMax,
    ...(driftMax === 0 ? {} : { nodeClock: () => new DriftingClock(clock, driftMax * (2 * rates.next() - 1), CLOCK_SLEW_PERIOD_MS, rates.next() * 2 * CLOCK_SLEW_PERIOD_MS) }),
    ...(options.onLease === undefined ? {} : { onLease: options.onLease }),
  });
  return { clock, cluster, random };
}
