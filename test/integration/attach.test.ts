/**
 * The console side of a real cluster, against scripted agents on the wire: what it learns, how it
 * shows the nodes, and how it sets, leases and lifts faults. (Real agents: test/agent/.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AttachedCluster } from '../../electron/console/attached.js';
import { FAKE_TOKEN, FakeCluster } from '../support/fake-agent.js';
import { waitFor } from './harness.js';

let fakes: FakeCluster | null = null;
let console_: AttachedCluster | null = null;

afterEach(async () => {
  await console_?.stop();
  await fakes?.stop();
  console_ = null;
  fakes = null;
});

async function attach(options: { supervised?: boolean; skewMs?: (id: string) => number } = {}) {
  fakes = await FakeCluster.start(['a1', 'a2', 'a3'], options);
  console_ = await AttachedCluster.open({ addresses: ['127.0.0.1:1', fakes.address('a2')], token: FAKE_TOKEN, consoleId: 'console@test' });
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

  it('a wrong token is reported with a hint, not thrown past the console', async () => {
    fakes = await FakeCluster.start(['a1']);
    await expect(AttachedCluster.open({ addresses: [fakes.address('a1')], token: 'the wrong token!', consoleId: 'c' })).rejects.toThrow(
      /could not attach to a cluster: .*refused us: authentication failed \(is the cluster token right\?\)/,
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
      expect((member.faults!.table as { blocked: string[] }).blocked).toContain('a1->a2');
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
});
