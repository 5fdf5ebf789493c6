/**
 * Leaders chosen by criteria in the dashboard: the scenario editor's priority, capabilities and
 * leadership steps and its priority assertion, the capabilities' one-line text, and the
 * settings that set priorities, capabilities and the rules on the embedded cluster.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, type Scenario } from '../../shared/scenario/format.js';
import { blankDraft, blankStep, toDraft, toScenarioJson } from '../../renderer/src/components/scenario/scenario-draft.js';
import { capabilitiesFromText, capabilitiesText } from '../../renderer/src/format.js';

const LEADERSHIP_SCENARIO: Scenario = {
  name: 'criteria',
  durationMs: 30_000,
  steps: [
    { at: 0, do: { type: 'priority', node: 'n3', priority: 0 }, undoAfter: 5_000 },
    { at: 0, do: { type: 'capabilities', node: 'n2', capabilities: { loadavg: 0.4, zone: 'a', ssd: true, build: '42', note: 'a, b' } } },
    { at: 100, do: { type: 'leadership', takeoverAfterMs: 1_500 } },
    { at: 200, do: { type: 'leadership', preferredLeader: { capability: 'loadavg', prefer: 'lowest', margin: 0.5, stableMs: 4_000 } } },
    { at: 300, do: { type: 'leadership', takeoverAfterMs: null, preferredLeader: null } },
  ],
  assertions: [{ type: 'priority-leader-within', withinMs: 2_500 }],
};

describe('the scenario editor, on who should lead', () => {
  it('every new step and the priority assertion survive the round trip through the form', () => {
    expect(parseScenario(toScenarioJson(toDraft(LEADERSHIP_SCENARIO)))).toEqual(LEADERSHIP_SCENARIO);
  });

  it('builds each step from its fields', () => {
    const draft = blankDraft();
    const priority = Object.assign(blankStep(), { type: 'priority', node: 'n2', priority: 7, undoAfter: 2_000 } as const);
    const capabilities = Object.assign(blankStep(), { type: 'capabilities', node: 'leader', capabilities: 'loadavg=1.5, zone="b"' } as const);
    const rule = Object.assign(blankStep(), { type: 'leadership', takeover: 'ms', takeoverAfterMs: 800, rule: 'on', ruleCapability: 'freememMb', rulePrefer: 'highest', ruleMargin: '', ruleStableMs: '' } as const);
    draft.steps = [priority, capabilities, rule];
    draft.assertions[0]!.type = 'priority-leader-within';
    draft.assertions[0]!.withinMs = 3_000;
    expect(parseScenario(toScenarioJson(draft))).toMatchObject({
      steps: [
        { at: 1_000, do: { type: 'priority', node: 'n2', priority: 7 }, undoAfter: 2_000 },
        { at: 1_000, do: { type: 'capabilities', node: 'leader', capabilities: { loadavg: 1.5, zone: 'b' } } },
        // The rule's left-out margin and stable period take the format's defaults.
        { at: 1_000, do: { type: 'leadership', takeoverAfterMs: 800, preferredLeader: { capability: 'freememMb', prefer: 'highest', margin: 0, stableMs: 10_000 } } },
      ],
      assertions: [{ type: 'priority-leader-within', withinMs: 3_000 }],
    });
  });

  it('a bad field is refused by the format\'s validator, naming it', () => {
    const draft = blankDraft();
    const step = draft.steps[0]!;
    step.type = 'priority';
    step.priority = 1_001;
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.priority must be between 0 and 1000');
    step.priority = '';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.priority');
    step.type = 'capabilities';
    step.capabilities = 'loadavg=0.4, zone';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.capabilities: "zone" is not key=value');
    step.capabilities = '9lives=1';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.capabilities key "9lives"');
    step.type = 'leadership';
    step.takeover = 'keep';
    step.rule = 'keep';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do changes "takeoverAfterMs"');
    step.rule = 'on';
    step.ruleCapability = '';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.preferredLeader.capability');
  });
});

describe('capabilities as one line of text', () => {
  it('reads numbers, booleans and strings, quoted or not, and writes them back alike', () => {
    const text = 'loadavg=0.4, zone = a , ssd=true, build="42", note="a, b", empty=""';
    const capabilities = capabilitiesFromText(text, 'caps');
    expect(capabilities).toEqual({ loadavg: 0.4, zone: 'a', ssd: true, build: '42', note: 'a, b', empty: '' });
    expect(capabilitiesText(capabilities)).toBe('loadavg=0.4, zone=a, ssd=true, build="42", note="a, b", empty=""');
    expect(capabilitiesFromText(capabilitiesText(capabilities), 'caps')).toEqual(capabilities);
    expect(capabilitiesFromText('  ', 'caps')).toEqual({});
  });

  it('says which piece it cannot read', () => {
    expect(() => capabilitiesFromText('zone=a, ssd', 'caps')).toThrow('caps: "ssd" is not key=value');
    expect(() => capabilitiesFromText('=1', 'caps')).toThrow('caps: "=1" is not key=value');
    expect(() => capabilitiesFromText('zone=a, zone=b', 'caps')).toThrow('caps: "zone" is given twice');
    expect(() => capabilitiesFromText('zone="a', 'caps')).toThrow('caps.zone: "a is not a well-quoted string');
  });
});
