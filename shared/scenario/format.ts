/**
 * Scenarios: a small JSON format for timed faults and what must hold (docs/scenarios.md).
 * Pure types and a validator that names the offending field; the runner lives in electron/.
 */
import { ALGORITHMS, type AlgorithmName, type ElectionConfig } from '../core/election.js';
import type { Capabilities } from '../core/leadership.js';
import { describeCapabilities, describeRule, parseCapabilities, parseLeadershipChange, parsePriority, type LeadershipChange } from '../protocol/leadership.js';

import { MAX_NODES, TIMING_LIMIT_MS, parsePartialConfig } from '../core/config.js';
import { MEMBER_ID_PATTERN } from '../protocol/cluster-file.js';
import { PARTITION_PRESETS, type PartitionPreset } from '../protocol/faults.js';
import {
  ValidationError,
  expectArray,
  expectBoolean,
  expectInteger,
  expectNumber,
  expectObject,
  expectOneOf,
  expectString,
  isPlainObject,
} from '../protocol/validate.js';

/** A node: its id ("n3"), or a role resolved when the step runs. */
export type NodeRef = string;
export const NODE_ROLES = ['leader', 'follower', 'random'] as const;

export type ScenarioAction =
  | { type: 'kill' | 'restart' | 'pause' | 'resume' | 'transfer'; node: NodeRef }
  | { type: 'partition'; preset: PartitionPreset }
  | { type: 'partition'; groups: NodeRef[][] }
  | { type: 'heal' }
  | { type: 'link'; from?: NodeRef; to?: NodeRef; cut?: boolean; dropProbability?: number; latencyMs?: number; jitterMs?: number; duplicateProbability?: number }
  | { type: 'priority'; node: NodeRef; priority: number }
  | { type: 'capabilities'; node: NodeRef; capabilities: Capabilities }
  | ({ type: 'leadership' } & LeadershipChange);

export interface ScenarioStep {
  /** Runs once, this many ms after the start... */
  at?: number;
  /** ...or every this many ms, from `from` (default 0) while before `until` (default the end). */
  every?: number;
  from?: number;
  until?: number;
  do: ScenarioAction;
  /** Undo the fault this long after it starts (restart, resume, heal the partition, restore the link). */
  undoAfter?: number;
  label?: string;
}

export type ScenarioAssertion =
  | { type: 'no-safety-violation' }
  | { type: 'leader-within'; after: 'fault' | 'heal'; withinMs: number }
  | { type: 'failover-p99-below'; ms: number }
  | { type: 'availability-above'; ratio: number }
  /** After each recovery (see describeAssertion), the highest-priority running node leads a majority within `withinMs`. */
  | { type: 'priority-leader-within'; withinMs: number };

export interface Scenario {
  name: string;
  description?: string;
  durationMs: number;
  /** The cluster to run it on; the app restarts its cluster with these settings first. */
  cluster?: { algorithm?: AlgorithmName; nodes?: number; config?: Partial<ElectionConfig> };
  /** Seed of the simulator run (CLI) and of the scenario's own random choices. */
  seed?: number;
  steps: ScenarioStep[];
  assertions: ScenarioAssertion[];
  /** Leave the faults it set in force when it ends or is stopped; by default they are undone (as a chaos experiment's are). */
  keepFaults?: boolean;
}

export const MAX_SCENARIO_DURATION_MS = 3_600_000;
export const MAX_STEPS = 200;
export const MAX_ASSERTIONS = 50;
/** Occurrences of all steps together, so that an `every: 1` cannot schedule millions of faults. */
export const MAX_OCCURRENCES = 10_000;

const UNDOABLE = new Set(['kill', 'pause', 'partition', 'link', 'priority']);

function nodeRef(value: unknown, path: string): NodeRef {
  const ref = expectString(value, path, 64);
  // Any member's id (real clusters name theirs: "db1", "infra2"); whether it is one is known where the scenario runs.
  if (!(NODE_ROLES as readonly string[]).includes(ref) && !MEMBER_ID_PATTERN.test(ref)) {
    throw new ValidationError(`${path} must be a node id like "n3" (a member's id: 1 to 64 letters, digits, dots, dashes or underscores) or one of ${NODE_ROLES.join(', ')} (got ${JSON.stringify(ref)})`);
  }
  return ref;
}

function parseAction(value: unknown, path: string): ScenarioAction {
  if (!isPlainObject(value)) throw new ValidationError(`${path} must be an action like { "type": "kill", "node": "leader" }`);
  const type = expectOneOf(value.type, `${path}.type`, ['kill', 'restart', 'pause', 'resume', 'transfer', 'partition', 'heal', 'link', 'priority', 'capabilities', 'leadership'] as const);
  switch (type) {
    case 'kill':
    case 'restart':
    case 'pause':
    case 'resume':
    case 'transfer':
      return { type, node: nodeRef(expectObject(value, path, ['type', 'node']).node, `${path}.node`) };
    case 'partition': {
      const input = expectObject(value, path, ['type', 'preset', 'groups']);
      if ((input.preset === undefined) === (input.groups === undefined)) throw new ValidationError(`${path} takes either "preset" or "groups"`);
      if (input.preset !== undefined) return { type, preset: expectOneOf(input.preset, `${path}.preset`, PARTITION_PRESETS) };
      return {
        type,
        groups: expectArray(input.groups, `${path}.groups`, MAX_NODES).map((group, i) =>
          expectArray(group, `${path}.groups[${i}]`, MAX_NODES).map((ref, j) => nodeRef(ref, `${path}.groups[${i}][${j}]`)),
        ),
      };
    }
    case 'heal':
      expectObject(value, path, ['type']);
      return { type };
    case 'link': {
      const input = expectObject(value, path, ['type', 'from', 'to', 'cut', 'dropProbability', 'latencyMs', 'jitterMs', 'duplicateProbability']);
      const action: Extract<ScenarioAction, { type: 'link' }> = { type };
      if (input.from !== undefined) action.from = nodeRef(input.from, `${path}.from`);
      if (input.to !== undefined) action.to = nodeRef(input.to, `${path}.to`);
      if (input.cut !== undefined) action.cut = expectBoolean(input.cut, `${path}.cut`);
      if (input.dropProbability !== undefined) action.dropProbability = expectNumber(input.dropProbability, `${path}.dropProbability`, 0, 1);
      if (input.latencyMs !== undefined) action.latencyMs = expectNumber(input.latencyMs, `${path}.latencyMs`, 0, 10_000);
      if (input.jitterMs !== undefined) action.jitterMs = expectNumber(input.jitterMs, `${path}.jitterMs`, 0, 10_000);
      if (input.duplicateProbability !== undefined) action.duplicateProbability = expectNumber(input.duplicateProbability, `${path}.duplicateProbability`, 0, 1);
      return action;
    }
    case 'priority': {
      const input = expectObject(value, path, ['type', 'node', 'priority']);
      return { type, node: nodeRef(input.node, `${path}.node`), priority: parsePriority(input.priority, `${path}.priority`) };
    }
    case 'capabilities': {
      const input = expectObject(value, path, ['type', 'node', 'capabilities']);
      return { type, node: nodeRef(input.node, `${path}.node`), capabilities: parseCapabilities(input.capabilities, `${path}.capabilities`) };
    }
    case 'leadership':
      return { type, ...parseLeadershipChange(expectObject(value, path, ['type', 'takeoverAfterMs', 'preferredLeader']), path) };
  }
}

function parseStep(value: unknown, path: string, durationMs: number): ScenarioStep {
  const input = expectObject(value, path, ['at', 'every', 'from', 'until', 'do', 'undoAfter', 'label']);
  const step: ScenarioStep = { do: parseAction(input.do, `${path}.do`) };
  const time = (field: string, min: number): number => expectInteger(input[field], `${path}.${field}`, min, durationMs);
  if ((input.at === undefined) === (input.every === undefined)) throw new ValidationError(`${path} needs either "at" (once) or "every" (repeated), in ms`);
  if (input.at !== undefined) {
    step.at = time('at', 0);
    if (input.from !== undefined || input.until !== undefined) throw new ValidationError(`${path}: "from" and "until" go with "every", not "at"`);
  } else {
    step.every = time('every', 100);
    if (input.from !== undefined) step.from = time('from', 0);
    if (input.until !== undefined) step.until = time('until', 0);
  }
  if (input.undoAfter !== undefined) {
    if (!UNDOABLE.has(step.do.type)) throw new ValidationError(`${path}.undoAfter does not apply to ${step.do.type} (only to kill, pause, partition, link and priority)`);
    step.undoAfter = expectInteger(input.undoAfter, `${path}.undoAfter`, 1, durationMs);
  }
  if (input.label !== undefined) step.label = expectString(input.label, `${path}.label`, 120);
  return step;
}

function parseAssertion(value: unknown, path: string): ScenarioAssertion {
  if (!isPlainObject(value)) throw new ValidationError(`${path} must be an assertion like { "type": "no-safety-violation" }`);
  const type = expectOneOf(value.type, `${path}.type`, ['no-safety-violation', 'leader-within', 'failover-p99-below', 'availability-above', 'priority-leader-within'] as const);
  switch (type) {
    case 'no-safety-violation':
      expectObject(value, path, ['type']);
      return { type };
    case 'leader-within': {
      const input = expectObject(value, path, ['type', 'after', 'withinMs']);
      return { type, after: expectOneOf(input.after, `${path}.after`, ['fault', 'heal'] as const), withinMs: expectInteger(input.withinMs, `${path}.withinMs`, 1, TIMING_LIMIT_MS) };
    }
    case 'failover-p99-below':
      return { type, ms: expectInteger(expectObject(value, path, ['type', 'ms']).ms, `${path}.ms`, 1, TIMING_LIMIT_MS) };
    case 'availability-above':
      return { type, ratio: expectNumber(expectObject(value, path, ['type', 'ratio']).ratio, `${path}.ratio`, 0, 1) };
    case 'priority-leader-within':
      return { type, withinMs: expectInteger(expectObject(value, path, ['type', 'withinMs']).withinMs, `${path}.withinMs`, 1, TIMING_LIMIT_MS) };
  }
}

/** Validates a scenario, returning it typed, or throwing a ValidationError that names the field. */
export function parseScenario(value: unknown): Scenario {
  const input = expectObject(value, 'scenario', ['name', 'description', 'durationMs', 'cluster', 'seed', 'steps', 'assertions', 'keepFaults']);
  const durationMs = expectInteger(input.durationMs, 'scenario.durationMs', 1_000, MAX_SCENARIO_DURATION_MS);
  const scenario: Scenario = {
    name: expectString(input.name, 'scenario.name', 120),
    durationMs,
    steps: expectArray(input.steps, 'scenario.steps', MAX_STEPS).map((step, i) => parseStep(step, `scenario.steps[${i}]`, durationMs)),
    assertions: expectArray(input.assertions ?? [], 'scenario.assertions', MAX_ASSERTIONS).map((a, i) => parseAssertion(a, `scenario.assertions[${i}]`)),
  };
  if (input.description !== undefined) scenario.description = expectString(input.description, 'scenario.description', 2_000);
  if (input.keepFaults !== undefined) scenario.keepFaults = expectBoolean(input.keepFaults, 'scenario.keepFaults');
  if (input.seed !== undefined) scenario.seed = expectInteger(input.seed, 'scenario.seed', 0, 2 ** 32 - 1);
  if (input.cluster !== undefined) {
    const cluster = expectObject(input.cluster, 'scenario.cluster', ['algorithm', 'nodes', 'config']);
    scenario.cluster = {};
    if (cluster.algorithm !== undefined) scenario.cluster.algorithm = expectOneOf(cluster.algorithm, 'scenario.cluster.algorithm', ALGORITHMS);
    if (cluster.nodes !== undefined) scenario.cluster.nodes = expectInteger(cluster.nodes, 'scenario.cluster.nodes', 1, MAX_NODES);
    if (cluster.config !== undefined) scenario.cluster.config = parsePartialConfig(cluster.config, 'scenario.cluster.config');
  }
  const occurrences = scenario.steps.reduce((sum, step) => sum + (step.every === undefined ? 1 : Math.ceil(((step.until ?? durationMs) - (step.from ?? 0)) / step.every)), 0);
  if (occurrences > MAX_OCCURRENCES) throw new ValidationError(`scenario: its steps would run ${occurrences} times; at most ${MAX_OCCURRENCES}`);
  return scenario;
}

/** The times (ms from the start) at which a step runs. */
export function stepTimes(step: ScenarioStep, durationMs: number): number[] {
  if (step.at !== undefined) return [step.at];
  const times: number[] = [];
  for (let t = step.from ?? 0; t < (step.until ?? durationMs) && t <= durationMs; t += step.every!) times.push(t);
  return times;
}

export function describeAssertion(assertion: ScenarioAssertion): string {
  switch (assertion.type) {
    case 'no-safety-violation':
      return 'no safety violation';
    case 'leader-within':
      return `a leader followed by a majority within ${assertion.withinMs} ms after each ${assertion.after}`;
    case 'failover-p99-below':
      return `failover p99 below ${assertion.ms} ms`;
    case 'availability-above':
      return `availability above ${(assertion.ratio * 100).toFixed(1)}%`;
    case 'priority-leader-within':
      return `the highest-priority running node leads within ${assertion.withinMs} ms after each recovery`;
  }
}

/** "priority n3 to 2", "capabilities of n2: loadavg=0.4", "leadership: preferred leader lowest loadavg (...)" (the other actions: the runner's describeAction). */
export function describeLeadershipAction(action: Extract<ScenarioAction, { type: 'priority' | 'capabilities' | 'leadership' }>): string {
  switch (action.type) {
    case 'priority':
      return `priority of ${action.node} to ${action.priority}`;
    case 'capabilities':
      return `capabilities of ${action.node}: ${describeCapabilities(action.capabilities)}`;
    case 'leadership': {
      const parts: string[] = [];
      if (action.takeoverAfterMs !== undefined) parts.push(`takeover after ${action.takeoverAfterMs === null ? 'the default delay' : `${action.takeoverAfterMs} ms`}`);
      if (action.preferredLeader !== undefined) parts.push(`preferred leader ${action.preferredLeader === null ? 'off' : describeRule(action.preferredLeader)}`);
      return `leadership: ${parts.join(', ')}`;
    }
  }
}

export interface ScenarioStepResult {
  /** Ms from the scenario's start. */
  t: number;
  label: string;
  ok: boolean;
  note?: string;
}

export interface AssertionResult {
  description: string;
  passed: boolean;
  detail: string;
}

export interface ScenarioReport {
  name: string;
  passed: boolean;
  /** Cluster time (ms) of the start and of the end. */
  startedT: number;
  endedT: number;
  /** The scenario was stopped before its end. */
  stopped: boolean;
  steps: ScenarioStepResult[];
  assertions: AssertionResult[];
  /** Faults it set that were still in force at its end and were undone then (labels as listed in snapshots). */
  undone: string[];
  /** Faults it set that were left in force at its end, because the scenario or the stop said to keep them. */
  kept: string[];
  metrics: {
    elections: number;
    leaderChanges: number;
    failovers: number;
    failoverP50Ms: number | null;
    failoverP99Ms: number | null;
    leaderlessMs: number;
    availability: number;
    safetyViolations: number;
  };
}
