/**
 * Scenarios on real clusters, through /control as the dashboard sends them: `serve --processes 3`
 * (agents, each under its supervisor) and `serve --etcd-playground 3`. A scenario that kills the
 * leader and brings it back passes on both, with the same report and timeline as on the embedded
 * cluster; a step a target cannot carry out is refused before the scenario starts, naming it.
 * Each cluster starts once for this file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import type { Scenario } from '../../shared/scenario/format.js';
import { ETCD_BIN, ETCD_SKIP_REASON } from '../support/etcd.js';
import { BUILT_CLI, startBuilt, stopProcess, type RunningServer } from '../support/processes.js';
import { connectControl, connected, waitFor } from './harness.js';

const KILL_THE_LEADER: Scenario = {
  name: 'kill the leader',
  durationMs: 5_000,
  steps: [{ at: 500, do: { type: 'kill', node: 'leader' }, undoAfter: 2_000 }],
  assertions: [{ type: 'no-safety-violation' }, { type: 'leader-within', after: 'fault', withinMs: 3_000 }],
};

type ScenarioEvent = Extract<ClusterEvent, { type: 'scenario' }>;

/** Serves `args` once for the describe block; the control client and the process go at its end. */
function served(args: () => string[]) {
  let server: RunningServer | null = null;
  let control: ReturnType<typeof connectControl> | null = null;
  beforeAll(async () => {
    server = await startBuilt(BUILT_CLI, ['serve', '--port', '0', ...args()]);
    control = connectControl(server.url);
    await connected(control.socket);
    // A leader that a majority follows, as the run's analysis counts it.
    const majority = (events: ClusterEvent[] | null): boolean => (events ?? []).some((event) => event.type === 'quorum' && event.leaderId !== null);
    await waitFor('a leader a majority follows', () => majority(control!.received.history) || majority(control!.received.events), 30_000);
  }, 60_000);
  afterAll(async () => {
    control?.socket.disconnect();
    if (server !== null) await stopProcess(server.process);
  });
  return () => control!;
}

async function runToTheEnd(control: ReturnType<typeof connectControl>, scenario: Scenario): Promise<ScenarioEvent> {
  expect(await control.socket.timeout(5_000).emitWithAck('command', { type: 'scenario', action: 'run', scenario })).toEqual({ ok: true });
  await waitFor('its progress in the snapshot', () => control.latest()?.scenario?.name === scenario.name);
  return (await waitFor('the report', () => control.received.events.find((event) => event.type === 'scenario' && event.name === scenario.name && event.status === 'finished'), scenario.durationMs + 10_000)) as ScenarioEvent;
}

function expectKilledAndBack(report: NonNullable<ScenarioEvent['report']>, events: ClusterEvent[]): void {
  expect(report.steps.map((step) => [step.label, step.ok])).toEqual([
    ['kill leader', true],
    ['undo: kill leader', true],
  ]);
  expect(report.assertions.map((assertion) => assertion.passed)).toEqual([true, true]);
  expect(report.passed).toBe(true);
  expect(report.metrics.failovers).toBe(1);
  expect(report.metrics.safetyViolations).toBe(0);
  // The timeline has the kill, the restart and the new leader, inside the scenario's window.
  const start = events.findIndex((event) => event.type === 'scenario' && event.status === 'started');
  const within = events.slice(start);
  const kill = within.find((event) => event.type === 'kill');
  expect(kill).toBeDefined();
  expect(within.some((event) => event.type === 'restart' && event.nodeId === (kill as Extract<ClusterEvent, { type: 'kill' }>).nodeId)).toBe(true);
  expect(within.some((event) => event.type === 'leader' && event.nodeId !== (kill as Extract<ClusterEvent, { type: 'kill' }>).nodeId)).toBe(true);
}

describe('a scenario on agent processes (serve --processes 3)', () => {
  const control = served(() => ['--processes', '3']);

  it('kills the leader through its supervisor, brings it back, and passes with a report', async () => {
    const finished = await runToTheEnd(control(), KILL_THE_LEADER);
    expectKilledAndBack(finished.report!, control().received.events);
    await waitFor('every agent running again', () => control().latest()?.nodes.every((node) => node.status === 'up'));
  }, 30_000);

  it('refuses before it starts a scenario with a step agents cannot do, naming the step and why', async () => {
    const scenario: Scenario = { ...KILL_THE_LEADER, name: 'raise a priority', steps: [...KILL_THE_LEADER.steps, { at: 1_000, do: { type: 'priority', node: 'follower', priority: 500 } }] };
    expect(await control().socket.timeout(5_000).emitWithAck('command', { type: 'scenario', action: 'run', scenario })).toEqual({
      ok: false,
      error: expect.stringMatching(/^step 2 of "raise a priority", .*cannot run on this cluster: A real cluster's priorities and leadership rules are in its cluster file/),
    });
    expect(control().received.events.some((event) => event.type === 'scenario' && event.name === scenario.name)).toBe(false);
  });
});

describe.skipIf(ETCD_SKIP_REASON !== null)('a scenario on an etcd playground (serve --etcd-playground 3)', () => {
  const control = served(() => ['--etcd-playground', '3', '--etcd-bin', ETCD_BIN!]);

  it('kills the leader member, restarts it, and passes with a report', async () => {
    const finished = await runToTheEnd(control(), KILL_THE_LEADER);
    expectKilledAndBack(finished.report!, control().received.events);
  }, 30_000);

  it('refuses before it starts a scenario whose link step would lose packets, naming the step and why', async () => {
    const scenario: Scenario = { ...KILL_THE_LEADER, name: 'lossy link', steps: [{ at: 100, do: { type: 'link', from: 'leader', dropProbability: 0.2 }, undoAfter: 500 }] };
    expect(await control().socket.timeout(5_000).emitWithAck('command', { type: 'scenario', action: 'run', scenario })).toEqual({
      ok: false,
      error: expect.stringMatching(/^step 1 of "lossy link", .*cannot run on this cluster: etcd's members talk over TCP streams/),
    });
  });
});
