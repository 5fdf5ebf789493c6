/**
 * A scenario as the editor holds it: every field of the JSON format (docs/scenarios.md) as a
 * form field, and the conversions both ways. What the editor runs or saves is always checked
 * by parseScenario, the validator the hub and the CLI use.
 */
import { DEFAULT_PRIORITY } from '../../../../shared/core/leadership.js';
import { PARTITION_PRESETS, type PartitionPreset } from '../../../../shared/protocol/faults.js';
import { DEFAULT_RULE_STABLE_MS } from '../../../../shared/protocol/leadership.js';
import type { Scenario, ScenarioAction, ScenarioAssertion, ScenarioStep } from '../../../../shared/scenario/format.js';
import { capabilitiesFromText, capabilitiesText } from '../../format.js';

export const ACTION_TYPES = ['kill', 'restart', 'pause', 'resume', 'transfer', 'partition', 'heal', 'link', 'priority', 'capabilities', 'leadership'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];
export const ASSERTION_TYPES = ['no-safety-violation', 'leader-within', 'failover-p99-below', 'availability-above', 'priority-leader-within'] as const;
export type AssertionType = (typeof ASSERTION_TYPES)[number];
export const UNDOABLE: ReadonlySet<ActionType> = new Set(['kill', 'pause', 'partition', 'link', 'priority']);
/** Actions on one node, chosen by id or role. */
export const NODE_ACTIONS: ReadonlySet<ActionType> = new Set(['kill', 'restart', 'pause', 'resume', 'transfer', 'priority', 'capabilities']);

/** Blank number fields are '' (left out of the scenario). */
type Optional = number | '';

export interface StepDraft {
  key: number;
  timing: 'at' | 'every';
  at: Optional;
  every: Optional;
  from: Optional;
  until: Optional;
  type: ActionType;
  node: string;
  partitionBy: 'preset' | 'groups';
  preset: PartitionPreset;
  /** Groups as text: "leader | n2 n3". */
  groups: string;
  linkFrom: string;
  linkTo: string;
  cut: boolean;
  dropProbability: Optional;
  latencyMs: Optional;
  jitterMs: Optional;
  duplicateProbability: Optional;
  priority: Optional;
  /** Capabilities as text: "loadavg=0.4, zone=a, ssd=true" (format.ts, capabilitiesFromText). */
  capabilities: string;
  /** A leadership step changes the takeover delay (to ms, or back to the default), the rule, or both; 'keep' leaves one out. */
  takeover: 'keep' | 'default' | 'ms';
  takeoverAfterMs: Optional;
  rule: 'keep' | 'off' | 'on';
  ruleCapability: string;
  rulePrefer: 'lowest' | 'highest';
  ruleMargin: Optional;
  ruleStableMs: Optional;
  undoAfter: Optional;
  label: string;
}

export interface AssertionDraft {
  key: number;
  type: AssertionType;
  after: 'fault' | 'heal';
  withinMs: Optional;
  ms: Optional;
  ratio: Optional;
}

export interface ScenarioDraft {
  name: string;
  description: string;
  durationMs: Optional;
  keepFaults: boolean;
  steps: StepDraft[];
  assertions: AssertionDraft[];
  /** Fields the editor does not show (cluster settings, seed), carried over as they were. */
  rest: Pick<Scenario, 'cluster' | 'seed'>;
}

let nextKey = 1;

export function blankStep(): StepDraft {
  return {
    key: nextKey++,
    timing: 'at',
    at: 1_000,
    every: 10_000,
    from: '',
    until: '',
    type: 'kill',
    node: 'leader',
    partitionBy: 'preset',
    preset: PARTITION_PRESETS[0],
    groups: 'leader | follower',
    linkFrom: '',
    linkTo: '',
    cut: true,
    dropProbability: '',
    latencyMs: '',
    jitterMs: '',
    duplicateProbability: '',
    priority: DEFAULT_PRIORITY,
    capabilities: '',
    takeover: 'keep',
    takeoverAfterMs: 2_000,
    rule: 'on',
    ruleCapability: 'loadavg',
    rulePrefer: 'lowest',
    ruleMargin: 0.5,
    ruleStableMs: DEFAULT_RULE_STABLE_MS,
    undoAfter: '',
    label: '',
  };
}

export function blankAssertion(type: AssertionType = 'no-safety-violation'): AssertionDraft {
  return { key: nextKey++, type, after: 'fault', withinMs: 1_000, ms: 1_000, ratio: 0.9 };
}

export function blankDraft(): ScenarioDraft {
  return { name: 'My scenario', description: '', durationMs: 30_000, keepFaults: false, steps: [blankStep()], assertions: [blankAssertion()], rest: {} };
}

const given = (value: Optional): value is number => value !== '' && Number.isFinite(value);

/** The action as the format has it; fields left as typed (a blank number, an unknown name) are for parseScenario to name. */
function actionOf(step: StepDraft, path: string): ScenarioAction | Record<string, unknown> {
  switch (step.type) {
    case 'heal':
      return { type: 'heal' };
    case 'partition':
      return step.partitionBy === 'preset'
        ? { type: 'partition', preset: step.preset }
        : { type: 'partition', groups: step.groups.split('|').map((group) => group.split(/[\s,]+/).filter((ref) => ref !== '')) };
    case 'link': {
      const action: Extract<ScenarioAction, { type: 'link' }> = { type: 'link' };
      if (step.linkFrom !== '') action.from = step.linkFrom;
      if (step.linkTo !== '') action.to = step.linkTo;
      if (step.cut) action.cut = true;
      if (given(step.dropProbability)) action.dropProbability = step.dropProbability;
      if (given(step.latencyMs)) action.latencyMs = step.latencyMs;
      if (given(step.jitterMs)) action.jitterMs = step.jitterMs;
      if (given(step.duplicateProbability)) action.duplicateProbability = step.duplicateProbability;
      return action;
    }
    case 'priority':
      return { type: 'priority', node: step.node, priority: step.priority };
    case 'capabilities':
      return { type: 'capabilities', node: step.node, capabilities: capabilitiesFromText(step.capabilities, `${path}.capabilities`) };
    case 'leadership': {
      const action: Record<string, unknown> = { type: 'leadership' };
      if (step.takeover !== 'keep') action.takeoverAfterMs = step.takeover === 'default' ? null : step.takeoverAfterMs;
      if (step.rule === 'off') action.preferredLeader = null;
      if (step.rule === 'on') {
        const rule: Record<string, unknown> = { capability: step.ruleCapability.trim(), prefer: step.rulePrefer };
        if (given(step.ruleMargin)) rule.margin = step.ruleMargin;
        if (given(step.ruleStableMs)) rule.stableMs = step.ruleStableMs;
        action.preferredLeader = rule;
      }
      return action;
    }
    default:
      return { type: step.type, node: step.node };
  }
}

/** The draft as the JSON format has it (not yet validated: parseScenario does that). */
export function toScenarioJson(draft: ScenarioDraft): Record<string, unknown> {
  const steps = draft.steps.map((step, index) => {
    const json: Record<string, unknown> = {};
    if (step.timing === 'at') json.at = step.at;
    else {
      json.every = step.every;
      if (given(step.from)) json.from = step.from;
      if (given(step.until)) json.until = step.until;
    }
    json.do = actionOf(step, `scenario.steps[${index}].do`);
    if (UNDOABLE.has(step.type) && given(step.undoAfter)) json.undoAfter = step.undoAfter;
    if (step.label.trim() !== '') json.label = step.label.trim();
    return json;
  });
  const assertions = draft.assertions.map((assertion): ScenarioAssertion | Record<string, unknown> => {
    switch (assertion.type) {
      case 'no-safety-violation':
        return { type: assertion.type };
      case 'leader-within':
        return { type: assertion.type, after: assertion.after, withinMs: assertion.withinMs };
      case 'failover-p99-below':
        return { type: assertion.type, ms: assertion.ms };
      case 'availability-above':
        return { type: assertion.type, ratio: assertion.ratio };
      case 'priority-leader-within':
        return { type: assertion.type, withinMs: assertion.withinMs };
    }
  });
  return {
    name: draft.name,
    ...(draft.description.trim() === '' ? {} : { description: draft.description.trim() }),
    durationMs: draft.durationMs,
    ...draft.rest,
    ...(draft.keepFaults ? { keepFaults: true } : {}),
    steps,
    assertions,
  };
}

function stepDraft(step: ScenarioStep): StepDraft {
  const draft = blankStep();
  if (step.at !== undefined) {
    draft.timing = 'at';
    draft.at = step.at;
  } else {
    draft.timing = 'every';
    draft.every = step.every ?? 1_000;
    draft.from = step.from ?? '';
    draft.until = step.until ?? '';
  }
  draft.undoAfter = step.undoAfter ?? '';
  draft.label = step.label ?? '';
  const action = step.do;
  draft.type = action.type;
  if ('node' in action) draft.node = action.node;
  if (action.type === 'partition') {
    if ('preset' in action) {
      draft.partitionBy = 'preset';
      draft.preset = action.preset;
    } else {
      draft.partitionBy = 'groups';
      draft.groups = action.groups.map((group) => group.join(' ')).join(' | ');
    }
  }
  if (action.type === 'link') {
    draft.linkFrom = action.from ?? '';
    draft.linkTo = action.to ?? '';
    draft.cut = action.cut === true;
    draft.dropProbability = action.dropProbability ?? '';
    draft.latencyMs = action.latencyMs ?? '';
    draft.jitterMs = action.jitterMs ?? '';
    draft.duplicateProbability = action.duplicateProbability ?? '';
  }
  if (action.type === 'priority') draft.priority = action.priority;
  if (action.type === 'capabilities') draft.capabilities = capabilitiesText(action.capabilities);
  if (action.type === 'leadership') {
    draft.takeover = action.takeoverAfterMs === undefined ? 'keep' : action.takeoverAfterMs === null ? 'default' : 'ms';
    if (typeof action.takeoverAfterMs === 'number') draft.takeoverAfterMs = action.takeoverAfterMs;
    draft.rule = action.preferredLeader === undefined ? 'keep' : action.preferredLeader === null ? 'off' : 'on';
    if (action.preferredLeader) {
      draft.ruleCapability = action.preferredLeader.capability;
      draft.rulePrefer = action.preferredLeader.prefer;
      draft.ruleMargin = action.preferredLeader.margin;
      draft.ruleStableMs = action.preferredLeader.stableMs;
    }
  }
  return draft;
}

function assertionDraft(assertion: ScenarioAssertion): AssertionDraft {
  const draft = blankAssertion(assertion.type);
  if (assertion.type === 'leader-within') {
    draft.after = assertion.after;
    draft.withinMs = assertion.withinMs;
  } else if (assertion.type === 'priority-leader-within') draft.withinMs = assertion.withinMs;
  else if (assertion.type === 'failover-p99-below') draft.ms = assertion.ms;
  else if (assertion.type === 'availability-above') draft.ratio = assertion.ratio;
  return draft;
}

/** A valid scenario (a preset, a loaded file) into the editor. */
export function toDraft(scenario: Scenario): ScenarioDraft {
  const rest: ScenarioDraft['rest'] = {};
  if (scenario.cluster !== undefined) rest.cluster = scenario.cluster;
  if (scenario.seed !== undefined) rest.seed = scenario.seed;
  return {
    name: scenario.name,
    description: scenario.description ?? '',
    durationMs: scenario.durationMs,
    keepFaults: scenario.keepFaults === true,
    steps: scenario.steps.map(stepDraft),
    assertions: scenario.assertions.map(assertionDraft),
    rest,
  };
}
