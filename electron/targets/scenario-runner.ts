/**
 * Runs a scenario against a cluster on its clock: every step at its time (node roles resolved
 * when it runs), every undo after its delay, then the assertions over the run's events. The
 * same runner drives the live cluster (real time) and the simulator (virtual time, seeded).
 *
 * A recovery, for `priority-leader-within`: a step (or an undo) that is not a fault — a restart,
 * a resume, a heal, a link restored, a transfer, a priority change — after which the network has
 * no partition and no link fault in force. From then the highest-priority running node (any of
 * them, when several share the top priority above 0) must lead a majority within the bound; a
 * fault step before that supersedes the check (the next recovery starts another).
 */
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { RunAnalysis } from '../../shared/analysis/run.js';
import type { AlgorithmName } from '../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, priorityIn, type LeadershipConfig } from '../../shared/core/leadership.js';
import type { Random } from '../../shared/core/random.js';
import type { ClusterCommand, ClusterEvent, ClusterEventBody, ClusterSnapshot, CommandAck } from '../../shared/protocol/types.js';
import {
  NODE_ROLES,
  describeAssertion,
  describeLeadershipAction,
  stepTimes,
  type AssertionResult,
  type NodeRef,
  type Scenario,
  type ScenarioAction,
  type ScenarioAssertion,
  type ScenarioReport,
  type ScenarioStep,
  type ScenarioStepResult,
} from '../../shared/scenario/format.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { controlsOf, type ControlledCommand, type Refusals, type TargetListener } from './target.js';

/** Step results kept in a report, at most (a long scenario's report stays small). */
export const MAX_REPORTED_STEPS = 500;
/** Steps that break something (a link step counts only when it sets a fault). */
const FAULT_STEPS = new Set<ClusterCommand['type']>(['kill', 'pause', 'partition', 'link']);
/** Steps that neither break nor heal. */
const SETTING_STEPS = new Set<ClusterCommand['type']>(['restart', 'resume', 'transfer', 'priority', 'capabilities', 'leadership']);

/**
 * What a scenario needs of a cluster: any target's run (model-target.ts) and the simulator's
 * Cluster. A remote cluster answers a step once its nodes did it; what the step changed in the
 * run's record (the faults it set) is there as soon as `execute` returns.
 */
export interface ScenarioCluster {
  readonly members: readonly string[];
  readonly algorithm: AlgorithmName;
  history(): ClusterEvent[];
  subscribe(listener: TargetListener): () => void;
  annotate(body: Extract<ClusterEventBody, { type: 'scenario' }>): void;
  snapshot(): ClusterSnapshot;
  execute(command: ClusterCommand): CommandAck | Promise<CommandAck>;
  /** Priorities and the rules that move leadership, where the cluster has them (null: etcd). */
  leadership(): LeadershipConfig | null;
  linkOpen(from: string, to: string): boolean;
  /** Whether any link has loss, extra delay or duplication in force. */
  linksDegraded(): boolean;
}

/**
 * Why a cluster with these refusals cannot run `scenario`, naming the first step it cannot carry
 * out (or whose undo it cannot), or null when it can run every step.
 */
export function scenarioRefusal(scenario: Scenario, refusals: Refusals, members: readonly string[]): string | null {
  for (const [index, step] of scenario.steps.entries()) {
    const stranger = nodesNamed(step.do).find((id) => !members.includes(id));
    if (stranger !== undefined) {
      const known = members.length > 4 ? `${members[0]} to ${members.at(-1)}` : members.join(', ');
      return `step ${index + 1} of "${scenario.name}", ${step.label ?? describeAction(step.do)}, names "${stranger}", which is not a member of this cluster (${known})`;
    }
    const commands: ControlledCommand[] = [step.do];
    const undo = step.undoAfter === undefined ? null : undoType(step.do.type);
    if (undo !== null) commands.push({ type: undo });
    for (const command of commands) {
      for (const control of controlsOf(command)) {
        const reason = refusals[control];
        if (reason === undefined) continue;
        const what = command === step.do ? '' : ` (its undo, ${undo})`;
        return `step ${index + 1} of "${scenario.name}", ${step.label ?? describeAction(step.do)}${what}, cannot run on this cluster: ${reason}`;
      }
    }
  }
  return null;
}

/** A recovery after which the highest-priority running node must lead (see the header). */
interface PriorityRecovery {
  t: number;
  label: string;
  expected: ReadonlySet<string>;
  /** How long until one of them led a majority; null while not yet. */
  tookMs: number | null;
  superseded: boolean;
}

export interface ScenarioRunnerOptions {
  random: Random;
  onFinish?: (report: ScenarioReport) => void;
}

export class ScenarioRunner {
  readonly startedT: number;
  private readonly analysis: RunAnalysis;
  private readonly timers: TimerHandle[] = [];
  private readonly steps: ScenarioStepResult[] = [];
  private readonly faultTimes: number[] = [];
  private readonly healTimes: number[] = [];
  private readonly recoveries: PriorityRecovery[] = [];
  /** The leader followed by a majority, as the events last said. */
  private majorityLeader: string | null = null;
  private readonly unsubscribe: () => void;
  private report: ScenarioReport | null = null;
  /** Faults its steps put in force (id and since when), so that its end can undo those still in force. */
  private readonly introduced = new Map<string, number>();

  constructor(
    readonly scenario: Scenario,
    private readonly cluster: ScenarioCluster,
    private readonly clock: Clock,
    private readonly options: ScenarioRunnerOptions,
  ) {
    this.startedT = clock.now();
    this.analysis = new RunAnalysis({ members: cluster.members, singleLeaderPerTerm: ALGORITHM_INFO[cluster.algorithm].singleLeaderPerTerm });
    for (const event of cluster.history()) this.observe(event);
    this.unsubscribe = cluster.subscribe({ onEvent: (event) => this.observe(event) });
    cluster.annotate({ type: 'scenario', name: scenario.name, status: 'started', durationMs: scenario.durationMs, report: null });
    for (const step of scenario.steps) {
      for (const offset of stepTimes(step, scenario.durationMs)) this.at(offset, () => this.run(step, offset));
    }
    this.at(scenario.durationMs, () => this.finish(false, false));
  }

  get finished(): ScenarioReport | null {
    return this.report;
  }

  /**
   * Ends the scenario now: pending steps and undos are dropped, the faults it set are undone
   * (unless `keepFaults`, or the scenario says to keep them), and the report covers what ran.
   */
  stop(keepFaults = false): ScenarioReport {
    return this.report ?? this.finish(true, keepFaults);
  }

  private observe(event: ClusterEvent): void {
    this.analysis.observe(event);
    if (event.type !== 'quorum') return;
    this.majorityLeader = event.leaderId;
    if (event.leaderId !== null) this.recovered(event.leaderId, event.t);
  }

  /** A leader followed by a majority: the pending recoveries it satisfies are done. */
  private recovered(leader: string, t: number): void {
    for (const recovery of this.recoveries) {
      if (recovery.tookMs === null && !recovery.superseded && recovery.expected.has(leader)) recovery.tookMs = Math.max(0, t - recovery.t);
    }
  }

  /** After a step or an undo went through: a fault supersedes the pending recoveries; a recovery on a clean network starts a check. */
  private afterStep(command: ClusterCommand, label: string, t: number): void {
    const isFault = FAULT_STEPS.has(command.type) && !(command.type === 'link' && isRestore(command));
    if (isFault) {
      for (const recovery of this.recoveries) if (recovery.tookMs === null) recovery.superseded = true;
      return;
    }
    if (command.type === 'capabilities' || command.type === 'leadership' || !this.networkClean()) return;
    const leadership = this.cluster.leadership();
    if (leadership === null) return;
    const running = this.runningNodes();
    const top = Math.max(0, ...running.map((id) => priorityIn(leadership, id)));
    if (top === 0) return;
    this.recoveries.push({ t, label, expected: new Set(running.filter((id) => priorityIn(leadership, id) === top)), tookMs: null, superseded: false });
    if (this.majorityLeader !== null) this.recovered(this.majorityLeader, Math.max(t, this.clock.now()));
  }

  private networkClean(): boolean {
    const members = this.cluster.members;
    return !this.cluster.linksDegraded() && members.every((from) => members.every((to) => from === to || this.cluster.linkOpen(from, to)));
  }

  private at(offsetMs: number, action: () => void): void {
    this.timers.push(this.clock.setTimer(this.startedT + offsetMs, action));
  }

  private run(step: ScenarioStep, offset: number): void {
    const label = step.label ?? describeAction(step.do);
    const resolved = this.resolve(step.do);
    if (typeof resolved === 'string') {
      this.note({ t: offset, label, ok: false, note: resolved });
      return;
    }
    const before = new Set(this.cluster.snapshot().faults.map((fault) => `${fault.id}@${fault.sinceT}`));
    const undo = undoOf(resolved, this.cluster.leadership() ?? DEFAULT_LEADERSHIP);
    const now = this.clock.now();
    const pending = this.cluster.execute(resolved);
    // What the step set is in the run's record once execute returns, whatever real nodes answer later.
    for (const fault of this.cluster.snapshot().faults) if (!before.has(`${fault.id}@${fault.sinceT}`)) this.introduced.set(fault.id, fault.sinceT);
    this.settle(pending, (result) => {
      this.note({ t: offset, label, ok: result.ok, ...(result.ok ? {} : { note: result.error }) });
      if (!result.ok) return;
      if (resolved.type === 'heal') this.healTimes.push(now);
      else if (!SETTING_STEPS.has(resolved.type)) this.faultTimes.push(now);
      this.afterStep(resolved, label, now);
      if (step.undoAfter === undefined || offset + step.undoAfter > this.scenario.durationMs || undo === null) return;
      this.at(offset + step.undoAfter, () => {
        const undoneAt = this.clock.now();
        this.settle(this.cluster.execute(undo), (undone) => {
          this.note({ t: offset + step.undoAfter!, label: `undo: ${label}`, ok: undone.ok, ...(undone.ok ? {} : { note: undone.error }) });
          if (!undone.ok) return;
          if (resolved.type !== 'priority') this.healTimes.push(undoneAt);
          this.afterStep(undo, `undo: ${label}`, undoneAt);
        });
      });
    });
  }

  /**
   * Goes on with a step's ack: at once when the cluster answered at once (the simulator stays
   * synchronous, so a seed replays exactly), else when its nodes did; an ack after the end is
   * not the scenario's any more.
   */
  private settle(ack: CommandAck | Promise<CommandAck>, then: (ack: CommandAck) => void): void {
    if (!(ack instanceof Promise)) {
      then(ack);
      return;
    }
    ack.then(
      (result) => this.report === null && then(result),
      (error: unknown) => this.report === null && then({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  }

  /** The members that run now, as the snapshot says. */
  private runningNodes(): string[] {
    return this.cluster.snapshot().nodes.filter((node) => node.status === 'up').map((node) => node.id);
  }

  /** Turns node roles into ids; a string explains why the step cannot run now. */
  private resolve(action: ScenarioAction): ClusterCommand | string {
    const ids = this.cluster.members;
    const snapshot = this.cluster.snapshot();
    const leader = snapshot.leader?.id ?? null;
    const pick = (ref: NodeRef): string | null => {
      if (ref === 'leader') return leader;
      const running = snapshot.nodes.filter((node) => node.status === 'up' && (ref === 'random' || node.id !== leader)).map((node) => node.id);
      if (ref === 'follower' || ref === 'random') return running.length === 0 ? null : running[this.options.random.int(0, running.length - 1)]!;
      return ids.includes(ref) ? ref : null;
    };
    const need = (ref: NodeRef): string => {
      const id = pick(ref);
      if (id === null) throw new Unresolved(ref === 'leader' ? 'there was no leader' : ids.includes(ref) || ref === 'follower' || ref === 'random' ? `no node to be the ${ref}` : `unknown node "${ref}"`);
      return id;
    };
    try {
      switch (action.type) {
        case 'kill':
        case 'restart':
        case 'pause':
        case 'resume':
        case 'transfer':
          return { type: action.type, nodeId: need(action.node) };
        case 'partition':
          return 'preset' in action ? action : { type: 'partition', groups: action.groups.map((group) => group.map(need)) };
        case 'heal':
          return action;
        case 'link': {
          const { from, to, ...fault } = action;
          return { ...fault, ...(from === undefined ? {} : { from: need(from) }), ...(to === undefined ? {} : { to: need(to) }), type: 'link' };
        }
        case 'priority':
          return { type: 'priority', nodeId: need(action.node), priority: action.priority };
        case 'capabilities':
          return { type: 'capabilities', nodeId: need(action.node), capabilities: action.capabilities };
        case 'leadership':
          return action;
      }
    } catch (error) {
      if (error instanceof Unresolved) return error.message;
      throw error;
    }
  }

  private note(result: ScenarioStepResult): void {
    if (this.steps.length < MAX_REPORTED_STEPS) this.steps.push(result);
  }

  private finish(stopped: boolean, keepFaults: boolean): ScenarioReport {
    for (const timer of this.timers) this.clock.clearTimer(timer);
    this.unsubscribe();
    const endedT = this.clock.now();
    const metrics = this.analysis.metricsBetween(this.startedT, endedT);
    const assertions = this.scenario.assertions.map((assertion) => this.check(assertion, endedT));
    const { undone, kept } = this.undoFaults(keepFaults || this.scenario.keepFaults === true);
    const report: ScenarioReport = {
      name: this.scenario.name,
      passed: !stopped && assertions.every((assertion) => assertion.passed),
      startedT: this.startedT,
      endedT,
      stopped,
      steps: this.steps,
      assertions,
      undone,
      kept,
      metrics: {
        elections: metrics.electionsStarted,
        leaderChanges: metrics.leaderChanges,
        failovers: metrics.failovers,
        failoverP50Ms: metrics.failovers === 0 ? null : metrics.failoverMs.p50,
        failoverP99Ms: metrics.failovers === 0 ? null : metrics.failoverMs.p99,
        leaderlessMs: metrics.leaderlessMs,
        availability: metrics.availability,
        safetyViolations: metrics.safetyViolations,
      },
    };
    this.report = report;
    this.cluster.annotate({ type: 'scenario', name: this.scenario.name, status: stopped ? 'stopped' : 'finished', durationMs: this.scenario.durationMs, report });
    this.options.onFinish?.(report);
    return report;
  }

  /** The faults its steps set that are still in force (the same ones, not set again since): undone, or kept. */
  private undoFaults(keep: boolean): { undone: string[]; kept: string[] } {
    const undone: string[] = [];
    const kept: string[] = [];
    for (const fault of this.cluster.snapshot().faults) {
      if (this.introduced.get(fault.id) !== fault.sinceT) continue;
      if (keep) {
        kept.push(fault.label);
        continue;
      }
      const result = this.cluster.execute({ type: 'heal', faultId: fault.id });
      // A remote cluster's heal is in the record at once; real nodes drop a leased fault anyway if they never hear of it.
      if (result instanceof Promise || result.ok) undone.push(fault.label);
      else this.note({ t: this.clock.now() - this.startedT, label: `undo at the end: ${fault.label}`, ok: false, note: result.error });
    }
    return { undone, kept };
  }

  private check(assertion: ScenarioAssertion, endedT: number): AssertionResult {
    const description = describeAssertion(assertion);
    const metrics = this.analysis.metricsBetween(this.startedT, endedT);
    switch (assertion.type) {
      case 'no-safety-violation': {
        const violations = this.analysis.alarms.filter((alarm) => alarm.severity === 'violation' && alarm.start >= this.startedT);
        return { description, passed: violations.length === 0, detail: violations.length === 0 ? 'none' : violations.map((v) => v.message).join('; ') };
      }
      case 'leader-within': {
        const times = assertion.after === 'fault' ? this.faultTimes : this.healTimes;
        let worst = 0;
        const late: string[] = [];
        let measured = 0;
        for (const t of times) {
          const recovery = this.analysis.recoveryAfter(t);
          const at = ((t - this.startedT) / 1000).toFixed(1);
          if (recovery === null) {
            if (endedT - t >= assertion.withinMs) late.push(`after the ${assertion.after} at ${at} s there was still no leader`);
            continue;
          }
          measured += 1;
          worst = Math.max(worst, recovery);
          if (recovery > assertion.withinMs) late.push(`after the ${assertion.after} at ${at} s it took ${Math.round(recovery)} ms`);
        }
        if (measured === 0 && late.length === 0) return { description, passed: true, detail: `no ${assertion.after} to measure` };
        return { description, passed: late.length === 0, detail: late.length === 0 ? `worst ${Math.round(worst)} ms over ${measured} ${assertion.after}s` : late.join('; ') };
      }
      case 'failover-p99-below':
        if (metrics.failovers === 0) return { description, passed: true, detail: 'no failovers' };
        return { description, passed: metrics.failoverMs.p99 < assertion.ms, detail: `p99 ${Math.round(metrics.failoverMs.p99)} ms over ${metrics.failovers} failovers` };
      case 'availability-above':
        return { description, passed: metrics.availability >= assertion.ratio, detail: `${(metrics.availability * 100).toFixed(2)}%` };
      case 'priority-leader-within': {
        const late: string[] = [];
        let worst = 0;
        let measured = 0;
        for (const recovery of this.recoveries) {
          if (recovery.superseded) continue;
          const at = `${((recovery.t - this.startedT) / 1000).toFixed(1)} s (${recovery.label})`;
          const expected = [...recovery.expected].join(' or ');
          if (recovery.tookMs === null) {
            if (endedT - recovery.t >= assertion.withinMs) late.push(`after the recovery at ${at}, ${expected} never led`);
            continue;
          }
          measured += 1;
          worst = Math.max(worst, recovery.tookMs);
          if (recovery.tookMs > assertion.withinMs) late.push(`after the recovery at ${at}, ${expected} led only after ${Math.round(recovery.tookMs)} ms`);
        }
        const superseded = this.recoveries.filter((recovery) => recovery.superseded).length;
        const aside = superseded === 0 ? '' : ` (${superseded} cut short by a later fault)`;
        if (measured === 0 && late.length === 0) return { description, passed: true, detail: `no recovery to measure${aside}` };
        return { description, passed: late.length === 0, detail: late.length === 0 ? `worst ${Math.round(worst)} ms over ${measured} recoveries${aside}` : late.join('; ') };
      }
    }
  }
}

/** A link step that sets no fault restores the link. */
function isRestore(command: Extract<ClusterCommand, { type: 'link' }>): boolean {
  return !command.cut && !command.dropProbability && command.latencyMs === undefined && command.jitterMs === undefined && !command.duplicateProbability;
}

class Unresolved extends Error {}

/** The members a step names by id (roles are resolved when it runs). */
function nodesNamed(action: ScenarioAction): string[] {
  const refs: NodeRef[] = [];
  if ('node' in action) refs.push(action.node);
  if (action.type === 'partition' && 'groups' in action) refs.push(...action.groups.flat());
  if (action.type === 'link') refs.push(...[action.from, action.to].filter((ref): ref is NodeRef => ref !== undefined));
  return refs.filter((ref) => !(NODE_ROLES as readonly string[]).includes(ref));
}

/** The type of the command that undoes a step of this type, or null. */
function undoType(type: ClusterCommand['type']): ClusterCommand['type'] | null {
  switch (type) {
    case 'kill':
      return 'restart';
    case 'pause':
      return 'resume';
    case 'partition':
      return 'heal';
    case 'priority':
    case 'link':
      return type;
    default:
      return null;
  }
}

/** What undoes a step (with the priorities in force before it, for a priority step), or null. */
function undoOf(command: ClusterCommand, leadership: LeadershipConfig): ClusterCommand | null {
  switch (command.type) {
    case 'priority':
      return { type: 'priority', nodeId: command.nodeId, priority: priorityIn(leadership, command.nodeId) };
    case 'kill':
      return { type: 'restart', nodeId: command.nodeId };
    case 'pause':
      return { type: 'resume', nodeId: command.nodeId };
    case 'partition':
      return { type: 'heal', faultId: 'partition' };
    case 'link':
      return { type: 'link', ...(command.from === undefined ? {} : { from: command.from }), ...(command.to === undefined ? {} : { to: command.to }) };
    default:
      return null;
  }
}

export function describeAction(action: ScenarioAction): string {
  switch (action.type) {
    case 'kill':
    case 'restart':
    case 'pause':
    case 'resume':
      return `${action.type} ${action.node}`;
    case 'transfer':
      return `transfer leadership to ${action.node}`;
    case 'partition':
      return 'preset' in action ? `partition: ${action.preset}` : `partition ${action.groups.map((group) => `{${group.join(', ')}}`).join(' | ')}`;
    case 'heal':
      return 'heal all';
    case 'link': {
      const { type: _type, from, to, ...fault } = action;
      const settings = Object.entries(fault).map(([key, value]) => `${key} ${String(value)}`).join(', ');
      return `link ${from ?? 'all'} → ${to ?? 'all'}${settings === '' ? ' restored' : `: ${settings}`}`;
    }
    case 'priority':
    case 'capabilities':
    case 'leadership':
      return describeLeadershipAction(action);
  }
}
