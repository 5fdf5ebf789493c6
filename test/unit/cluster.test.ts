import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { Cluster } from '../../electron/targets/embedded/cluster.js';

function cluster(nodeCount = 5, seed = 11) {
  const clock = new VirtualClock();
  const instance = new Cluster({ algorithm: 'raft', nodeCount, config: DEFAULT_ELECTION_CONFIG, seed, clock });
  const events: ClusterEvent[] = [];
  let changes = 0;
  instance.subscribe({ onEvent: (event) => events.push(event), onChange: () => (changes += 1) });
  instance.start();
  return { clock, cluster: instance, events, changes: () => changes };
}

describe('embedded cluster', () => {
  it('elects one leader that every node follows', () => {
    const { clock, cluster: c } = cluster();
    clock.runUntil(2_000);
    const snapshot = c.snapshot();
    expect(snapshot.leader).not.toBeNull();
    for (const node of snapshot.nodes) {
      expect(node).toMatchObject({ status: 'up', leaderId: snapshot.leader!.id, term: snapshot.leader!.term });
    }
    expect(snapshot.nodes.filter((node) => node.role === 'leader')).toHaveLength(1);
  });

  it('killing the leader elects another in a higher term; the dead node keeps its persisted term and vote', () => {
    const { clock, cluster: c, events } = cluster();
    clock.runUntil(2_000);
    const old = c.snapshot().leader!;
    expect(c.execute({ type: 'kill', nodeId: old.id })).toEqual({ ok: true });
    const dead = c.snapshot().nodes.find((node) => node.id === old.id)!;
    expect(dead).toEqual({ id: old.id, status: 'down', role: null, term: old.term, votedFor: old.id, leaderId: null, priority: 1, capabilities: {} });
    clock.runUntil(4_000);
    const next = c.snapshot().leader!;
    expect(next.id).not.toBe(old.id);
    expect(next.term).toBeGreaterThan(old.term);
    expect(events.filter((event) => event.type === 'kill').map((event) => event.nodeId)).toEqual([old.id]);
  });

  it('a restarted node comes back as a follower of the current leader', () => {
    const { clock, cluster: c } = cluster();
    clock.runUntil(2_000);
    const old = c.snapshot().leader!;
    c.execute({ type: 'kill', nodeId: old.id });
    clock.runUntil(4_000);
    expect(c.execute({ type: 'restart', nodeId: old.id })).toEqual({ ok: true });
    expect(c.snapshot().nodes.find((node) => node.id === old.id)).toMatchObject({ status: 'up', role: 'follower' });
    clock.runUntil(4_500);
    const leader = c.snapshot().leader!;
    expect(c.snapshot().nodes.find((node) => node.id === old.id)).toMatchObject({
      role: 'follower',
      leaderId: leader.id,
      term: leader.term,
    });
  });

  it('restarting a running node reboots it', () => {
    const { clock, cluster: c, events } = cluster();
    clock.runUntil(2_000);
    const follower = c.snapshot().nodes.find((node) => node.role === 'follower')!;
    expect(c.execute({ type: 'restart', nodeId: follower.id })).toEqual({ ok: true });
    const last = events.filter((event) => 'nodeId' in event && event.nodeId === follower.id).slice(-3);
    expect(last.map((event) => event.type)).toEqual(['restart', 'status', 'role']);
    expect(last[1]).toMatchObject({ role: 'follower', term: follower.term, leaderId: null });
    expect(last[2]).toMatchObject({ from: null, to: 'follower' });
  });

  it('refuses commands that cannot apply, changing nothing', () => {
    const { clock, cluster: c, events } = cluster();
    clock.runUntil(1_000);
    c.execute({ type: 'kill', nodeId: 'n2' });
    const before = JSON.stringify(c.snapshot().nodes);
    const eventCount = events.length;
    expect(c.execute({ type: 'kill', nodeId: 'n2' })).toEqual({ ok: false, error: 'n2 is already down' });
    expect(c.execute({ type: 'kill', nodeId: 'n9' })).toEqual({ ok: false, error: 'unknown node "n9" (nodes are n1 to n5)' });
    expect(JSON.stringify(c.snapshot().nodes)).toBe(before);
    expect(events).toHaveLength(eventCount);
  });

  it('records role, vote and leader events with increasing sequence numbers and times', () => {
    const { clock, cluster: c, events } = cluster();
    clock.runUntil(2_000);
    const leader = c.snapshot().leader!;
    expect(events.some((event) => event.type === 'leader' && event.nodeId === leader.id && event.term === leader.term)).toBe(true);
    expect(events.some((event) => event.type === 'vote' && event.votedFor === leader.id)).toBe(true);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.seq).toBe(events[i - 1]!.seq + 1);
      expect(events[i]!.t).toBeGreaterThanOrEqual(events[i - 1]!.t);
    }
    expect(c.history(3)).toEqual(events.slice(-3));
  });

  it('records when a majority follows a leader, and when a fault cuts that leader off', () => {
    const { clock, cluster: c, events } = cluster();
    clock.runUntil(2_000);
    const leader = c.snapshot().leader!;
    const quorums = () => events.filter((event) => event.type === 'quorum');
    expect(quorums().at(-1)).toMatchObject({ leaderId: leader.id, term: leader.term });
    c.execute({ type: 'partition', preset: 'isolate-leader' });
    expect(events.at(-2)).toMatchObject({ type: 'partition' });
    expect(events.at(-1)).toMatchObject({ type: 'leader-lost', leaderId: leader.id, term: leader.term, cause: 'cut off' });
    c.execute({ type: 'heal' });
    // Healed before anyone else took over: the same leader has its majority again.
    expect(events.at(-1)).toMatchObject({ type: 'quorum', leaderId: leader.id, term: leader.term });
    c.execute({ type: 'kill', nodeId: leader.id });
    expect(events.slice(-2).map((event) => event.type)).toEqual(['leader-lost', 'quorum']);
    expect(events.at(-1)).toMatchObject({ leaderId: null, term: null });
    clock.runUntil(4_000);
    expect(quorums().at(-1)).toMatchObject({ leaderId: c.snapshot().leader!.id });
  });

  it('records the messages sent per kind each second', () => {
    const { clock, events } = cluster();
    clock.runUntil(3_000);
    const traffic = events.filter((event) => event.type === 'traffic');
    expect(traffic.length).toBeGreaterThanOrEqual(2);
    const steady = traffic.at(-1) as Extract<ClusterEvent, { type: 'traffic' }>;
    // A settled 5-node Raft leader sends 4 heartbeats per 50 ms and gets 4 replies.
    expect(steady.sent).toEqual({ Heartbeat: 80, HeartbeatResp: 80 });
    expect(steady.dropped).toBe(0);
  });

  it('reports a change only when something in the snapshot changed', () => {
    const { clock, changes } = cluster();
    clock.runUntil(2_000);
    const settled = changes();
    clock.runUntil(10_000);
    expect(changes()).toBe(settled);
  });

  it('refuses impossible sizes', () => {
    expect(() => cluster(0)).toThrow('a cluster has 1 to 101 nodes (got 0)');
    expect(() => cluster(102)).toThrow('a cluster has 1 to 101 nodes (got 102)');
  });
});
