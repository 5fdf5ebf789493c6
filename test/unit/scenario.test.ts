/** Scenarios: the format's validation, and the runner on the simulator (reproducible from a seed). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario, stepTimes, type Scenario } from '../../shared/scenario/format.js';
import { SCENARIO_PRESETS } from '../../shared/scenario/presets.js';
import { simulateScenario } from '../../electron/scenario/simulate.js';

const BASE: Scenario = {
  name: 'test',
  durationMs: 20_000,
  steps: [{ every: 5_000, from: 2_000, do: { type: 'kill', node: 'leader' }, undoAfter: 2_000 }],
  assertions: [{ type: 'no-safety-violation' }, { type: 'leader-within', after: 'fault', withinMs: 1_000 }],
};

describe('scenario format', () => {
  it('accepts the bundled presets and the documented example', () => {
    for (const preset of Object.values(SCENARIO_PRESETS)) expect(parseScenario(JSON.parse(JSON.stringify(preset)))).toEqual(preset);
    const example = JSON.parse(readFileSync(new URL('../../docs/scenarios/leader-churn.json', import.meta.url), 'utf8'));
    expect(parseScenario(example).steps).toHaveLength(3);
  });

  it.each([
    [{ ...BASE, durationMs: 10 }, 'scenario.durationMs must be between 1000 and 3600000'],
    [{ ...BASE, steps: [{ do: { type: 'kill', node: 'leader' } }] }, 'scenario.steps[0] needs either "at" (once) or "every" (repeated)'],
    [{ ...BASE, steps: [{ at: 1, every: 200, do: { type: 'heal' } }] }, 'needs either "at" (once) or "every"'],
    [{ ...BASE, steps: [{ at: 30_000, do: { type: 'heal' } }] }, 'scenario.steps[0].at must be between 0 and 20000'],
    [{ ...BASE, steps: [{ at: 1, do: { type: 'kill', node: 'n 1' } }] }, 'must be a node id like "n3"'],
    [{ ...BASE, steps: [{ at: 1, do: { type: 'transfer', node: 'n2' }, undoAfter: 10 }] }, 'undoAfter does not apply to transfer'],
    [{ ...BASE, steps: [{ at: 1, do: { type: 'link', dropProbability: 3 } }] }, 'scenario.steps[0].do.dropProbability must be between 0 and 1'],
    [{ ...BASE, steps: [{ every: 100, do: { type: 'heal' } }], durationMs: 3_600_000 }, 'its steps would run 36000 times; at most 10000'],
    [{ ...BASE, assertions: [{ type: 'leader-within', after: 'lunch', withinMs: 5 }] }, 'scenario.assertions[0].after must be one of fault, heal'],
    [{ ...BASE, cluster: { nodes: 102 } }, 'scenario.cluster.nodes must be between 1 and 101'],
    [{ ...BASE, cluster: { config: { heartbeatMs: 'fast' } } }, 'scenario.cluster.config.heartbeatMs must be an integer'],
    [{ ...BASE, colour: 'red' }, 'scenario has an unknown field "colour"'],
  ])('refuses %#: %s', (scenario, error) => {
    expect(() => parseScenario(scenario)).toThrow(error);
  });

  it('computes when repeated steps run', () => {
    expect(stepTimes({ every: 5_000, from: 2_000, do: { type: 'heal' } }, 20_000)).toEqual([2_000, 7_000, 12_000, 17_000]);
    expect(stepTimes({ every: 5_000, until: 11_000, do: { type: 'heal' } }, 20_000)).toEqual([0, 5_000, 10_000]);
    expect(stepTimes({ at: 3_000, do: { type: 'heal' } }, 20_000)).toEqual([3_000]);
  });
});

describe('scenario runner on the simulator', () => {
  it('kills the leader on schedule, undoes it, and reports assertions and metrics', () => {
    const { report, events } = simulateScenario(BASE, 3);
    expect(report.passed).toBe(true);
    expect(report.steps.map((step) => [step.t, step.label, step.ok])).toEqual([
      [2_000, 'kill leader', true],
      [4_000, 'undo: kill leader', true],
      [7_000, 'kill leader', true],
      [9_000, 'undo: kill leader', true],
      [12_000, 'kill leader', true],
      [14_000, 'undo: kill leader', true],
      [17_000, 'kill leader', true],
      [19_000, 'undo: kill leader', true],
    ]);
    expect(report.metrics.failovers).toBe(4);
    expect(report.metrics.safetyViolations).toBe(0);
    expect(report.assertions.map((a) => a.passed)).toEqual([true, true]);
    expect(report.assertions[1]!.detail).toMatch(/^worst \d+ ms over 4 faults$/);
    expect(events.filter((event) => event.type === 'kill')).toHaveLength(4);
    expect(events.filter((event) => event.type === 'scenario').map((event) => 'status' in event && event.status)).toEqual(['started', 'finished']);
    expect(events.findLast((event) => event.type === 'scenario')).toMatchObject({ status: 'finished', report: { passed: true } });
  });

  it('the same seed gives the same report; another seed another', () => {
    const first = simulateScenario(SCENARIO_PRESETS['flapping-halves']!, 11).report;
    expect(simulateScenario(SCENARIO_PRESETS['flapping-halves']!, 11).report).toEqual(first);
    expect(simulateScenario(SCENARIO_PRESETS['flapping-halves']!, 12).report).not.toEqual(first);
  });

  it('fails assertions that do not hold, saying by how much', () => {
    const { report } = simulateScenario(
      {
        ...BASE,
        assertions: [
          { type: 'leader-within', after: 'fault', withinMs: 1 },
          { type: 'availability-above', ratio: 1 },
          { type: 'failover-p99-below', ms: 2 },
        ],
      },
      3,
    );
    expect(report.passed).toBe(false);
    expect(report.assertions.map((a) => a.passed)).toEqual([false, false, false]);
    expect(report.assertions[0]!.detail).toMatch(/after the fault at 2\.0 s it took \d+ ms/);
    expect(report.assertions[1]!.detail).toMatch(/^\d+\.\d\d%$/);
  });

  it('notes steps that cannot apply without failing the run', () => {
    const { report } = simulateScenario(
      { ...BASE, steps: [{ at: 1_000, do: { type: 'resume', node: 'n2' } }, { at: 2_000, do: { type: 'kill', node: 'n7' } }], assertions: [] },
      1,
    );
    expect(report.steps).toEqual([
      { t: 1_000, label: 'resume n2', ok: false, note: 'n2 is not paused (it is up)' },
      { t: 2_000, label: 'kill n7', ok: false, note: 'unknown node "n7"' },
    ]);
    expect(report.passed).toBe(true);
  });

  it('runs on the algorithm and size it names', () => {
    const { algorithm, nodes, report } = simulateScenario({ ...BASE, cluster: { algorithm: 'paxos', nodes: 7 } }, 5);
    expect([algorithm, nodes, report.passed]).toEqual(['paxos', 7, true]);
  });

  it('undoes the faults it set that are still in force when it ends, and says which', () => {
    const scenario: Scenario = {
      ...BASE,
      durationMs: 6_000,
      steps: [
        { at: 1_000, do: { type: 'kill', node: 'n2' } },
        { at: 1_500, do: { type: 'link', from: 'n3', to: 'n4', cut: true } },
        { at: 2_000, do: { type: 'pause', node: 'n5' }, undoAfter: 1_000 },
      ],
      assertions: [],
    };
    const { report, events } = simulateScenario(scenario, 4);
    expect(report.undone).toEqual(['n2 down', 'n3 → n4: cut']);
    expect(report.kept).toEqual([]);
    const end = events.findIndex((event) => event.type === 'scenario' && event.status === 'finished');
    expect(events.slice(0, end).filter((event) => event.type === 'heal').map((event) => 'faultId' in event && event.faultId)).toEqual(['down:n2', 'link:n3->n4']);
  });

  it('keeps its faults when it says so', () => {
    const { report } = simulateScenario({ ...BASE, durationMs: 3_000, keepFaults: true, steps: [{ at: 1_000, do: { type: 'kill', node: 'n2' } }], assertions: [] }, 4);
    expect([report.undone, report.kept]).toEqual([[], ['n2 down']]);
  });
});
