/**
 * The console side of a real cluster, against scripted agents on the wire: what it learns, how it
 * shows the nodes, and how it sets, leases and lifts faults. (Real agents: test/agent/.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AttachedCluster, GONE_AFTER_MS, NOT_RESPONDING_MS, REORDER_WINDOW_MS } from '../../electron/targets/agents/attached.js';
import { FRAME_BYTES_MAX } from '../../shared/protocol/agent-wire.js';
import { FAKE_TOKEN, FakeCluster } from '../support/fake-agent.js';
import { waitFor } from './harness.js';

const PING_ANSWER_DELAY_MS = 1_000;

let fakes: FakeCluster | null = null;
let console_: AttachedCluster | null = null;

afterEach(async () => {
  await console_?.stop();
  await fakes?.stop();
  console_ = null;
  fakes = null;
});

async function attach(options: { supervised?: boolean; skewMs?: (id: string) => number; pingDelayMs?: (id: string) => number; ids?: string[] } = {}) {
  const ids = options.ids ?? ['a1', 'a2', 'a3'];
  fakes = await FakeCluster.start(ids, options);
  console_ = await AttachedCluster.open({ addresses: ['127.0.0.1:1', fakes.address(ids[1]!)], token: FAKE_TOKEN, consoleId: 'console@test' });
  console_.start();
  return { fakes, cluster: console_ };
}

describe('attaching to a cluster of agents', () => {
  it('learns the membership from any agent that answers, and shows each node with its host', async () => {
    const { fakes, cluster } = await attach();
    fakes.elect('a3', 4);
    await waitFor('the leader', () => cluster.snapshot().leader?.id === 'a3');
    const snapshot = cluster.snapshot();
    expect(snapshot.target).toMatchObject({ kind: 'attached', label: `3 agents attached via 127.0.0.1:1`, faultLeaseMs: 3_000 });
    expect(snapshot.target.unavailable.clock).toMatch(/Real nodes keep their own time/);
    expect(snapshot.nodes.map((node) => [node.id, node.host, node.role, node.term, node.reachable])).toEqual([
      ['a1', fakes.address('a1'), 'follower', 4, true],
      ['a2', fakes.address('a2'), 'follower', 4, true],
      ['a3', fakes.address('a3'), 'leader', 4, true],
    ]);
    expect(cluster.history().filter((event) => event.type === 'quorum').at(-1)).toMatchObject({ leaderId: 'a3', term: 4 });
  });

  it('a wrong token is reported in words, not thrown past the console', async () => {
    fakes = await FakeCluster.start(['a1']);
    await expect(AttachedCluster.open({ addresses: [fakes.address('a1')], token: 'the wrong token!', consoleId: 'c' })).rejects.toThrow(
      /could not attach to a cluster: .*could not prove it knows the console token: it, or this end, has another one/,
    );
  });

  it('estimates each agent clock offset and records their events in this console time', async () => {
    const { fakes, cluster } = await attach({ skewMs: (id) => (id === 'a1' ? 60_000 : 0) });
    await waitFor('an offset estimate', async () => (await cluster.inspect('a1'))?.clock ?? null);
    const detail = await cluster.inspect('a1');
    expect(detail!.clock!.offsetMs).toBeGreaterThan(59_900);
    expect(detail!.clock!.offsetMs).toBeLessThan(60_100);
    fakes.elect('a1', 2);
    await waitFor('the leader', () => cluster.snapshot().leader?.id === 'a1');
    const became = cluster.history().find((event) => event.type === 'leader' && event.nodeId === 'a1')!;
    // Stamped in console time: a minute of skew would otherwise put it a minute in the future.
    expect(became.t).toBeLessThanOrEqual(cluster.now());
    expect(cluster.now() - became.t).toBeLessThan(2_000);
  });

  it('a partition goes to every agent as a leased rule table, renewed while the console lives and lifted when it detaches', async () => {
    const { fakes, cluster } = await attach();
    fakes.elect('a1', 3);
    await waitFor('the leader', () => cluster.snapshot().leader?.id === 'a1');
    expect(await cluster.execute({ type: 'partition', groups: [['a1']] })).toEqual({ ok: true });
    for (const member of fakes.members) {
      expect(member.faults).toMatchObject({ leaseMs: 3_000, owner: 'console@test' });
      // A split into groups goes as its groups, not as every link it blocks.
      expect(member.faults!.table).toEqual({ blocked: [], groups: [['a1'], ['a2', 'a3']], links: [] });
    }
    await waitFor('a renewal', () => fakes.members.every((member) => member.requests.some((op) => op.op === 'renew')), 3_000);
    expect(cluster.snapshot().faults.map((fault) => fault.kind)).toEqual(['partition']);
    await cluster.stop();
    console_ = null;
    for (const member of fakes.members) expect(member.faults!.table).toEqual({ blocked: [], links: [] });
  });

  it('kill, pause and restart go to the supervisor; without one they are refused with the reason', async () => {
    const unsupervised = await attach();
    expect(await unsupervised.cluster.execute({ type: 'kill', nodeId: 'a2' })).toEqual({
      ok: false,
      error: expect.stringMatching(/^a2 has no supervisor this console can reach .*--supervise/),
    });
    expect(unsupervised.cluster.snapshot().target.unavailable.kill).toMatch(/No supervisor is reachable/);
    await console_!.stop();
    await fakes!.stop();

    const { fakes: supervisedFakes, cluster } = await attach({ supervised: true });
    await waitFor('the supervisors', () => cluster.snapshot().target.unavailable.kill === undefined);
    expect(await cluster.execute({ type: 'kill', nodeId: 'a2' })).toEqual({ ok: true });
    expect(supervisedFakes.member('a2').requests.at(-1)).toEqual({ op: 'child', action: 'kill', leaseMs: 3_000 });
    expect(cluster.snapshot().nodes.find((node) => node.id === 'a2')).toMatchObject({ status: 'down', pid: null });
    expect(await cluster.execute({ type: 'restart', nodeId: 'a2' })).toEqual({ ok: true });
    expect(supervisedFakes.member('a2').requests.at(-1)).toEqual({ op: 'child', action: 'start', leaseMs: 3_000 });
    expect(cluster.history().map((event) => event.type).filter((type) => type === 'kill' || type === 'restart')).toEqual(['kill', 'restart']);
  });

  it('configure and the clock are refused on real nodes, saying why', async () => {
    const { cluster } = await attach();
    expect(await cluster.execute({ type: 'clock', speed: 0.5 })).toEqual({ ok: false, error: expect.stringContaining('Real nodes keep their own time') });
    expect(await cluster.execute({ type: 'configure', nodes: 3 })).toEqual({ ok: false, error: expect.stringContaining('cluster file') });
  });

  it('a report that arrives before any clock estimate counts as of its arrival, however far ahead the agent clock is', async () => {
    const { fakes, cluster } = await attach({ skewMs: (id) => (id === 'a1' ? 3_600_000 : 0), pingDelayMs: (id) => (id === 'a1' ? PING_ANSWER_DELAY_MS : 0) });
    const a1 = fakes.member('a1');
    const first = a1.consoles[0]!;
    // The agent restarts: the console redials, its offset estimate is gone, and the first ping's answer takes a second.
    first.close('restarting');
    const second = await waitFor('the console to redial a1', () => a1.consoles.find((connection) => connection !== first));
    const pushedAt = Date.now();
    a1.status = { role: 'follower', term: 9, votedFor: null, leaderId: null };
    fakes.push(a1, { t: 'event', event: { type: 'boot', t: Date.now() + a1.skewMs, status: a1.status } });
    for (;;) {
      if (cluster.snapshot().nodes.find((node) => node.id === 'a1')?.term === 9) break;
      // Within the reorder window and a flush, long before the ping's answer (and an hour before the agent's own time).
      expect(Date.now() - pushedAt, 'the boot status reached the model before any clock estimate').toBeLessThan(REORDER_WINDOW_MS + 200);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(second.isOpen).toBe(true);
    const boot = cluster.history().find((event) => event.type === 'status' && event.nodeId === 'a1' && event.term === 9)!;
    expect(boot.t).toBeLessThanOrEqual(cluster.now());
  });

  it('an agent this console stops hearing from is unreachable, never down (no kill, no fault), with what its peers say; then hung up on and redialled', async () => {
    const { fakes, cluster } = await attach();
    const a1 = fakes.member('a1');
    const first = a1.consoles[0]!;
    a1.silent = true;
    const node = () => cluster.snapshot().nodes.find((view) => view.id === 'a1')!;
    await waitFor('a1 unreachable', () => node().reachable === false, NOT_RESPONDING_MS + 2_000);
    expect(node().status).toBe('up');
    expect(node().reachability).toMatch(/^not responding for \d+\.\d s, and its peers \(a2, a3\) do not hear it either: cut off from everyone, frozen or gone$/);
    // Its peers still hear it: only this console lost it.
    fakes.member('a2').heard = { a1: 40 };
    fakes.push(fakes.member('a2'), { t: 'status', status: fakes.statusOf(fakes.member('a2')) });
    await waitFor('what a2 says', () => /but its peers hear it: a2 \(40 ms ago\); only this console lost it$/.test(node().reachability ?? ''));
    expect(cluster.history().filter((event) => 'nodeId' in event && event.nodeId === 'a1' && ['kill', 'restart', 'pause'].includes(event.type))).toEqual([]);
    expect(cluster.snapshot().faults).toEqual([]);
    await waitFor('the console to hang up on a1', () => !first.isOpen, GONE_AFTER_MS + 2_000);
    a1.silent = false;
    await waitFor('a1 redialled', () => a1.consoles.some((connection) => connection !== first && connection.isOpen));
    await waitFor('a1 reachable again', () => node().reachable);
    expect(node().reachability).toBeUndefined();
    // The others answered all along: never hung up on.
    expect(fakes.member('a2').consoles).toHaveLength(1);
  });

  it('answers that are not in the protocol are errors, not crashes', async () => {
    const { fakes, cluster } = await attach();
    expect((await cluster.inspect('a2'))!.internals).toMatchObject({ machine: { role: 'follower' }, clock: { startedAt: expect.any(Number) } });
    expect((await cluster.inspect('a2'))!.durable).toEqual({ term: 1, votedFor: null });
    fakes.member('a2').inspectAnswer = { machine: 'a string', durable: null };
    const detail = await cluster.inspect('a2');
    expect(detail!.internals).toMatchObject({ error: expect.stringMatching(/^a2 answered inspect with something not in the protocol \(machine: /) });
    expect(detail!.durable).toBeNull();
    // A ping answer of another shape (here: another ping's) gives no clock estimate.
    fakes.member('a3').pingAnswer = { sentAt: -1, agentNow: Date.now() };
    await cluster.stop();
    console_ = await AttachedCluster.open({ addresses: [fakes.address('a3')], token: FAKE_TOKEN, consoleId: 'console@test' });
    console_.start();
    await waitFor('a ping answered', () => fakes.member('a3').requests.some((op) => op.op === 'ping'));
    await waitFor('a1 estimated', async () => (await console_!.inspect('a1'))?.clock);
    expect((await console_.inspect('a3'))!.clock).toBeNull();
  });

  it('the connection that learned the membership is closed even when the answer is refused', async () => {
    fakes = await FakeCluster.start(['a1']);
    fakes.member('a1').statusAnswer = { id: 'a1' };
    await expect(AttachedCluster.open({ addresses: [fakes.address('a1')], token: FAKE_TOKEN, consoleId: 'c' })).rejects.toThrow(/could not attach to a cluster: /);
    await waitFor('the connection closed', () => fakes!.member('a1').consoles.length === 0, 1_000);
  });

  it('a rule table too large to send is refused before the dashboard shows it, and nothing is sent', async () => {
    // 40 members with 60-character ids: a majorities ring blocks 760 links, about 100 KB.
    const ids = Array.from({ length: 40 }, (_, index) => `member-${String(index + 1).padStart(2, '0')}-${'x'.repeat(50)}`);
    const { fakes, cluster } = await attach({ ids });
    const before = cluster.history().length;
    const ack = await cluster.execute({ type: 'partition', preset: 'majorities-ring' });
    expect(ack).toEqual({ ok: false, error: expect.stringContaining(`above the ${FRAME_BYTES_MAX}-byte frame limit`) });
    expect(cluster.snapshot().network).toMatchObject({ partition: null, blocked: [] });
    expect(cluster.snapshot().faults).toEqual([]);
    expect(cluster.history().slice(before).map((event) => event.type)).not.toContain('partition');
    expect(fakes.members.every((member) => member.faults === null)).toBe(true);
    // Halves of the same cluster block 800 links, yet go as two groups of ids (about 5 KB).
    expect(await cluster.execute({ type: 'partition', preset: 'halves' })).toEqual({ ok: true });
    const groups = cluster.snapshot().network.partition!.groups!;
    expect(groups.map((group) => group.length)).toEqual([20, 20]);
    expect(cluster.snapshot().network.blocked).toHaveLength(800);
    expect(fakes.members.every((member) => JSON.stringify(member.faults?.table) === JSON.stringify({ blocked: [], groups, links: [] }))).toBe(true);
  });
});
