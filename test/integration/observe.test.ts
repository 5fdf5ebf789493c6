/**
 * What the hub lets people see: message batches with timers, node inspection, /metrics in
 * Prometheus' format, the exported run (and that importing it gives back the same analysis),
 * and scenarios run on the live cluster with their progress and report.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { RunAnalysis } from '../../shared/analysis/run.js';
import type { MessageBatch } from '../../shared/protocol/messages.js';
import { parseRun } from '../../shared/protocol/run-file.js';
import type { ClusterEvent, InspectAck } from '../../shared/protocol/types.js';
import type { Scenario } from '../../shared/scenario/format.js';
import { hubWithLeader, waitFor, type TestHub, type connectControl } from './harness.js';

let running: TestHub | null = null;
let client: ReturnType<typeof connectControl> | null = null;

async function setup(token: string | null = null) {
  const started = await hubWithLeader(token === null ? {} : { token, clientToken: token });
  running = started;
  client = started.client;
  const leader = started.leader;
  return { hub: running.hub, runtime: running.runtime, socket: client.socket, received: client.received, latest: client.latest, leader };
}

afterEach(async () => {
  client?.socket.disconnect();
  client = null;
  await running?.stop();
  running = null;
});

describe('message batches', () => {
  it('stream heartbeats, replies and votes with their timing, and the running election timers', async () => {
    const { socket, leader } = await setup();
    const batches: MessageBatch[] = [];
    socket.on('messages', (batch) => batches.push(batch));
    await waitFor('a few batches', () => batches.length >= 3);
    const messages = batches.flatMap((batch) => batch.messages);
    const heartbeat = messages.find((m) => m.kind === 'Heartbeat')!;
    expect(heartbeat).toMatchObject({ from: leader.id, category: 'heartbeat', duplicate: false });
    expect(heartbeat.deliverT! - heartbeat.sentT).toBeGreaterThan(0);
    expect(messages.some((m) => m.kind === 'HeartbeatResp' && m.category === 'ack' && m.to === leader.id)).toBe(true);
    const timers = batches.at(-1)!.timers;
    expect(timers.map((timer) => timer.id).sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5'].filter((id) => id !== leader.id));
    for (const timer of timers) expect(timer.dueAt).toBeGreaterThan(timer.startedAt);
  });
});

describe('inspect', () => {
  it("returns everything a node knows: its view, internals, persisted state", async () => {
    const { socket, leader } = await setup();
    const ack = (await socket.timeout(2_000).emitWithAck('inspect', leader.id)) as InspectAck;
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    expect(ack.node.view).toMatchObject({ id: leader.id, role: 'leader', term: leader.term });
    expect(ack.node.internals).toMatchObject({ preVote: true, checkQuorum: true, leaseActive: true });
    expect(Object.keys(ack.node.internals!.lastContactMsAgo as object).sort()).toHaveLength(4);
    expect(ack.node.durable).toEqual({ term: leader.term, votedFor: leader.id });
  });

  it.each([
    ['n9', 'unknown node "n9"'],
    [42, 'inspect nodeId must be a string'],
  ])('refuses %j', async (nodeId, error) => {
    const { socket } = await setup();
    const ack = (await socket.timeout(2_000).emitWithAck('inspect', nodeId as string)) as InspectAck;
    expect(ack).toEqual({ ok: false, error: expect.stringContaining(error) });
  });
});

describe('/metrics', () => {
  it("serves Prometheus' text format with etcd-like names that follow the cluster", async () => {
    const { hub, socket, leader, latest } = await setup();
    await socket.emitWithAck('command', { type: 'kill', nodeId: leader.id });
    await waitFor('a new leader', () => latest()?.leader && latest()!.leader!.id !== leader.id);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const response = await fetch(new URL('/metrics', hub.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(text).toContain('# TYPE conclave_leader_changes_seen_total counter');
    expect(value('conclave_has_leader')).toBe(1);
    expect(value('conclave_leader_changes_seen_total')).toBe(2);
    expect(value('conclave_failovers_total')).toBe(1);
    // A crash hint reaches the peers a network delay (2 ms) after the kill: no failover is faster.
    expect(value('conclave_last_failover_seconds')).toBeGreaterThan(0.002);
    expect(value('conclave_last_failover_seconds')).toBeLessThan(2);
    expect(text).toMatch(/^conclave_failover_seconds\{quantile="0\.99"\} [\d.]+$/m);
    expect(text).toMatch(/^conclave_messages_sent_total\{kind="Heartbeat"\} \d+$/m);
    expect(text).toMatch(/^conclave_nodes\{status="down"\} 1$/m);
    expect(text).toMatch(/^conclave_info\{algorithm="raft",nodes="5"\} 1$/m);
  });

  it('asks for the token when the hub has one', async () => {
    const { hub } = await setup('metrics-token-1');
    expect((await fetch(new URL('/metrics', hub.url))).status).toBe(401);
    expect((await fetch(new URL('/metrics?token=metrics-token-1', hub.url))).status).toBe(200);
    expect((await fetch(new URL('/metrics', hub.url), { headers: { Authorization: 'Bearer metrics-token-1' } })).status).toBe(200);
    // RFC 7235: the scheme is case-insensitive, and the space before the credentials may be more than one.
    expect((await fetch(new URL('/metrics', hub.url), { headers: { Authorization: 'bearer metrics-token-1' } })).status).toBe(200);
    expect((await fetch(new URL('/export.jsonl', hub.url), { headers: { Authorization: 'BEARER   metrics-token-1' } })).status).toBe(200);
    expect((await fetch(new URL('/export.jsonl', hub.url), { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
  });
});

describe('export', () => {
  it('exports the run as JSON Lines that import back to the same analysis', async () => {
    const { hub, socket, leader, latest, received } = await setup();
    await socket.emitWithAck('command', { type: 'partition', preset: 'isolate-leader' });
    await waitFor('a new leader', () => latest()?.leader && latest()!.leader!.id !== leader.id);
    await socket.emitWithAck('command', { type: 'heal' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const response = await fetch(new URL('/export.jsonl', hub.url));
    expect(response.headers.get('content-disposition')).toMatch(/attachment; filename="conclave-raft-.*\.jsonl"/);
    const run = parseRun(await response.text());
    expect(run.header).toMatchObject({ format: 'conclave-run', version: 1, algorithm: 'raft', members: ['n1', 'n2', 'n3', 'n4', 'n5'] });
    expect(run.messages.length).toBeGreaterThan(10);
    const live = [...(received.history ?? []), ...received.events];
    const exportedSeqs = new Set(run.events.map((event) => event.seq));
    for (const event of live.filter((e: ClusterEvent) => e.seq <= run.events.at(-1)!.seq)) expect(exportedSeqs.has(event.seq)).toBe(true);
    const analyze = (events: ClusterEvent[]) => {
      const analysis = new RunAnalysis({ members: run.header.members, singleLeaderPerTerm: ALGORITHM_INFO.raft.singleLeaderPerTerm });
      for (const event of events) analysis.observe(event);
      return analysis;
    };
    const imported = analyze(run.events);
    const original = analyze(live.filter((event) => event.seq <= run.events.at(-1)!.seq));
    expect(imported.leadership).toEqual(original.leadership);
    expect(imported.gaps).toEqual(original.gaps);
    expect(imported.faults).toEqual(original.faults);
    expect(imported.metrics()).toEqual(original.metrics());
    expect(imported.faults.map((fault) => fault.kind)).toContain('partition');
  });
});

describe('scenarios on the live cluster', () => {
  const SHORT: Scenario = {
    name: 'kill the leader twice',
    durationMs: 3_000,
    steps: [{ every: 1_000, from: 500, until: 2_000, do: { type: 'kill', node: 'leader' }, undoAfter: 400 }],
    assertions: [{ type: 'no-safety-violation' }, { type: 'leader-within', after: 'fault', withinMs: 2_000 }],
  };

  it('runs with progress in the snapshot and ends with a report event', async () => {
    const { socket, latest, received } = await setup();
    expect(await socket.emitWithAck('command', { type: 'scenario', action: 'run', scenario: SHORT })).toEqual({ ok: true });
    const progress = await waitFor('progress', () => latest()?.scenario);
    expect(progress).toMatchObject({ name: SHORT.name, durationMs: 3_000 });
    expect(await socket.emitWithAck('command', { type: 'scenario', action: 'run', scenario: SHORT })).toEqual({
      ok: false,
      error: 'the scenario "kill the leader twice" is still running; stop it first',
    });
    const finished = await waitFor('the report', () => received.events.find((e) => e.type === 'scenario' && e.status === 'finished'), 8_000);
    const report = (finished as Extract<ClusterEvent, { type: 'scenario' }>).report!;
    expect(report.passed).toBe(true);
    expect(report.steps.filter((step) => step.ok).map((step) => step.label)).toEqual(['kill leader', 'undo: kill leader', 'kill leader', 'undo: kill leader']);
    expect(report.metrics.failovers).toBe(2);
    await waitFor('no scenario in the snapshot', () => latest()?.scenario === null);
  });

  it('stops on request, and refuses a malformed scenario with the field at fault', async () => {
    const { socket, received } = await setup();
    expect(await socket.emitWithAck('command', { type: 'scenario', action: 'stop' })).toEqual({ ok: false, error: 'no scenario is running' });
    const bad = { ...SHORT, steps: [{ at: 100, do: { type: 'kill', node: 'every one' } }] };
    expect(await socket.emitWithAck('command', { type: 'scenario', action: 'run', scenario: bad as unknown as Scenario })).toEqual({
      ok: false,
      error: expect.stringContaining('scenario.steps[0].do.node must be a node id like "n3" (a member\'s id: 1 to 64 letters, digits, dots, dashes or underscores) or one of leader, follower, random'),
    });
    // A well-formed id that is no member of this cluster is refused before the scenario starts.
    const stranger = { ...SHORT, steps: [...SHORT.steps, { at: 100, do: { type: 'pause', node: 'db1' } }] } as Scenario;
    expect(await socket.emitWithAck('command', { type: 'scenario', action: 'run', scenario: stranger })).toEqual({
      ok: false,
      error: 'step 2 of "kill the leader twice", pause db1, names "db1", which is not a member of this cluster (n1 to n5)',
    });
    await socket.emitWithAck('command', { type: 'scenario', action: 'run', scenario: { ...SHORT, durationMs: 60_000 } });
    expect(await socket.emitWithAck('command', { type: 'scenario', action: 'stop' })).toEqual({ ok: true });
    const stopped = await waitFor('stopped', () => received.events.find((e) => e.type === 'scenario' && e.status === 'stopped'));
    expect((stopped as Extract<ClusterEvent, { type: 'scenario' }>).report).toMatchObject({ passed: false, stopped: true });
  });
});
