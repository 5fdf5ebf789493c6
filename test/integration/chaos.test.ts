/**
 * Every chaos command of docs/protocol.md over a real socket.io client: acknowledged, carried
 * out, recorded as an event and listed while in force; bad arguments refused, changing nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterEvent, Command, CommandAck } from '../../shared/protocol/types.js';
import { hubWithLeader, waitFor, type TestHub, type connectControl } from './harness.js';

let running: TestHub | null = null;
let client: ReturnType<typeof connectControl> | null = null;

async function setup() {
  const started = await hubWithLeader();
  running = started;
  client = started.client;
  const leader = started.leader;
  const send = (command: Command | Record<string, unknown>): Promise<CommandAck> =>
    client!.socket.timeout(3_000).emitWithAck('command', command as Command);
  const latest = () => client!.latest()!;
  const eventsOf = (type: ClusterEvent['type']) => client!.received.events.filter((event) => event.type === type);
  const node = (id: string) => latest().nodes.find((n) => n.id === id)!;
  const followers = () => latest().nodes.filter((n) => n.id !== leader.id).map((n) => n.id);
  return { runtime: running.runtime, send, latest, eventsOf, node, leader, followers };
}

afterEach(async () => {
  client?.socket.disconnect();
  client = null;
  await running?.stop();
  running = null;
});

describe('pause and resume', () => {
  it('freezes a node, lists it, and thaws it', async () => {
    const { send, node, eventsOf, latest, followers } = await setup();
    const [victim] = followers();
    expect(await send({ type: 'pause', nodeId: victim })).toEqual({ ok: true });
    await waitFor('paused', () => node(victim!).status === 'paused');
    expect(latest().faults.map((f) => f.id)).toContain(`paused:${victim}`);
    expect(eventsOf('pause').map((e) => 'nodeId' in e && e.nodeId)).toEqual([victim]);
    expect(await send({ type: 'resume', nodeId: victim })).toEqual({ ok: true });
    await waitFor('resumed', () => node(victim!).status === 'up');
    expect(latest().faults).toEqual([]);
  });

  it.each([
    [{ type: 'pause', nodeId: 'n99' }, 'unknown node "n99"'],
    [{ type: 'resume', nodeId: 'n1' }, 'n1 is not paused (it is up)'],
    [{ type: 'pause' }, 'pause command.nodeId must be a string'],
  ])('refuses %j', async (command, error) => {
    const { send, latest } = await setup();
    expect(await send(command)).toEqual({ ok: false, error: expect.stringContaining(error) });
    expect(latest().faults).toEqual([]);
  });
});

describe('partitions', () => {
  it('isolating the leader elects a new one in the majority; healing makes the old leader follow', async () => {
    const { send, latest, node, leader, eventsOf } = await setup();
    expect(await send({ type: 'partition', preset: 'isolate-leader' })).toEqual({ ok: true });
    const next = await waitFor('a new leader', () => {
      const current = latest().leader;
      return current && current.id !== leader.id && current;
    });
    expect(next.term).toBeGreaterThan(leader.term);
    expect(latest().network.partition?.label).toBe(`Isolate the leader (${leader.id})`);
    expect(eventsOf('partition')).toHaveLength(1);
    expect(await send({ type: 'heal' })).toEqual({ ok: true });
    await waitFor('old leader following', () => node(leader.id).role === 'follower' && node(leader.id).leaderId === latest().leader?.id);
    expect(latest().network.partition).toBeNull();
    expect(eventsOf('heal').map((e) => 'label' in e && e.label)).toEqual(['every fault']);
  });

  it('splits into groups; nodes left out form a group', async () => {
    const { send, latest } = await setup();
    expect(await send({ type: 'partition', groups: [['n1', 'n2']] })).toEqual({ ok: true });
    await waitFor('partition in snapshot', () => latest().network.partition);
    expect(latest().network.partition).toEqual({ label: 'Partition {n1, n2} | {n3, n4, n5}', groups: [['n1', 'n2'], ['n3', 'n4', 'n5']] });
    expect(latest().network.blocked).toHaveLength(12);
  });

  it.each([
    [{ type: 'partition', groups: [['n1', 'n2'], ['n2', 'n3']] }, 'n2 is in two groups (1 and 2)'],
    [{ type: 'partition', groups: [['n1'], ['n77']] }, 'unknown node "n77"'],
    [{ type: 'partition', groups: [['n1', 'n2', 'n3', 'n4', 'n5']] }, 'a partition needs at least two groups'],
    [{ type: 'partition', preset: 'quarters' }, 'partition command.preset must be one of'],
    [{ type: 'partition', groups: [['n1']], preset: 'bridge' }, 'takes either "groups"'],
  ])('refuses %j', async (command, error) => {
    const { send, latest } = await setup();
    expect(await send(command)).toEqual({ ok: false, error: expect.stringContaining(error) });
    expect(latest().network.partition).toBeNull();
  });
});

describe('links', () => {
  it('a one-way cut from the leader leaves that follower without heartbeats, while its replies still arrive', async () => {
    const { send, latest, node, leader, followers } = await setup();
    const [victim] = followers();
    expect(await send({ type: 'link', from: leader.id, to: victim, cut: true })).toEqual({ ok: true });
    await waitFor('victim stops following', () => node(victim!).role === 'precandidate', 3_000);
    expect(latest().leader?.id).toBe(leader.id);
    expect(node(victim!).term).toBe(leader.term);
    expect(latest().network.links).toEqual([
      { from: leader.id, to: victim, fault: { cut: true, dropProbability: 0, latencyMs: null, jitterMs: null, duplicateProbability: 0 } },
    ]);
    expect(latest().faults.map((f) => f.label)).toEqual([`${leader.id} → ${victim}: cut`]);
    expect(await send({ type: 'link', from: leader.id, to: victim })).toEqual({ ok: true });
    await waitFor('victim follows again', () => node(victim!).leaderId === leader.id);
  });

  it('sets loss, latency with jitter and duplication on every link, and lists them', async () => {
    const { send, latest, eventsOf } = await setup();
    expect(await send({ type: 'link', dropProbability: 0.1, latencyMs: 20, jitterMs: 5, duplicateProbability: 0.2 })).toEqual({ ok: true });
    await waitFor('listed', () => latest().faults.length === 1);
    expect(latest().faults[0]!.label).toBe('all links: 10% loss, 20±5 ms, 20% duplicated');
    expect(eventsOf('link')).toHaveLength(1);
    expect(await send({ type: 'heal', faultId: 'link:*' })).toEqual({ ok: true });
    await waitFor('cleared', () => latest().faults.length === 0);
  });

  it.each([
    [{ type: 'link', latencyMs: -10 }, 'link command.latencyMs must be between 0 and 10000 (got -10)'],
    [{ type: 'link', dropProbability: 2 }, 'link command.dropProbability must be between 0 and 1 (got 2)'],
    [{ type: 'link', duplicateProbability: -0.5 }, 'link command.duplicateProbability must be between 0 and 1'],
    [{ type: 'link', from: 'n1', to: 'n1', cut: true }, 'a link joins two different nodes'],
    [{ type: 'link', from: 'n0', cut: true }, 'unknown node "n0"'],
    [{ type: 'link', cut: 1 }, 'link command.cut must be true or false'],
  ])('refuses %j', async (command, error) => {
    const { send, latest } = await setup();
    expect(await send(command)).toEqual({ ok: false, error: expect.stringContaining(error) });
    expect(latest().network.links).toEqual([]);
  });
});

describe('heal', () => {
  it('heal all undoes every kind of fault at once; a fault can also be undone alone', async () => {
    const { send, latest, node } = await setup();
    await send({ type: 'kill', nodeId: 'n1' });
    await send({ type: 'pause', nodeId: 'n2' });
    await send({ type: 'partition', groups: [['n3']] });
    await send({ type: 'link', from: 'n4', to: 'n5', cut: true });
    await waitFor('four faults', () => latest().faults.length === 4);
    expect(await send({ type: 'heal', faultId: 'paused:n2' })).toEqual({ ok: true });
    await waitFor('n2 resumed', () => node('n2').status === 'up');
    expect(await send({ type: 'heal', faultId: 'nothing-like-this' })).toEqual({ ok: false, error: 'no active fault "nothing-like-this"' });
    expect(await send({ type: 'heal' })).toEqual({ ok: true });
    await waitFor('all healed', () => latest().faults.length === 0 && latest().nodes.every((n) => n.status === 'up'));
    await waitFor('one leader followed by all', () => {
      const lead = latest().leader;
      return lead && latest().nodes.every((n) => n.leaderId === lead.id);
    });
  });
});

describe('clock', () => {
  it('freezes cluster time, then runs it in slow motion', async () => {
    const { send, latest, runtime } = await setup();
    expect(await send({ type: 'clock', speed: 0 })).toEqual({ ok: true });
    await waitFor('frozen', () => latest().clockSpeed === 0);
    const frozenAt = runtime.cluster.now();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runtime.cluster.now()).toBe(frozenAt);
    expect(await send({ type: 'clock', speed: 0.1 })).toEqual({ ok: true });
    const wallStart = performance.now();
    const clusterStart = runtime.cluster.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ratio = (runtime.cluster.now() - clusterStart) / (performance.now() - wallStart);
    expect(ratio).toBeGreaterThan(0.05);
    expect(ratio).toBeLessThan(0.15);
    expect(latest().clockSpeed).toBe(0.1);
  });

  it.each([
    [{ type: 'clock', speed: 3 }, 'clock command.speed must be between 0 and 1'],
    [{ type: 'clock', speed: -1 }, 'clock command.speed must be between 0 and 1'],
  ])('refuses %j', async (command, error) => {
    const { send } = await setup();
    expect(await send(command)).toEqual({ ok: false, error: expect.stringContaining(error) });
  });
});

describe('transfer', () => {
  it('hands Raft leadership to the chosen node', async () => {
    const { send, latest, leader, followers, eventsOf } = await setup();
    const [target] = followers();
    expect(await send({ type: 'transfer', nodeId: target })).toEqual({ ok: true });
    await waitFor('target leads', () => latest().leader?.id === target);
    expect(latest().leader!.term).toBeGreaterThan(leader.term);
    expect(eventsOf('transfer')).toEqual([expect.objectContaining({ from: leader.id, to: target })]);
  });

  it.each([
    ['the leader itself', (leader: string) => leader, 'already leads'],
    ['an unknown node', () => 'n42', 'unknown node "n42"'],
  ])('refuses a transfer to %s', async (_what, pick, error) => {
    const { send, leader } = await setup();
    expect(await send({ type: 'transfer', nodeId: pick(leader.id) })).toEqual({ ok: false, error: expect.stringContaining(error) });
  });
});

describe('configure', () => {
  it('restarts the cluster with another algorithm and size; clients get the new run from the start', async () => {
    const { send, latest } = await setup();
    const received = client!.received;
    expect(await send({ type: 'configure', algorithm: 'bully', nodes: 7, config: { heartbeatMs: 40 } })).toEqual({ ok: true });
    await waitFor('a bully snapshot', () => latest().algorithm === 'bully' && latest());
    expect(latest().nodes).toHaveLength(7);
    expect(latest().config.heartbeatMs).toBe(40);
    // A second history, of the new run: it starts over at seq 1 and only knows the new nodes.
    expect(received.order.filter((kind) => kind === 'history')).toHaveLength(2);
    expect(received.history!.every((event) => !('nodeId' in event) || ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'].includes(event.nodeId))).toBe(true);
    expect(received.history!.length === 0 || received.history![0]!.seq === 1).toBe(true);
    await waitFor('n7 coordinates', () => latest().leader?.id === 'n7');
    expect(await send({ type: 'transfer', nodeId: 'n3' })).toEqual({ ok: false, error: expect.stringContaining('highest-ranked running node') });
  });

  it.each([
    [{ type: 'configure', nodes: 102 }, 'a cluster has 1 to 101 nodes (got 102)'],
    [{ type: 'configure', config: { heartbeatMs: 400 } }, 'must be greater than the heartbeat interval'],
    [{ type: 'configure', algorithm: 'raft2' }, 'configure command.algorithm must be one of raft, bully, paxos'],
  ])('refuses %j and keeps the cluster', async (command, error) => {
    const { send, latest, leader } = await setup();
    expect(await send(command)).toEqual({ ok: false, error: expect.stringContaining(error) });
    expect(latest().nodes).toHaveLength(5);
    expect(latest().leader?.id).toBe(leader.id);
  });
});
