/**
 * Priorities, capabilities and the preferred-leader rule over `/control` (docs/protocol.md): the
 * commands and their refusals, the snapshot's fields, the events (recorded, validated, replayed),
 * and what the embedded cluster does with them in every algorithm.
 */
import { describe, expect, it } from 'vitest';
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, type AlgorithmName } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { parseCommand } from '../../shared/protocol/commands.js';
import { parseClusterEvent } from '../../shared/protocol/events.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { Cluster } from '../../electron/targets/embedded/cluster.js';
import { ClusterModel } from '../../electron/targets/model/model.js';
import { EmbeddedTarget } from '../../electron/targets/embedded/embedded.js';
import { formatEvent } from '../../electron/sim/trace.js';

const RULE = { capability: 'loadavg', prefer: 'lowest', margin: 0.5, stableMs: 3_000 } as const;

describe('the commands', () => {
  it.each([
    [{ type: 'priority', nodeId: 'n1', priority: 0 }],
    [{ type: 'priority', nodeId: 'n2', priority: 1_000 }],
    [{ type: 'capabilities', nodeId: 'n3', capabilities: { loadavg: 0.4, zone: 'a', ssd: true } }],
    [{ type: 'capabilities', nodeId: 'n3', capabilities: {} }],
    [{ type: 'leadership', takeoverAfterMs: 2_000 }],
    [{ type: 'leadership', takeoverAfterMs: null, preferredLeader: null }],
    [{ type: 'leadership', preferredLeader: RULE }],
  ])('accepts %j', (command) => {
    expect(parseCommand(command)).toEqual(command);
  });

  it('fills in the margin and the stable period of a rule', () => {
    expect(parseCommand({ type: 'leadership', preferredLeader: { capability: 'freememMb', prefer: 'highest' } })).toEqual({
      type: 'leadership',
      preferredLeader: { capability: 'freememMb', prefer: 'highest', margin: 0, stableMs: 10_000 },
    });
  });

  it.each([
    [{ type: 'priority', nodeId: 'n1' }, 'priority command.priority must be an integer (got undefined)'],
    [{ type: 'priority', nodeId: 'n1', priority: 1_001 }, 'priority command.priority must be between 0 and 1000 (got 1001)'],
    [{ type: 'priority', nodeId: 'n1', priority: 1.5 }, 'priority command.priority must be an integer'],
    [{ type: 'capabilities', nodeId: 'n1', capabilities: [1] }, 'capabilities command.capabilities must be an object of facts'],
    [{ type: 'capabilities', nodeId: 'n1', capabilities: { '1st': 1 } }, 'capabilities command.capabilities key "1st" must be a name of letters'],
    [{ type: 'capabilities', nodeId: 'n1', capabilities: { zone: null } }, 'capabilities command.capabilities.zone must be a number, a boolean or a string (got null)'],
    [{ type: 'capabilities', nodeId: 'n1', capabilities: { zone: 'x'.repeat(65) } }, 'capabilities command.capabilities.zone must be at most 64 characters'],
    [{ type: 'capabilities', nodeId: 'n1', capabilities: { load: Number.POSITIVE_INFINITY } }, 'capabilities command.capabilities.load must be a finite number'],
    [
      { type: 'capabilities', nodeId: 'n1', capabilities: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])) },
      'capabilities command.capabilities has 17 capabilities; at most 16',
    ],
    [{ type: 'leadership' }, 'leadership command changes "takeoverAfterMs"'],
    [{ type: 'leadership', takeoverAfterMs: 0 }, 'leadership command.takeoverAfterMs must be between 1 and 3600000 (got 0)'],
    [{ type: 'leadership', preferredLeader: { capability: 'loadavg', prefer: 'least' } }, 'leadership command.preferredLeader.prefer must be one of lowest, highest'],
    [{ type: 'leadership', preferredLeader: { capability: 'loadavg', prefer: 'lowest', margin: -1 } }, 'leadership command.preferredLeader.margin must be between 0'],
    [{ type: 'leadership', preferredLeader: { capability: 'loadavg', prefer: 'lowest', hysteresis: 1 } }, 'leadership command.preferredLeader has an unknown field "hysteresis"'],
  ])('refuses %j: %s', (payload, reason) => {
    expect(() => parseCommand(payload)).toThrow(reason);
  });
});

function seeded(algorithm: AlgorithmName, seed = 3) {
  const clock = new VirtualClock();
  const cluster = new Cluster({ algorithm, nodeCount: 5, config: DEFAULT_ELECTION_CONFIG, seed, clock });
  const events: ClusterEvent[] = [];
  cluster.subscribe({ onEvent: (event) => events.push(event) });
  cluster.start();
  const run = (ms: number): void => {
    clock.runUntil(clock.now() + ms);
  };
  return { clock, cluster, events, run, leader: () => cluster.snapshot().leader?.id ?? null };
}

describe('the embedded cluster', () => {
  it('shows every node with its priority and capabilities, and the rules in force, in the snapshot', () => {
    const { cluster, run } = seeded('raft');
    run(1_000);
    expect(cluster.execute({ type: 'capabilities', nodeId: 'n2', capabilities: { zone: 'b', loadavg: 0.2 } })).toEqual({ ok: true });
    expect(cluster.execute({ type: 'priority', nodeId: 'n4', priority: 0 })).toEqual({ ok: true });
    const snapshot = cluster.snapshot();
    expect(snapshot.nodes.map((node) => [node.id, node.priority])).toEqual([['n1', 1], ['n2', 1], ['n3', 1], ['n4', 0], ['n5', 1]]);
    expect(snapshot.nodes[1]!.capabilities).toEqual({ zone: 'b', loadavg: 0.2 });
    expect(snapshot.leadership).toEqual({ takeoverAfterMs: 900, preferredLeader: null });
    expect(cluster.execute({ type: 'leadership', takeoverAfterMs: 5_000, preferredLeader: RULE })).toEqual({ ok: true });
    expect(cluster.snapshot().leadership).toEqual({ takeoverAfterMs: 5_000, preferredLeader: RULE });
  });

  it('refuses unknown nodes, changing nothing', () => {
    const { cluster, events } = seeded('raft');
    const before = events.length;
    expect(cluster.execute({ type: 'priority', nodeId: 'n9', priority: 2 })).toEqual({ ok: false, error: 'unknown node "n9" (nodes are n1 to n5)' });
    expect(cluster.execute({ type: 'capabilities', nodeId: 'n9', capabilities: {} })).toMatchObject({ ok: false });
    expect(events.length).toBe(before);
  });

  it.each(['raft', 'paxos'] as const)('%s: raising a follower above the leader hands leadership to it, and the event says why', (algorithm) => {
    const { cluster, events, run, leader } = seeded(algorithm);
    run(2_000);
    const old = leader()!;
    const preferred = cluster.members.find((id) => id !== old)!;
    expect(cluster.execute({ type: 'priority', nodeId: preferred, priority: 3 })).toEqual({ ok: true });
    run(900 + 500);
    expect(leader()).toBe(preferred);
    const transfer = events.find((event) => event.type === 'transfer');
    expect(transfer).toMatchObject({ from: old, to: preferred, reason: `priority takeover: ${preferred} (priority 3) over ${old} (priority 1)` });
    expect(events.find((event) => event.type === 'priority')).toMatchObject({ nodeId: preferred, priority: 3, previous: 1 });
  });

  it.each(ALGORITHMS)('%s: a leader set to priority 0 gives leadership up at once, and never gets it back', (algorithm) => {
    const { cluster, run, leader } = seeded(algorithm);
    run(2_000);
    const old = leader()!;
    cluster.execute({ type: 'priority', nodeId: old, priority: 0 });
    run(1_000);
    expect(leader()).not.toBeNull();
    expect(leader()).not.toBe(old);
    for (let round = 0; round < 5; round++) {
      cluster.execute({ type: 'kill', nodeId: leader()! });
      run(1_500);
      expect(leader()).not.toBe(old);
      cluster.execute({ type: 'heal' });
      run(1_500);
    }
  });

  it('bully: the top priority coordinates; raising another makes it coordinator at once', () => {
    const { cluster, run, leader } = seeded('bully');
    run(1_000);
    expect(leader()).toBe('n5');
    cluster.execute({ type: 'priority', nodeId: 'n2', priority: 2 });
    run(500);
    expect(leader()).toBe('n2');
    expect(cluster.snapshot().nodes.every((node) => node.leaderId === 'n2')).toBe(true);
  });

  it('the preferred-leader rule moves leadership to the lowest loadavg after its stable period', () => {
    const { cluster, events, run, leader } = seeded('raft');
    run(2_000);
    const old = leader()!;
    const best = cluster.members.find((id) => id !== old)!;
    for (const id of cluster.members) cluster.execute({ type: 'capabilities', nodeId: id, capabilities: { loadavg: id === best ? 0.1 : 2 } });
    cluster.execute({ type: 'leadership', preferredLeader: RULE });
    run(RULE.stableMs - 200);
    expect(leader()).toBe(old);
    run(1_000);
    expect(leader()).toBe(best);
    expect(events.filter((event) => event.type === 'transfer').at(-1)).toMatchObject({
      reason: `preferred leader (lowest loadavg): ${best} (loadavg 0.1) over ${old} (loadavg 2)`,
    });
  });

  it('records the changes as events that validate, replay and read well in a trace', () => {
    const { cluster, events, run } = seeded('raft');
    run(2_000);
    cluster.execute({ type: 'priority', nodeId: 'n2', priority: 7 });
    cluster.execute({ type: 'capabilities', nodeId: 'n3', capabilities: { zone: 'a' } });
    cluster.execute({ type: 'leadership', preferredLeader: RULE });
    run(2_000);
    const kinds = ['priority', 'capabilities', 'leadership', 'transfer'];
    const recorded = events.filter((event) => kinds.includes(event.type));
    expect(recorded.map((event) => event.type)).toEqual(kinds);
    for (const event of recorded) expect(parseClusterEvent(JSON.parse(JSON.stringify(event)))).toEqual(event);
    expect(recorded.map((event) => formatEvent(event)!.replace(/^t=[\d.]+ /, ''))).toEqual([
      'n2 priority 1 -> 7',
      'n3 capabilities zone=a',
      'leadership: takeover after 900 ms, preferred leader lowest loadavg (margin 0.5, stable for 3 s)',
      expect.stringMatching(/^transfer leadership n\d -> n2: priority takeover: n2 \(priority 7\) over n\d \(priority 1\)$/),
    ]);
    expect(() => parseClusterEvent({ ...recorded[0], priority: 1_001 })).toThrow('event.priority must be between 0 and 1000');
  });

  it('a cluster that starts with priorities, capabilities or a rule records them first, so that a replay knows them', () => {
    const clock = new VirtualClock();
    const cluster = new Cluster({
      algorithm: 'raft',
      nodeCount: 3,
      config: DEFAULT_ELECTION_CONFIG,
      seed: 1,
      clock,
      leadership: { priorities: { n1: 0, n3: 4 }, takeoverAfterMs: null, preferredLeader: RULE },
      capabilities: { n2: { zone: 'b' } },
    });
    const events: ClusterEvent[] = [];
    cluster.subscribe({ onEvent: (event) => events.push(event) });
    cluster.start();
    expect(events.filter((event) => ['priority', 'capabilities', 'leadership'].includes(event.type))).toMatchObject([
      { type: 'priority', nodeId: 'n1', priority: 0, previous: 1 },
      { type: 'capabilities', nodeId: 'n2', capabilities: { zone: 'b' } },
      { type: 'priority', nodeId: 'n3', priority: 4, previous: 1 },
      { type: 'leadership', takeoverAfterMs: 900, preferredLeader: RULE },
    ]);
    clock.runUntil(2_000);
    expect(cluster.snapshot().leader?.id).toBe('n3');
  });

  it('configure keeps priorities and capabilities of the nodes that remain; a scenario naming its cluster starts from the defaults', () => {
    const runtime = new EmbeddedTarget({ algorithm: 'raft', nodes: 5, config: DEFAULT_ELECTION_CONFIG, seed: 1 });
    try {
      runtime.start();
      runtime.execute({ type: 'priority', nodeId: 'n2', priority: 5 });
      runtime.execute({ type: 'priority', nodeId: 'n5', priority: 0 });
      runtime.execute({ type: 'capabilities', nodeId: 'n2', capabilities: { zone: 'a' } });
      expect(runtime.execute({ type: 'configure', nodes: 3 })).toEqual({ ok: true });
      expect(runtime.snapshot().nodes.map((node) => [node.id, node.priority, node.capabilities])).toEqual([
        ['n1', 1, {}],
        ['n2', 5, { zone: 'a' }],
        ['n3', 1, {}],
      ]);
      const scenario = { name: 'x', durationMs: 5_000, cluster: { nodes: 3 }, steps: [], assertions: [] };
      expect(runtime.execute({ type: 'scenario', action: 'run', scenario })).toEqual({ ok: true });
      expect(runtime.snapshot().nodes.map((node) => node.priority)).toEqual([1, 1, 1]);
    } finally {
      runtime.stop();
    }
  });
});

describe('a cluster whose priorities come from elsewhere', () => {
  it('refuses the commands with the reason its runtime gives, and records nothing', () => {
    const clock = new VirtualClock();
    const model = new ClusterModel(
      {
        algorithm: 'raft',
        config: DEFAULT_ELECTION_CONFIG,
        members: ['a', 'b'],
        clock,
        random: createRandom(1),
        target: { kind: 'attached', label: 'x', unavailable: {}, faultLeaseMs: 10_000 },
        leadership: { priorities: { a: 2 }, takeoverAfterMs: null, preferredLeader: null },
      },
      {
        run: () => 'up',
        status: () => null,
        kill: () => undefined,
        start: () => undefined,
        pause: () => undefined,
        resume: () => undefined,
        transfer: () => ({ ok: true }),
        leadershipRefusal: 'in the cluster file',
      },
    );
    const events: ClusterEvent[] = [];
    model.subscribe({ onEvent: (event) => events.push(event) });
    expect(model.execute({ type: 'priority', nodeId: 'a', priority: 3 })).toEqual({ ok: false, error: 'in the cluster file' });
    expect(model.execute({ type: 'leadership', takeoverAfterMs: 10 })).toEqual({ ok: false, error: 'in the cluster file' });
    expect(events).toEqual([]);
    model.observeCapabilities('b', { loadavg: 0.3 });
    expect(model.snapshot().nodes.map((node) => [node.priority, node.capabilities])).toEqual([
      [2, {}],
      [1, { loadavg: 0.3 }],
    ]);
    model.noticed('a', { kind: 'transfer', to: 'b', reason: 'why' });
    expect(events).toMatchObject([{ type: 'transfer', from: 'a', to: 'b', reason: 'why' }]);
  });
});
