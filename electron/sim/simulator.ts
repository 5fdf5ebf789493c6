/**
 * The deterministic simulator: the app's own Cluster (agents, fabric, state machines) on a
 * virtual clock, with faults drawn from the seed and checkers watching every event. The same
 * options and seed give the same trace, byte for byte.
 *
 * Checkers:
 * - safety (Raft, Paxos): at most one leader per term; no node votes twice in a term or votes
 *   in a term below an earlier vote, even across crashes;
 * - liveness (Raft, Paxos): whenever, with clean links, a majority of running nodes that can
 *   all reach each other exists and nothing has changed for `livenessBoundMs`, some leader is
 *   followed by a majority it reaches both ways; the worst time it took is reported;
 * - convergence (Bully): with every running node connected to every other and clean links, the
 *   highest-ranked running node is coordinator everywhere within the bound;
 * - split brain: time with two or more nodes leading at once is measured and reported; for
 *   Bully under a partition that is the algorithm's expected behaviour, never a pass of safety.
 */
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { SafetyMonitor } from '../../shared/analysis/safety.js';
import { quorum, type AlgorithmName, type DurableState, type ElectionConfig, type NodeStatus } from '../../shared/core/election.js';
import { hashString } from '../../shared/core/random.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import type { DurableStorage } from '../runtime/agent.js';
import type { LinkSettings } from '../runtime/fabric.js';
import { buildGraph, fullyConnected, largestClique, type Graph } from './connectivity.js';
import { Nemesis, type FaultProfile } from './faults.js';
import { MAX_TIMERS_PER_SIMULATED_SECOND, seededCluster } from './seeded.js';
import { formatEvent } from './trace.js';

export interface SimulationOptions {
  algorithm: AlgorithmName;
  nodes: number;
  seed: number;
  durationMs: number;
  config: ElectionConfig;
  link: LinkSettings;
  faults: FaultProfile | null;
  /** How long a stable, connected majority may go without a leader; default 10 election timeouts. */
  livenessBoundMs?: number;
  checkIntervalMs?: number;
  /** Keep every trace line (for replay comparisons); otherwise only the recent ones. */
  keepTrace?: boolean;
  /** A deliberately broken runtime, to prove the checkers catch what they claim to. */
  broken?: BrokenVariant;
}

/** `forget-vote`: a node's disk loses what it wrote, so a restarted node forgets its term and vote. */
export type BrokenVariant = 'forget-vote';

export type SimulationViolationKind = 'two-leaders' | 'double-vote' | 'vote-regress' | 'no-leader' | 'no-coordinator';

export interface SimulationViolation {
  kind: SimulationViolationKind;
  t: number;
  message: string;
}

export interface SimulationResult {
  seed: number;
  algorithm: AlgorithmName;
  durationMs: number;
  violation: SimulationViolation | null;
  elections: number;
  /** Fault events (kill, restart, pause, resume, partition, link, heal). */
  faults: number;
  messages: number;
  /** Recoveries timed by the liveness checker, and the worst (ms from the last change to a leader). */
  recoveries: number;
  worstRecoveryMs: number;
  /** Time during which the liveness (or convergence) requirement applied. */
  checkedMs: number;
  /** Time with two or more nodes leading at once (split brain for Bully; stale leaders otherwise). */
  concurrentLeadersMs: number;
  /** Hash of the whole trace: equal hashes mean an identical run. */
  traceHash: string;
  /** The trace (every line with keepTrace, else the last TRACE_TAIL lines). */
  trace: string[];
}

export const TRACE_TAIL = 60;
export const DEFAULT_CHECK_INTERVAL_MS = 50;
const FAULT_EVENTS = new Set<ClusterEvent['type']>(['kill', 'restart', 'pause', 'resume', 'partition', 'link', 'heal']);

class ForgetfulStorage implements DurableStorage {
  load(): DurableState | null {
    return null;
  }
  save(): void {}
}

interface Running {
  id: string;
  status: NodeStatus;
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  const info = ALGORITHM_INFO[options.algorithm];
  const { clock, cluster, random } = seededCluster({
    ...options,
    ...(options.broken === 'forget-vote' ? { storage: () => new ForgetfulStorage() } : {}),
  });
  const livenessBoundMs = options.livenessBoundMs ?? 10 * options.config.electionTimeoutMaxMs;
  const checkIntervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
  const majority = quorum(options.nodes);
  const safety = new SafetyMonitor({ singleLeaderPerTerm: info.singleLeaderPerTerm });
  const trace: string[] = [];
  let traceHash = hashString(`${options.algorithm}/${options.nodes}/${options.seed}`);
  let violation: SimulationViolation | null = null;
  let elections = 0;
  let faults = 0;
  let messages = 0;
  let recoveries = 0;
  let worstRecoveryMs = 0;
  let checkedMs = 0;
  let concurrentLeadersMs = 0;
  /** When the fault state last changed (or leadership was lost without one). */
  let stableSince = 0;
  let settled = false;
  /** Who reaches whom, and whether a majority all reach each other: rebuilt only when faults change. */
  let graph: { links: Graph; majorityConnected: boolean } | null = null;

  const remember = (line: string): void => {
    traceHash = hashString(`${traceHash}:${line}`);
    trace.push(line);
    if (!options.keepTrace && trace.length > TRACE_TAIL * 2) trace.splice(0, trace.length - TRACE_TAIL);
  };

  cluster.subscribe({
    onEvent: (event: ClusterEvent) => {
      const line = formatEvent(event);
      if (line !== null) remember(line);
      if (event.type === 'leader') elections += 1;
      if (FAULT_EVENTS.has(event.type)) {
        faults += 1;
        stableSince = event.t;
        settled = false;
        graph = null;
      }
      const found = safety.observe(event);
      if (found !== null && violation === null) violation = { kind: found.kind, t: found.t, message: found.message };
    },
    onTransit: () => {
      messages += 1;
    },
  });

  /** Whether the requirement applies now, and whether it is met. */
  const assess = (running: Running[]): { applies: boolean; met: boolean } => {
    if (cluster.linksDegraded()) return { applies: false, met: false };
    if (graph === null) {
      const links = buildGraph(
        running.map((node) => node.id),
        (from, to) => cluster.linkOpen(from, to),
      );
      graph = { links, majorityConnected: largestClique(links, links.keys()) >= majority };
    }
    if (!info.singleLeaderPerTerm) {
      // Bully: with full connectivity the highest-ranked running node coordinates everyone.
      if (running.length === 0 || !fullyConnected(graph.links)) return { applies: false, met: false };
      const top = running[running.length - 1]!;
      return { applies: true, met: top.status.role === 'leader' && running.every((node) => node.status.leaderId === top.id) };
    }
    if (!graph.majorityConnected) return { applies: false, met: false };
    // Met when a leader reaches a majority directly (itself included) and they follow it: a
    // star suffices, followers need not reach each other.
    for (const leader of running) {
      if (leader.status.role !== 'leader') continue;
      const reachable = graph.links.get(leader.id)!;
      let followers = 1;
      for (const node of running) {
        if (reachable.has(node.id) && node.status.leaderId === leader.id && node.status.term === leader.status.term) followers += 1;
      }
      if (followers >= majority) return { applies: true, met: true };
    }
    return { applies: true, met: false };
  };

  const check = (): void => {
    const now = clock.now();
    const running: Running[] = [];
    for (const node of cluster.states()) if (node.state === 'up' && node.status !== null) running.push({ id: node.id, status: node.status });
    const leaders = running.filter((node) => node.status.role === 'leader').length;
    if (leaders > 1) concurrentLeadersMs += checkIntervalMs;
    const { applies, met } = assess(running);
    if (!applies) {
      settled = false;
    } else if (met) {
      if (!settled) {
        recoveries += 1;
        worstRecoveryMs = Math.max(worstRecoveryMs, now - stableSince);
      }
      settled = true;
      checkedMs += checkIntervalMs;
    } else {
      checkedMs += checkIntervalMs;
      if (settled) {
        // Leadership was lost with nothing changed: time the recovery from here.
        settled = false;
        stableSince = now;
      } else if (now - stableSince > livenessBoundMs && violation === null) {
        const what = info.singleLeaderPerTerm
          ? `a connected majority ran undisturbed for ${livenessBoundMs} ms without a leader they all follow`
          : `all running nodes were connected for ${livenessBoundMs} ms, but the highest-ranked is not coordinator everywhere`;
        violation = { kind: info.singleLeaderPerTerm ? 'no-leader' : 'no-coordinator', t: now, message: what };
      }
    }
    clock.setTimer(now + checkIntervalMs, check);
  };

  cluster.start();
  clock.setTimer(checkIntervalMs, check);
  if (options.faults !== null) new Nemesis(cluster, clock, options.faults, random.fork('faults')).start();

  const stepMs = 100;
  const timerBudget = (MAX_TIMERS_PER_SIMULATED_SECOND * stepMs) / 1_000;
  for (let t = 0; t < options.durationMs && violation === null; ) {
    t = Math.min(t + stepMs, options.durationMs);
    clock.runUntil(t, timerBudget);
  }
  cluster.stop();

  const final = violation as SimulationViolation | null;
  if (final !== null) remember(`t=${final.t.toFixed(3)} VIOLATION ${final.kind}: ${final.message}`);
  return {
    seed: options.seed,
    algorithm: options.algorithm,
    durationMs: options.durationMs,
    violation: final,
    elections,
    faults,
    messages,
    recoveries,
    worstRecoveryMs,
    checkedMs,
    concurrentLeadersMs,
    traceHash: traceHash.toString(16).padStart(8, '0'),
    trace: options.keepTrace ? trace : trace.slice(-TRACE_TAIL),
  };
}

/** The failure report: the seed, how to replay it, and the trace up to the violation. */
export function describeFailure(result: SimulationResult, replayCommand: string): string {
  return [
    `${result.algorithm} seed ${result.seed}: ${result.violation?.kind} at t=${result.violation?.t.toFixed(3)} ms`,
    `  ${result.violation?.message}`,
    `  replay: ${replayCommand}`,
    '  trace (most recent last):',
    ...result.trace.map((line) => `    ${line}`),
  ].join('\n');
}
