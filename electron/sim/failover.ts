/**
 * Failover latency on the simulator: elect a leader, crash it at a random moment within its
 * heartbeat interval, and measure simulated time until a new leader is followed by a majority,
 * with the messages and elections it took, and until another member holds the leader lease
 * (what /leader shows). Each trial is its own seeded cluster.
 */
import { quorum, type AlgorithmName, type ElectionConfig } from '../../shared/core/election.js';
import { summarize, type Summary } from '../../shared/analysis/stats.js';
import type { Cluster } from '../targets/embedded/cluster.js';
import type { LinkSettings } from '../../shared/network/link-rules.js';
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { seededCluster } from './seeded.js';

export interface FailoverOptions {
  algorithm: AlgorithmName;
  nodes: number;
  config: ElectionConfig;
  link: LinkSettings;
  /** How long a durable write takes (part of every election's critical path). */
  diskWriteMs?: number;
  /** Whether the crashed leader's peers get a crash hint (default true). */
  crashHints?: boolean;
  /** Nodes boot at random moments within this long (default: together). */
  bootSpreadMs?: number;
  /** Simulated time a trial may take to fail over before it counts as unfinished (default 60 s). */
  limitMs?: number;
  trials: number;
  seed: number;
}

export interface FailoverTrial {
  seed: number;
  /** Crash of the leader to a new leader followed by a majority, in simulated ms. */
  failoverMs: number;
  /** Crash of the leader to another member holding the leader lease (answering 200 on /leader); null for Bully, which takes none. */
  leaseMs: number | null;
  messages: number;
  /** Leaders elected, and candidacies started (more than one: the vote split at least once). */
  elections: number;
  candidacies: number;
}

export interface FailoverReport {
  options: FailoverOptions;
  trials: FailoverTrial[];
  /** Trials where no leader emerged in time (before or after the crash). */
  failed: number;
  failoverMs: Summary;
  /** Over the trials where a lease was taken. */
  leaseMs: Summary;
  messages: Summary;
  elections: Summary;
  candidacies: Summary;
}

/** Simulated time each phase of a trial may take before the trial counts as failed. */
const PHASE_LIMIT_MS = 60_000;
const SETTLE_MS = 1_000;

/** The node leading a majority (itself included) in its own term, other than `except`. */
function majorityLeader(cluster: Cluster, except: string | null): string | null {
  const states = cluster.states();
  const majority = quorum(cluster.members.length);
  for (const candidate of states) {
    const status = candidate.status;
    if (candidate.state !== 'up' || status?.role !== 'leader' || candidate.id === except) continue;
    const followers = states.filter(
      (node) => node.state === 'up' && node.status?.leaderId === candidate.id && node.status.term === status.term,
    ).length;
    if (followers >= majority) return candidate.id;
  }
  return null;
}

export function runFailoverTrial(options: FailoverOptions, seed: number): FailoverTrial | null {
  let leasedAt: number | null = null;
  let oldLeader: string | null = null;
  let crashedAt = 0;
  const { clock, cluster, random } = seededCluster({
    ...options,
    seed,
    onLease: (nodeId, untilT) => {
      if (oldLeader !== null && leasedAt === null && nodeId !== oldLeader && untilT !== null) leasedAt = clock.now();
    },
  });
  const leases = ALGORITHM_INFO[options.algorithm].leaderLease === true;
  let messages = 0;
  let elections = 0;
  let candidacies = 0;
  let recovered: Omit<FailoverTrial, 'leaseMs'> | null = null;
  cluster.subscribe({
    onTransit: () => (messages += 1),
    onEvent: (event) => {
      if (event.type === 'leader') elections += 1;
      if (event.type === 'role' && event.to === 'candidate') candidacies += 1;
    },
    onChange: () => {
      if (oldLeader === null || recovered !== null || majorityLeader(cluster, oldLeader) === null) return;
      recovered = { seed, failoverMs: clock.now() - crashedAt, messages, elections, candidacies };
    },
  });
  cluster.start();
  let elected: string | null = null;
  for (let t = 10; t <= PHASE_LIMIT_MS && elected === null; t += 10) {
    clock.runUntil(t);
    elected = majorityLeader(cluster, null);
  }
  if (elected !== null) {
    // Let the cluster settle, then crash the leader at a uniformly random point of its heartbeat cycle.
    clock.runUntil(clock.now() + SETTLE_MS + random.between(0, options.config.heartbeatMs));
    const leader = majorityLeader(cluster, null);
    if (leader !== null) {
      messages = 0;
      elections = 0;
      candidacies = 0;
      crashedAt = clock.now();
      oldLeader = leader;
      cluster.execute({ type: 'kill', nodeId: leader });
      const limitMs = options.limitMs ?? PHASE_LIMIT_MS;
      for (let t = crashedAt + 10; t <= crashedAt + limitMs && (recovered === null || (leases && leasedAt === null)); t += 10) clock.runUntil(t);
    }
  }
  cluster.stop();
  if (recovered === null) return null;
  const done: Omit<FailoverTrial, 'leaseMs'> = recovered;
  return { ...done, leaseMs: leasedAt === null ? null : (leasedAt as number) - crashedAt };
}

export function runFailover(options: FailoverOptions): FailoverReport {
  const trials: FailoverTrial[] = [];
  let failed = 0;
  for (let trial = 0; trial < options.trials; trial++) {
    const result = runFailoverTrial(options, (options.seed + trial) >>> 0);
    if (result === null) failed += 1;
    else trials.push(result);
  }
  return {
    options,
    trials,
    failed,
    failoverMs: summarize(trials.map((trial) => trial.failoverMs)),
    leaseMs: summarize(trials.flatMap((trial) => (trial.leaseMs === null ? [] : [trial.leaseMs]))),
    messages: summarize(trials.map((trial) => trial.messages)),
    elections: summarize(trials.map((trial) => trial.elections)),
    candidacies: summarize(trials.map((trial) => trial.candidacies)),
  };
}
