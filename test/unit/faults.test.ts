/** The fault fabric and the cluster's fault commands, on a virtual clock. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG, type Message } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { HEALTHY_LINK } from '../../shared/protocol/faults.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { Cluster } from '../../electron/targets/embedded/cluster.js';
import { Fabric, type Transit } from '../../electron/runtime/fabric.js';
import { LinkRules } from '../../shared/network/link-rules.js';

function fabric() {
  const clock = new VirtualClock();
  const delivered: Array<{ message: Message; at: number }> = [];
  const transits: Transit[] = [];
  const rules = new LinkRules();
  const instance = new Fabric({
    clock,
    rules,
    random: createRandom(1),
    link: { latencyMs: 5, jitterMs: 0 },
    deliver: (message) => delivered.push({ message, at: clock.now() }),
    onTransit: (transit) => transits.push(transit),
  });
  const send = (count: number, from = 'n1', to = 'n2') => {
    for (let i = 0; i < count; i++) instance.send({ kind: 'Heartbeat', from, to, term: i });
    clock.runUntil(clock.now() + 10_000);
  };
  return { clock, rules, delivered, transits, send };
}

describe('fabric', () => {
  it('delivers after the base latency, in order when there is no jitter', () => {
    const f = fabric();
    f.send(3);
    expect(f.delivered.map((d) => [d.message.term, d.at])).toEqual([
      [0, 5],
      [1, 5],
      [2, 5],
    ]);
  });

  it('a one-way cut drops one direction only', () => {
    const f = fabric();
    f.rules.setLinkFault('n1', 'n2', { ...HEALTHY_LINK, cut: true });
    f.send(5, 'n1', 'n2');
    f.send(5, 'n2', 'n1');
    expect(f.delivered.map((d) => d.message.from)).toEqual(Array(5).fill('n2'));
    expect(f.transits.filter((t) => t.dropped === 'cut')).toHaveLength(5);
  });

  it('drops about the set fraction, duplicates about the set fraction', () => {
    const f = fabric();
    f.rules.setLinkFault(null, null, { ...HEALTHY_LINK, dropProbability: 0.3, duplicateProbability: 0.2 });
    f.send(10_000);
    const lost = f.transits.filter((t) => t.dropped === 'loss').length;
    const duplicates = f.transits.filter((t) => t.duplicate).length;
    expect(lost / 10_000).toBeCloseTo(0.3, 1);
    expect(duplicates / (10_000 - lost)).toBeCloseTo(0.2, 1);
    expect(f.delivered).toHaveLength(10_000 - lost + duplicates);
  });

  it('delays by the latency plus or minus the jitter, which reorders messages', () => {
    const f = fabric();
    f.rules.setLinkFault('n1', 'n2', { ...HEALTHY_LINK, latencyMs: 50, jitterMs: 20 });
    f.send(2_000);
    const delays = f.transits.map((t) => t.deliverAt! - t.sentAt);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(30);
    expect(Math.max(...delays)).toBeLessThanOrEqual(70);
    const order = f.delivered.map((d) => d.message.term);
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
  });

  it("a link's own fault overrides the all-links fault", () => {
    const f = fabric();
    f.rules.setLinkFault(null, null, { ...HEALTHY_LINK, cut: true });
    f.rules.setLinkFault('n1', 'n2', { ...HEALTHY_LINK, latencyMs: 20 });
    f.send(1, 'n1', 'n2');
    f.send(1, 'n2', 'n1');
    expect(f.delivered.map((d) => d.message.from)).toEqual(['n1']);
  });
});

function cluster(nodes = 5) {
  const clock = new VirtualClock();
  const instance = new Cluster({ algorithm: 'raft', nodeCount: nodes, config: DEFAULT_ELECTION_CONFIG, seed: 9, clock });
  instance.start();
  clock.runUntil(2_000);
  return { clock, cluster: instance };
}

/** Which nodes each node can hear from, under the cluster's partition. */
function hears(c: Cluster): Map<string, string[]> {
  return new Map(c.members.map((to) => [to, c.members.filter((from) => from !== to && c.linkOpen(from, to))]));
}

describe('partitions', () => {
  it('groups cut every link between them; nodes left out form one more group', () => {
    const { cluster: c } = cluster();
    expect(c.execute({ type: 'partition', groups: [['n1', 'n2'], ['n3']] })).toEqual({ ok: true });
    const heard = hears(c);
    expect(heard.get('n1')).toEqual(['n2']);
    expect(heard.get('n3')).toEqual([]);
    expect(heard.get('n4')).toEqual(['n5']);
    expect(c.snapshot().network.partition).toEqual({ label: 'Partition {n1, n2} | {n3} | {n4, n5}', groups: [['n1', 'n2'], ['n3'], ['n4', 'n5']] });
  });

  it.each([
    [[['n1'], ['n1', 'n2']], 'n1 is in two groups (1 and 2); a node belongs to one side'],
    [[['n1', 'n9']], 'unknown node "n9" (nodes are n1 to n5)'],
    [[['n1', 'n2', 'n3', 'n4', 'n5']], 'a partition needs at least two groups'],
    [[[], ['n1']], 'group 1 of the partition is empty'],
  ])('refuses %j: %s', (groups, error) => {
    const { cluster: c } = cluster();
    expect(c.execute({ type: 'partition', groups })).toEqual({ ok: false, error });
    expect(c.snapshot().network.partition).toBeNull();
  });

  it('isolate-leader cuts the leader off from everyone', () => {
    const { cluster: c } = cluster();
    const leader = c.snapshot().leader!.id;
    c.execute({ type: 'partition', preset: 'isolate-leader' });
    expect(hears(c).get(leader)).toEqual([]);
    expect(c.snapshot().network.partition!.label).toBe(`Isolate the leader (${leader})`);
  });

  it('random halves split the nodes into two sides that cannot talk', () => {
    const { cluster: c } = cluster(6);
    c.execute({ type: 'partition', preset: 'halves' });
    const groups = c.snapshot().network.partition!.groups!;
    expect(groups.map((g) => g.length)).toEqual([3, 3]);
    for (const id of groups[0]!) expect(hears(c).get(id)!.every((other) => groups[0]!.includes(other))).toBe(true);
  });

  it.each([3, 5, 7, 9])('majorities ring on %i nodes: everyone hears a majority, no two the same one', (size) => {
    const { cluster: c } = cluster(size);
    c.execute({ type: 'partition', preset: 'majorities-ring' });
    const majority = Math.floor(size / 2) + 1;
    const views = [...hears(c)].map(([id, from]) => [id, ...from].sort().join());
    for (const view of views) expect(view.split(',')).toHaveLength(majority);
    expect(new Set(views).size).toBe(size);
  });

  it('bridge: one node hears both sides, which cannot hear each other', () => {
    const { cluster: c } = cluster();
    c.execute({ type: 'partition', preset: 'bridge' });
    const heard = hears(c);
    const bridge = c.members.filter((id) => heard.get(id)!.length === 4);
    expect(bridge).toHaveLength(1);
    const others = c.members.filter((id) => id !== bridge[0]);
    for (const id of others) expect(heard.get(id)).toHaveLength(2);
  });
});

describe('faults listed and healed', () => {
  it('lists every fault in force with its start, and heals one or all', () => {
    const { clock, cluster: c } = cluster();
    c.execute({ type: 'kill', nodeId: 'n1' });
    c.execute({ type: 'pause', nodeId: 'n2' });
    c.execute({ type: 'partition', groups: [['n3']] });
    c.execute({ type: 'link', from: 'n4', to: 'n5', dropProbability: 0.25, latencyMs: 40 });
    c.execute({ type: 'link', duplicateProbability: 0.1 });
    clock.runUntil(3_000);
    const faults = c.snapshot().faults;
    expect(faults.map((f) => [f.id, f.label])).toEqual([
      ['down:n1', 'n1 down'],
      ['paused:n2', 'n2 paused'],
      ['partition', 'Partition {n3} | {n1, n2, n4, n5}'],
      ['link:n4->n5', 'n4 → n5: 25% loss, 40 ms'],
      ['link:*', 'all links: 10% duplicated'],
    ]);
    expect(faults.every((f) => f.sinceT === 2_000)).toBe(true);
    expect(c.execute({ type: 'heal', faultId: 'link:n4->n5' })).toEqual({ ok: true });
    expect(c.snapshot().faults.map((f) => f.id)).not.toContain('link:n4->n5');
    expect(c.execute({ type: 'heal', faultId: 'link:n4->n5' })).toEqual({ ok: false, error: 'no active fault "link:n4->n5"' });
    expect(c.execute({ type: 'heal' })).toEqual({ ok: true });
    expect(c.snapshot().faults).toEqual([]);
    expect(c.snapshot().nodes.every((n) => n.status === 'up')).toBe(true);
    clock.runUntil(5_000);
    expect(c.snapshot().leader).not.toBeNull();
  });

  it('a link command with no fault clears the link', () => {
    const { cluster: c } = cluster();
    c.execute({ type: 'link', from: 'n1', to: 'n2', cut: true });
    expect(c.linkOpen('n1', 'n2')).toBe(false);
    c.execute({ type: 'link', from: 'n1', to: 'n2' });
    expect(c.linkOpen('n1', 'n2')).toBe(true);
    expect(c.snapshot().faults).toEqual([]);
  });

  it('refuses a link to itself and unknown nodes', () => {
    const { cluster: c } = cluster();
    expect(c.execute({ type: 'link', from: 'n1', to: 'n1', cut: true })).toEqual({ ok: false, error: 'a link joins two different nodes' });
    expect(c.execute({ type: 'link', from: 'n7', cut: true })).toMatchObject({ ok: false, error: expect.stringContaining('unknown node "n7"') });
  });

  it('pause and resume refuse what cannot apply', () => {
    const { cluster: c } = cluster();
    c.execute({ type: 'kill', nodeId: 'n1' });
    expect(c.execute({ type: 'pause', nodeId: 'n1' })).toEqual({ ok: false, error: 'n1 is down; only a running node can be paused' });
    expect(c.execute({ type: 'resume', nodeId: 'n2' })).toEqual({ ok: false, error: 'n2 is not paused (it is up)' });
    c.execute({ type: 'pause', nodeId: 'n2' });
    expect(c.execute({ type: 'pause', nodeId: 'n2' })).toEqual({ ok: false, error: 'n2 is already paused' });
  });

  it('messages to a paused node wait, and are processed the moment it resumes', () => {
    const { clock, cluster: c } = cluster();
    const old = c.snapshot().leader!;
    const follower = c.snapshot().nodes.find((n) => n.role === 'follower')!.id;
    c.execute({ type: 'pause', nodeId: follower });
    c.execute({ type: 'kill', nodeId: old.id });
    clock.runUntil(4_000);
    const next = c.snapshot().leader!;
    expect(next.term).toBeGreaterThan(old.term);
    expect(c.snapshot().nodes.find((n) => n.id === follower)).toMatchObject({ status: 'paused', term: old.term, leaderId: old.id });
    c.execute({ type: 'resume', nodeId: follower });
    // No time has passed: only the buffered votes and heartbeats can have taught it the new term and leader.
    expect(c.snapshot().nodes.find((n) => n.id === follower)).toMatchObject({ status: 'up', role: 'follower', term: next.term, leaderId: next.id });
  });

  it('refuses a clock speed on the virtual clock', () => {
    const { cluster: c } = cluster();
    expect(c.execute({ type: 'clock', speed: 0.5 })).toEqual({ ok: false, error: 'this cluster runs on a virtual clock, which has no speed' });
  });
});
