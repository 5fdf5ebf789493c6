/**
 * The deterministic simulator: the app's own Cluster (agents, fabric, state machines) on a
 * virtual clock, with faults drawn from the seed and checkers watching every event, every
 * message on the wire and every disk write. The same options and seed give the same trace,
 * byte for byte.
 *
 * Safety (the run stops at the first violation):
 * - events (shared/analysis/safety.ts, as the live dashboard checks them): at most one leader
 *   per term (Raft, Paxos); no node's durable vote changes within a term or goes back a term;
 * - the global view (checkers.ts): no vote granted twice in a term on the wire; no leader
 *   without grants from a majority; no node rebooting below the term or without the vote its
 *   disk confirmed; never two leaders at once that both hold a majority.
 * Liveness (reported separately; the run goes on checking safety):
 * - Raft, Paxos: whenever a majority of running nodes, one of which may lead (priority above 0),
 *   can all reach each other over usable links (not cut, loss at most LIVENESS_LOSS_MAX, round
 *   trip plus a heartbeat within the minimum election timeout) and nothing has changed for the
 *   bound, some leader is followed by a majority it reaches both ways; the bound grows with the
 *   loss and delay in force;
 * - Bully: with every running node reaching every other over usable links, the highest-ranked
 *   running node (by priority, then member order; priority 0 is not ranked) is coordinator
 *   everywhere within the bound.
 * Priorities and the preferred-leader rule (leadership-checks.ts): no priority-0 leader and no
 * takeover to an unreachable node (safety); a priority-0 leader hands over, a higher priority
 * takes over within its bound, and no flapping on a clean network (liveness).
 * Time with two or more nodes leading at once is measured; for Bully under a partition that
 * split brain is the algorithm's expected behaviour, never a pass of safety.
 */
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { SafetyMonitor } from '../../shared/analysis/safety.js';
import { quorum, type AlgorithmName, type ElectionConfig, type NodeStatus } from '../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, priorityIn, type LeadershipConfig, type PreferredLeaderRule } from '../../shared/core/leadership.js';
import { createRandom, hashString } from '../../shared/core/random.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import type { LinkSettings } from '../../shared/network/link-rules.js';
import { GlobalChecks, type Finding, type WireViolationKind } from './checkers.js';
import { buildGraph, fullyConnected, largestClique, type Graph } from './connectivity.js';
import { NEMESIS_PRIORITIES, Nemesis, type FaultProfile } from './faults.js';
import { LeadershipChecks, type LeadershipFinding, type LeadershipLivenessKind, type LeadershipSafetyKind } from './leadership-checks.js';
import { seededCluster, timerBudgetPerSecond, type Variant } from './seeded.js';
import { LeaseChecker, type LeaseFinding } from './lease-check.js';
import { formatEvent } from './trace.js';

export interface SimulationOptions {
  algorithm: AlgorithmName;
  nodes: number;
  seed: number;
  durationMs: number;
  config: ElectionConfig;
  link: LinkSettings;
  faults: FaultProfile | null;
  /** How long a durable write takes; a crash before it lands loses it. 0: writes are instant. */
  diskWriteMs?: number;
  /** How long a stable, connected majority may go without a leader over clean links; default 10 election timeouts. */
  livenessBoundMs?: number;
  checkIntervalMs?: number;
  /** Keep every trace line (for replay comparisons); otherwise only the recent ones. */
  keepTrace?: boolean;
  /** A deliberately broken runtime or algorithm, to prove the checkers catch it (mutations.ts). */
  variant?: Variant;
  /** Each node's priority at the start, or 'random' (each drawn from NEMESIS_PRIORITIES by the seed); all 1 when left out. */
  priorities?: Readonly<Record<string, number>> | 'random';
  /** The preferred-leader rule (off when left out) and the takeover delay (the default when left out). */
  preferredLeader?: PreferredLeaderRule | null;
  takeoverAfterMs?: number | null;
  /** Each node's clock drifts at a seeded rate within 1 ± this, the bound the lease allows for (seeded.ts); the lease's default when left out. */
  clockDriftMax?: number;
}

/** `honest-term-refused`: the term guard refused a message of an honest member (all are, in the simulator), so it would keep a cluster from electing. */
export type SafetyViolationKind = 'two-leaders' | 'double-vote' | 'vote-regress' | 'honest-term-refused' | LeaseFinding['kind'] | WireViolationKind | LeadershipSafetyKind;
export type LivenessViolationKind = 'no-leader' | 'no-coordinator' | LeadershipLivenessKind;
export type SimulationViolationKind = SafetyViolationKind | LivenessViolationKind;

export interface SimulationViolation {
  kind: SimulationViolationKind;
  t: number;
  message: string;
}

export interface SimulationResult {
  seed: number;
  algorithm: AlgorithmName;
  durationMs: number;
  /** The first safety violation (the run stopped there), or null. */
  safety: SimulationViolation | null;
  /** The first liveness violation (the run went on checking safety), or null. */
  liveness: SimulationViolation | null;
  elections: number;
  /** Fault events (kill, restart, pause, resume, partition, link, heal). */
  faults: number;
  messages: number;
  /** Recoveries timed by the liveness checker, and the worst (ms from the last change to a leader). */
  recoveries: number;
  worstRecoveryMs: number;
  /** Time during which the liveness (or convergence) requirement applied; of it, with degraded links. */
  checkedMs: number;
  checkedDegradedMs: number;
  /** Time with two or more nodes leading at once (split brain for Bully; stale leaders otherwise). */
  concurrentLeadersMs: number;
  /** Leader leases taken (a member that held none began to claim one): what the lease checker watched. */
  leaseAcquisitions: number;
  /** Changes of a node's priority (the nemesis's `priority` kind). */
  priorityChanges: number;
  /** Transfers leaders started on their own (priority takeover, priority 0, the preferred-leader rule). */
  takeovers: number;
  /** Priority takeovers the checker timed (due on a clean network, then done), and the slowest (ms). */
  takeoversTimed: number;
  worstTakeoverMs: number;
  /** Hash of the whole trace: equal hashes mean an identical run. */
  traceHash: string;
  /** The trace (every line with keepTrace, else the last TRACE_TAIL lines). */
  trace: string[];
}

export const TRACE_TAIL = 60;
/** A durable write's duration by default: an fsync on a fast disk. */
export const DEFAULT_DISK_WRITE_MS = 2;
export const DEFAULT_CHECK_INTERVAL_MS = 50;
/** Links losing more than this are not counted on for progress. */
export const LIVENESS_LOSS_MAX = 0.3;
const FAULT_EVENTS = new Set<ClusterEvent['type']>(['kill', 'restart', 'pause', 'resume', 'partition', 'link', 'heal']);
/** Besides faults, what may move leadership legitimately (the leadership checks' periods start over). */
const DISTURBING_EVENTS = new Set<ClusterEvent['type']>([...FAULT_EVENTS, 'priority', 'leadership']);
/** The slowest one-way delay the nemesis adds (faults.ts: up to 80 ms, jitter up to 40 ms). */
const NEMESIS_ONE_WAY_MS_MAX = 120;

/** The leadership table a run starts with; random priorities are drawn from their own stream of the seed. */
function initialLeadership(options: SimulationOptions): LeadershipConfig {
  if (options.priorities === undefined && options.preferredLeader == null && options.takeoverAfterMs == null) return DEFAULT_LEADERSHIP;
  const draw = createRandom(hashString(`priorities/${options.seed}`));
  const members = Array.from({ length: options.nodes }, (_, index) => `n${index + 1}`);
  const priorities =
    options.priorities === 'random'
      ? Object.fromEntries(members.map((id) => [id, NEMESIS_PRIORITIES[draw.int(0, NEMESIS_PRIORITIES.length - 1)]!]))
      : (options.priorities ?? {});
  return { priorities, takeoverAfterMs: options.takeoverAfterMs ?? null, preferredLeader: options.preferredLeader ?? null };
}

/** The running node that should coordinate under Bully: the highest priority, then the last in member order; null when none may. */
export function topRanked(running: readonly string[], leadership: LeadershipConfig): string | null {
  let top: string | null = null;
  for (const id of running) {
    const priority = priorityIn(leadership, id);
    if (priority > 0 && (top === null || priority >= priorityIn(leadership, top))) top = id;
  }
  return top;
}

/** The first violation of either kind: what makes a seed fail. */
export function violationOf(result: SimulationResult): SimulationViolation | null {
  return result.safety ?? result.liveness;
}

interface Running {
  id: string;
  status: NodeStatus;
}

/** Who reaches whom at all and over usable links, and what the usable links cost in loss and delay. */
interface Reach {
  /** Links that are not cut (lossy or slow ones included): a leader followed across them leads. */
  open: Graph;
  /** Links progress can be counted on over: where the requirement applies. */
  usable: Graph;
  majorityConnected: boolean;
  /** The liveness bound under the link faults in force. */
  boundMs: number;
  degraded: boolean;
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  const info = ALGORITHM_INFO[options.algorithm];
  let nemesis: Nemesis | null = null;
  const leases = new LeaseChecker();
  const { clock, cluster, random } = seededCluster({
    ...options,
    leadership: initialLeadership(options),
    disk: { onWriteStart: (nodeId, durableAt) => nemesis?.onWriteStart(nodeId, durableAt) },
    onLease: (nodeId, untilT) => {
      const finding = leases.claim(nodeId, untilT, clock.now());
      if (finding !== null) remember(`t=${clock.now().toFixed(3)} LEASE ${finding.message}`);
      unsafe(finding);
    },
  });
  const cleanBoundMs = options.livenessBoundMs ?? 10 * options.config.electionTimeoutMaxMs;
  const checkIntervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
  const majority = quorum(options.nodes);
  const safetyMonitor = new SafetyMonitor({ singleLeaderPerTerm: info.singleLeaderPerTerm });
  const global = new GlobalChecks(cluster.members, info.voteGrant, info.committedTerm);
  const leadershipChecks = new LeadershipChecks(cluster, { config: options.config, transfers: info.transfer === true, worstOneWayMs: NEMESIS_ONE_WAY_MS_MAX });
  const lateLeadership = (finding: LeadershipFinding<LeadershipLivenessKind> | null): void => {
    if (finding === null || liveness !== null) return;
    liveness = { kind: finding.kind, t: clock.now(), message: finding.message };
    remember(`t=${clock.now().toFixed(3)} LIVENESS ${finding.kind}: ${finding.message}`);
  };
  const trace: string[] = [];
  let traceHash = hashString(`${options.algorithm}/${options.nodes}/${options.seed}`);
  let safety: SimulationViolation | null = null;
  let liveness: SimulationViolation | null = null;
  let elections = 0;
  let faults = 0;
  let messages = 0;
  let recoveries = 0;
  let worstRecoveryMs = 0;
  let checkedMs = 0;
  let checkedDegradedMs = 0;
  let concurrentLeadersMs = 0;
  let takeovers = 0;
  let priorityChanges = 0;
  /** When the fault state last changed (or leadership was lost without one). */
  let stableSince = 0;
  let settled = false;
  /** Rebuilt only when faults change. */
  let reach: Reach | null = null;

  const remember = (line: string): void => {
    traceHash = hashString(`${traceHash}:${line}`);
    trace.push(line);
    if (!options.keepTrace && trace.length > TRACE_TAIL * 2) trace.splice(0, trace.length - TRACE_TAIL);
  };
  const unsafe = (finding: Finding | { kind: SafetyViolationKind; message: string } | null): void => {
    if (finding !== null && safety === null) safety = { kind: finding.kind, t: clock.now(), message: finding.message };
  };
  const nodesNow = (): Array<{ id: string; status: NodeStatus | null }> => cluster.states().map(({ id, state, status }) => ({ id, status: state === 'down' ? null : status }));

  cluster.subscribe({
    onEvent: (event: ClusterEvent) => {
      const line = formatEvent(event);
      if (line !== null) remember(line);
      if (event.type === 'leader') {
        elections += 1;
        // Bully has no votes: its coordinators rank, not win majorities.
        if (info.singleLeaderPerTerm) {
          unsafe(global.becameLeader(event.nodeId, event.term));
          unsafe(global.rivalMajorities(nodesNow()));
        }
      }
      if (FAULT_EVENTS.has(event.type)) faults += 1;
      if (event.type === 'transfer' && event.reason !== undefined) takeovers += 1;
      if (event.type === 'priority') priorityChanges += 1;
      if (event.type === 'term-refused') {
        unsafe({ kind: 'honest-term-refused', message: `${event.nodeId} refused ${event.from}'s message in term ${event.term} (its own: ${event.ownTerm}), and every member here is honest` });
      }
      // A fault, or a change of who may lead: the liveness requirement is judged afresh from here.
      if (FAULT_EVENTS.has(event.type) || event.type === 'priority') {
        stableSince = event.t;
        settled = false;
        reach = null;
      }
      if (DISTURBING_EVENTS.has(event.type)) leadershipChecks.disturbed(event.t);
      unsafe(leadershipChecks.event(event));
      unsafe(safetyMonitor.observe(event));
    },
    onTransit: (transit) => {
      messages += 1;
      unsafe(global.sent(transit.message));
    },
    onDeliver: (message) => global.delivered(message),
    onPersisted: (nodeId, _state, status) => global.persisted(nodeId, status),
    onBoot: (nodeId, status) => unsafe(global.booted(nodeId, status)),
  });

  /** Whether a link can be counted on for progress, and what it costs. */
  const linkCost = (from: string, to: string): { usable: boolean; loss: number; oneWayMs: number } => {
    const base = cluster.link.latencyMs + cluster.link.jitterMs;
    if (!cluster.linkOpen(from, to)) return { usable: false, loss: 1, oneWayMs: Infinity };
    const fault = cluster.linkFault(from, to);
    if (fault === undefined) return { usable: true, loss: 0, oneWayMs: base };
    const oneWayMs = (fault.latencyMs ?? cluster.link.latencyMs) + (fault.jitterMs ?? cluster.link.jitterMs);
    const { heartbeatMs, electionTimeoutMinMs } = options.config;
    const usable = fault.dropProbability <= LIVENESS_LOSS_MAX && 2 * oneWayMs + heartbeatMs < electionTimeoutMinMs;
    return { usable, loss: fault.dropProbability, oneWayMs };
  };

  const measureReach = (running: Running[]): Reach => {
    let worstLoss = 0;
    let worstOneWayMs = cluster.link.latencyMs + cluster.link.jitterMs;
    const ids = running.map((node) => node.id);
    const usable = (from: string, to: string): boolean => {
      const cost = linkCost(from, to);
      if (cost.usable) {
        worstLoss = Math.max(worstLoss, cost.loss);
        worstOneWayMs = Math.max(worstOneWayMs, cost.oneWayMs);
      }
      return cost.usable;
    };
    const usableLinks = buildGraph(ids, usable);
    const open = buildGraph(ids, (from, to) => cluster.linkOpen(from, to));
    const degraded = cluster.linksDegraded();
    // Each lost message costs a retry, and each election round trip the extra delay.
    const boundMs = (cleanBoundMs + 20 * 2 * worstOneWayMs) / (1 - worstLoss) ** 2;
    // A majority that can elect: connected, with a node of priority above 0 among it.
    const electable = ids.filter((id) => priorityIn(cluster.leadership(), id) > 0);
    const majorityConnected = electable.some((id) => largestClique(usableLinks, usableLinks.keys(), [id]) >= majority);
    return { open, usable: usableLinks, majorityConnected, boundMs, degraded };
  };

  /** Whether the requirement applies now, and whether it is met. */
  const assess = (running: Running[]): { applies: boolean; met: boolean } => {
    reach ??= measureReach(running);
    if (!info.singleLeaderPerTerm) {
      // Bully: with full connectivity the highest-ranked running node coordinates everyone.
      const top = topRanked(running.map((node) => node.id), cluster.leadership());
      if (top === null || !fullyConnected(reach.usable)) return { applies: false, met: false };
      const coordinator = running.find((node) => node.id === top)!;
      return { applies: true, met: coordinator.status.role === 'leader' && running.every((node) => node.status.leaderId === top) };
    }
    if (!reach.majorityConnected) return { applies: false, met: false };
    // Met when a leader reaches a majority directly (itself included) and they follow it: a
    // star suffices, followers need not reach each other.
    for (const leader of running) {
      if (leader.status.role !== 'leader') continue;
      const reachable = reach.open.get(leader.id)!;
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
    if (leaders > 1) {
      concurrentLeadersMs += checkIntervalMs;
      if (info.singleLeaderPerTerm) unsafe(global.rivalMajorities(nodesNow()));
    }
    const { applies, met } = assess(running);
    if (!applies) {
      settled = false;
    } else {
      checkedMs += checkIntervalMs;
      if (reach!.degraded) checkedDegradedMs += checkIntervalMs;
      if (met) {
        if (!settled) {
          recoveries += 1;
          worstRecoveryMs = Math.max(worstRecoveryMs, now - stableSince);
        }
        settled = true;
      } else if (settled) {
        // Leadership was lost with nothing changed: time the recovery from here.
        settled = false;
        stableSince = now;
      } else if (now - stableSince > reach!.boundMs && liveness === null) {
        const bound = `${Math.round(reach!.boundMs)} ms${reach!.degraded ? ' (the bound for the loss and delay in force)' : ''}`;
        const what = info.singleLeaderPerTerm
          ? `a connected majority ran undisturbed for ${bound} without a leader they all follow`
          : `all running nodes were connected for ${bound}, but the highest-ranked is not coordinator everywhere`;
        liveness = { kind: info.singleLeaderPerTerm ? 'no-leader' : 'no-coordinator', t: now, message: what };
        remember(`t=${now.toFixed(3)} LIVENESS ${liveness.kind}: ${what}`);
      }
    }
    lateLeadership(leadershipChecks.poll(now));
    clock.setTimer(now + checkIntervalMs, check);
  };

  cluster.start();
  clock.setTimer(checkIntervalMs, check);
  if (options.faults !== null) {
    nemesis = new Nemesis(cluster, clock, options.faults, random.fork('faults'), () => leadershipChecks.disturbed(clock.now()));
    nemesis.start();
  }

  const stepMs = 100;
  const timerBudget = (timerBudgetPerSecond(options.nodes) * stepMs) / 1_000;
  for (let t = 0; t < options.durationMs && safety === null; ) {
    t = Math.min(t + stepMs, options.durationMs);
    clock.runUntil(t, timerBudget);
  }
  cluster.stop();

  const unsafeRun = safety as SimulationViolation | null;
  if (unsafeRun !== null) remember(`t=${unsafeRun.t.toFixed(3)} VIOLATION ${unsafeRun.kind}: ${unsafeRun.message}`);
  return {
    seed: options.seed,
    algorithm: options.algorithm,
    durationMs: options.durationMs,
    safety: unsafeRun,
    liveness,
    elections,
    faults,
    messages,
    recoveries,
    worstRecoveryMs,
    checkedMs,
    checkedDegradedMs,
    concurrentLeadersMs,
    leaseAcquisitions: leases.acquisitions,
    priorityChanges,
    takeovers,
    takeoversTimed: leadershipChecks.takeoversTimed,
    worstTakeoverMs: leadershipChecks.worstTakeoverMs,
    traceHash: traceHash.toString(16).padStart(8, '0'),
    trace: options.keepTrace ? trace : trace.slice(-TRACE_TAIL),
  };
}

/** The failure report: the seed, each kind of violation, how to replay it, and the trace up to it. */
export function describeFailure(result: SimulationResult, replayCommand: string): string {
  const lines = [`${result.algorithm} seed ${result.seed}:`];
  for (const [label, violation] of [
    ['safety', result.safety],
    ['liveness', result.liveness],
  ] as const) {
    if (violation !== null) lines.push(`  ${label}: ${violation.kind} at t=${violation.t.toFixed(3)} ms: ${violation.message}`);
  }
  return [...lines, `  replay: ${replayCommand}`, '  trace (most recent last):', ...result.trace.map((line) => `    ${line}`)].join('\n');
}
