/**
 * Scenarios that set priorities, capabilities and the preferred-leader rule, and assert that the
 * highest-priority running node leads within a bound after each recovery (docs/scenarios.md).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALGORITHMS } from '../../shared/core/election.js';
import { parseScenario, type Scenario } from '../../shared/scenario/format.js';
import { SCENARIO_PRESETS } from '../../shared/scenario/presets.js';
import { simulateScenario } from '../../electron/scenario/simulate.js';

const PREFERRED = SCENARIO_PRESETS['preferred-leader']!;

describe('the scenario format', () => {
  it('reads priority, capabilities and leadership steps, and the priority-leader-within assertion', () => {
    const scenario = {
      name: 'x',
      durationMs: 10_000,
      steps: [
        { at: 0, do: { type: 'priority', node: 'n2', priority: 4 }, undoAfter: 5_000 },
        { at: 0, do: { type: 'capabilities', node: 'leader', capabilities: { loadavg: 0.5, zone: 'b' } } },
        { at: 0, do: { type: 'leadership', takeoverAfterMs: 2_000, preferredLeader: { capability: 'loadavg', prefer: 'lowest', margin: 0.2, stableMs: 1_000 } } },
      ],
      assertions: [{ type: 'priority-leader-within', withinMs: 3_000 }],
    };
    expect(parseScenario(scenario)).toEqual(scenario);
  });

  it.each([
    [{ at: 0, do: { type: 'priority', node: 'n2', priority: 1_001 } }, 'scenario.steps[0].do.priority must be between 0 and 1000'],
    [{ at: 0, do: { type: 'priority', node: 'n2' } }, 'scenario.steps[0].do.priority must be an integer'],
    [{ at: 0, do: { type: 'capabilities', node: 'n2', capabilities: { loadavg: 'x'.repeat(65) } } }, 'scenario.steps[0].do.capabilities.loadavg must be at most 64 characters'],
    [{ at: 0, do: { type: 'capabilities', node: 'n2', capabilities: {} }, undoAfter: 100 }, 'undoAfter does not apply to capabilities'],
    [{ at: 0, do: { type: 'leadership' } }, 'scenario.steps[0].do changes "takeoverAfterMs" (ms, or null for the default), "preferredLeader" (a rule, or null for none), or both'],
  ])('refuses %j: %s', (step, reason) => {
    expect(() => parseScenario({ name: 'x', durationMs: 10_000, steps: [step], assertions: [] })).toThrow(reason);
  });
});

describe('on the simulator', () => {
  it.each(ALGORITHMS)('%s: the bundled preset passes: n5 never leads, n1 leads again after each return', (algorithm) => {
    const { report, events } = simulateScenario({ ...PREFERRED, cluster: { algorithm } }, 7);
    expect(report.assertions.map((assertion) => [assertion.description, assertion.passed, assertion.detail])).toEqual([
      ['no safety violation', true, 'none'],
      [expect.any(String), true, expect.any(String)],
      ['the highest-priority running node leads within 2500 ms after each recovery', true, expect.stringMatching(/^worst \d+ ms over \d+ recoveries/)],
    ]);
    // From the moment n5's priority is 0 (Bully's first coordinator, at boot, may be n5).
    const zeroAt = events.findIndex((event) => event.type === 'priority' && event.nodeId === 'n5');
    expect(events.slice(zeroAt).filter((event) => event.type === 'leader').map((event) => event.type === 'leader' && event.nodeId)).not.toContain('n5');
    expect(report.steps.slice(0, 2).map((step) => step.label)).toEqual(['priority of n1 to 3', 'priority of n5 to 0']);
  });

  it.each(['raft', 'paxos'] as const)('%s: the documented example passes, and the rule moves leadership off the busy machine', (algorithm) => {
    const example = parseScenario(JSON.parse(readFileSync(new URL('../../docs/scenarios/preferred-leader.json', import.meta.url), 'utf8')));
    const { report, events } = simulateScenario({ ...example, cluster: { ...example.cluster, algorithm } }, example.seed!);
    expect(report.assertions.filter((assertion) => !assertion.passed)).toEqual([]);
    const reasons = events.flatMap((event) => (event.type === 'transfer' && event.reason !== undefined ? [`${(event.t / 1000).toFixed(0)} s ${event.reason}`] : []));
    expect(reasons.some((reason) => /^(1[5-9]|2[0-4]) s preferred leader \(lowest loadavg\): n2 \(loadavg 0\.6\) over n1 \(loadavg 3\.5\)$/.test(reason)), reasons.join('; ')).toBe(true);
    expect(events.filter((event) => event.type === 'leader' && event.t > 0).map((event) => event.type === 'leader' && event.nodeId)).not.toContain('n5');
  });

  it('measures from the return of the preferred node, and fails a bound shorter than the takeover delay, saying when', () => {
    const scenario: Scenario = {
      name: 'n3 comes back',
      durationMs: 12_000,
      steps: [
        { at: 0, do: { type: 'priority', node: 'n3', priority: 5 } },
        { at: 3_000, do: { type: 'kill', node: 'n3' }, undoAfter: 3_000 },
      ],
      assertions: [{ type: 'priority-leader-within', withinMs: 500 }],
    };
    const { report } = simulateScenario(scenario, 2);
    expect(report.passed).toBe(false);
    expect(report.assertions[0]!.detail.split('; ')).toEqual([
      expect.stringMatching(/^after the recovery at 0\.0 s \(priority of n3 to 5\), n3 led only after \d+ ms$/),
      expect.stringMatching(/^after the recovery at 6\.0 s \(undo: kill n3\), n3 led only after 9\d\d ms$/),
    ]);
    const { report: generous } = simulateScenario({ ...scenario, assertions: [{ type: 'priority-leader-within', withinMs: 1_500 }] }, 2);
    expect(generous.assertions[0]).toMatchObject({ passed: true, detail: expect.stringMatching(/^worst \d+ ms over 2 recoveries$/) });
  });

  it('a priority step undone restores the previous priority; a fault before the takeover cuts the check short', () => {
    const scenario: Scenario = {
      name: 'n2 for a while',
      durationMs: 10_000,
      steps: [
        { at: 2_000, do: { type: 'priority', node: 'n2', priority: 9 }, undoAfter: 4_000 },
        { at: 2_500, do: { type: 'pause', node: 'n4' }, undoAfter: 200 },
      ],
      assertions: [{ type: 'priority-leader-within', withinMs: 2_000 }],
    };
    const { report, events } = simulateScenario(scenario, 4);
    expect(events.filter((event) => event.type === 'priority').map((event) => event.type === 'priority' && [event.nodeId, event.previous, event.priority])).toEqual([
      ['n2', 1, 9],
      ['n2', 9, 1],
    ]);
    expect(report.assertions[0]).toMatchObject({ passed: true, detail: expect.stringContaining('(1 cut short by a later fault)') });
  });
});
