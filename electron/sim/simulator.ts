/**
 * The deterministic simulator: the app's own Cluster (agents, fabric, state machines) on a
 * virtual clock, with faults drawn from the seed and checkers watching every event. The same
 * options and seed give the same trace, byte for byte.
 */
import { quorum, type AlgorithmName, type DurableState, type ElectionConfig } from '../../shared/core/election.js';
import { createRandom, hashString, type Random } from '../../shared/core/random.js';
import { SafetyMonitor } from '../../shared/analysis/safety.js';
import type { ClusterEvent, ClusterSnapshot } from '../../shared/protocol/types.js';
import type { DurableStorage } from '../runtime/agent.js';
import { VirtualClock } from '../runtime/clock.js';
import { Cluster } from '../runtime/cluster.js';
import type { LinkSettings } from '../runtime/fabric.js';
import { formatEvent } from './trace.js';

export interface FaultProfile {
  /** Mean time between faults (exponentially distributed). */
  meanIntervalMs: number;
  /** Probability that a kill targets the current leader rather than any running node. */
  leaderBias: number;
}

export interface SimulationOptions {
  algorithm: AlgorithmName;
  nodes: number;
  seed: number;
  durationMs: number;
  config: ElectionConfig;
  link: LinkSettings;
  faults: FaultProfile | null;
  /** How long a stable majority may go without a leader they all follow; default 10 election timeouts. */
  livenessBoundMs?: number;
  checkIntervalMs?: number;
  /** Keep every trace line (for replay comparisons); otherwise only the recent ones. */
  keepTrace?: boolean;
  /** A deliberately broken runtime, to prove the checkers catch what they claim to. */
  broken?: BrokenVariant;
}

/** `forget-vote`: a node's disk loses what it wrote, so a restarted node forgets its term and vote. */
export type BrokenVariant = 'forget-vote';

class ForgetfulStorage implements DurableStorage {
  load(): DurableState | null {
    return null;
  }
  save(): void {}
}

export type SimulationViolationKind = 'two-leaders' | 'double-vote' | 'no-leader';

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
  /** Leaders elected, faults injected, messages sent. */
  elections: number;
  faults: number;
  messages: number;
  /** Worst time from the last fault to a leader followed by every running node (ms). */
  worstRecoveryMs: number;
  /** Hash of the whole trace: equal hashes mean an identical run. */
  traceHash: string;
  /** The trace (every line with keepTrace, else the last TRACE_TAIL lines). */
  trace: string[];
}

export const TRACE_TAIL = 60;
export const DEFAULT_CHECK_INTERVAL_MS = 25;
/** A guard against a runaway state machine: no run fires more timers per simulated second. */
const MAX_TIMERS_PER_SIMULATED_SECOND = 200_000;

/** Every running node follows one running leader of their own term. */
export function settledLeader(snapshot: ClusterSnapshot): string | null {
  const running = snapshot.nodes.filter((node) => node.status === 'up');
  const leader = running.find((node) => node.role === 'leader');
  if (leader === undefined) return null;
  return running.every((node) => node.leaderId === leader.id && node.term === leader.term) ? leader.id : null;
}

class FaultInjector {
  private readonly random: Random;
  constructor(
    private readonly cluster: Cluster,
    private readonly clock: VirtualClock,
    private readonly profile: FaultProfile,
    random: Random,
    private readonly onFault: () => void,
  ) {
    this.random = random;
  }

  start(): void {
    this.scheduleNext();
  }

  private scheduleNext(): void {
    const waitMs = -Math.log(1 - this.random.next()) * this.profile.meanIntervalMs;
    this.clock.setTimer(this.clock.now() + Math.max(1, waitMs), () => {
      this.inject();
      this.scheduleNext();
    });
  }

  private inject(): void {
    const snapshot = this.cluster.snapshot();
    const up = snapshot.nodes.filter((node) => node.status === 'up').map((node) => node.id);
    const down = snapshot.nodes.filter((node) => node.status === 'down').map((node) => node.id);
    const majority = quorum(snapshot.nodes.length);
    // Mostly keep a majority running, so that liveness gets checked; sometimes lose it.
    const restart = down.length > 0 && (up.length < majority || this.random.chance(0.5));
    if (restart) {
      this.cluster.execute({ type: 'restart', nodeId: this.pick(down) });
    } else if (up.length > 0) {
      const leader = snapshot.leader?.id;
      const target = leader !== undefined && this.random.chance(this.profile.leaderBias) ? leader : this.pick(up);
      this.cluster.execute({ type: 'kill', nodeId: target });
    } else {
      return;
    }
    this.onFault();
  }

  private pick(ids: string[]): string {
    return ids[this.random.int(0, ids.length - 1)]!;
  }
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  const clock = new VirtualClock();
  const random = createRandom(options.seed);
  const cluster = new Cluster({
    algorithm: options.algorithm,
    nodeCount: options.nodes,
    config: options.config,
    seed: random.fork('cluster').seed,
    clock,
    link: options.link,
    ...(options.broken === 'forget-vote' ? { storage: () => new ForgetfulStorage() } : {}),
  });
  const livenessBoundMs = options.livenessBoundMs ?? 10 * options.config.electionTimeoutMaxMs;
  const checkIntervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
  const safety = new SafetyMonitor();
  const trace: string[] = [];
  let traceHash = hashString(`${options.algorithm}/${options.nodes}/${options.seed}`);
  let violation: SimulationViolation | null = null;
  let elections = 0;
  let faults = 0;
  let messages = 0;
  let lastDisturbanceT = 0;
  let settledSinceDisturbance = false;
  let worstRecoveryMs = 0;

  const remember = (line: string): void => {
    traceHash = hashString(`${traceHash}:${line}`);
    trace.push(line);
    if (!options.keepTrace && trace.length > TRACE_TAIL * 2) trace.splice(0, trace.length - TRACE_TAIL);
  };

  cluster.subscribe({
    onEvent: (event: ClusterEvent) => {
      remember(formatEvent(event));
      if (event.type === 'leader') elections += 1;
      const found = safety.observe(event);
      if (found !== null && violation === null) violation = { kind: found.kind, t: found.t, message: found.message };
    },
    onTransit: () => {
      messages += 1;
    },
  });

  const majority = quorum(options.nodes);
  const check = (): void => {
    const snapshot = cluster.snapshot();
    const running = snapshot.nodes.filter((node) => node.status === 'up').length;
    const now = clock.now();
    if (running < majority) {
      lastDisturbanceT = now;
      settledSinceDisturbance = false;
    } else if (settledLeader(snapshot) !== null) {
      if (!settledSinceDisturbance) worstRecoveryMs = Math.max(worstRecoveryMs, now - lastDisturbanceT);
      settledSinceDisturbance = true;
    } else if (settledSinceDisturbance) {
      // The leader was lost without a fault: time the recovery from here.
      settledSinceDisturbance = false;
      lastDisturbanceT = now;
    } else if (now - lastDisturbanceT > livenessBoundMs && violation === null) {
      violation = {
        kind: 'no-leader',
        t: now,
        message: `${running} of ${options.nodes} nodes ran undisturbed for ${livenessBoundMs} ms without a leader they all follow`,
      };
    }
    clock.setTimer(now + checkIntervalMs, check);
  };

  cluster.start();
  clock.setTimer(checkIntervalMs, check);
  if (options.faults !== null) {
    new FaultInjector(cluster, clock, options.faults, random.fork('faults'), () => {
      faults += 1;
      lastDisturbanceT = clock.now();
      settledSinceDisturbance = false;
    }).start();
  }

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
    worstRecoveryMs,
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
