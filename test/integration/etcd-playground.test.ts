/**
 * An etcd playground of real etcd members, broken with the console's commands: etcdctl confirms
 * the leader and term; a killed or paused leader has a successor in a higher term within the
 * timeouts (and the dashboard learns of it within 100 ms of etcd's election, as the winner's log
 * dates it); a partition cuts members apart as etcd's own status shows; move-leader moves it;
 * and every process, proxy and data dir is gone once it stops.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EtcdCluster } from '../../electron/targets/etcd/cluster.js';
import { PeerProxy } from '../../electron/targets/etcd/peer-proxy.js';
import { startEtcdPlayground } from '../../electron/targets/etcd/playground.js';
import { openTarget } from '../../electron/targets/open.js';
import type { ClusterSnapshot } from '../../shared/protocol/types.js';
import { ETCD_BIN, ETCD_SKIP_REASON, etcdctlStatus } from '../support/etcd.js';
import { waitFor } from './harness.js';

const HEARTBEAT_MS = 50;
const ELECTION_TIMEOUT_MS = 500;
const FAILOVER_BOUND_MS = 10 * ELECTION_TIMEOUT_MS;
/**
 * What the issue asks of the watch: a leader change shows within this. It takes etcd's commit of
 * the new leader's first entry (two WAL fsyncs: see EtcdCluster.feed) plus up to one poll
 * interval and a round trip; a busy machine stretches the first, so one round may take longer.
 */
const DETECTION_BOUND_MS = 100;
const DETECTION_WORST_MS = 250;
const KILL_ROUNDS = 3;

interface Detail {
  clientUrl: string;
  peerUrl: string;
  advertisedPeerUrl: string;
  memberId: string;
  logFile: string;
  dataDir: string;
}

/** Whether anything accepts connections on a port of 127.0.0.1. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.skipIf(ETCD_SKIP_REASON !== null)('an etcd playground', () => {
  let playground: EtcdCluster;
  const details = new Map<string, Detail>();

  const leader = (): { id: string; term: number } | null => {
    const now = playground.snapshot().leader;
    return now === null ? null : { id: now.id, term: now.term };
  };
  /** A leader every running member follows, in its term. */
  const settled = (): { id: string; term: number } | null => {
    const snapshot: ClusterSnapshot = playground.snapshot();
    const current = leader();
    const agree = snapshot.nodes.every((node) => node.status === 'up' && node.leaderId === current?.id && node.term === current?.term);
    return agree ? current : null;
  };
  const statusOf = async (id: string) => (await etcdctlStatus([details.get(id)!.clientUrl]))[0]!;
  const nameOf = (hex: string): string | undefined => [...details].find(([, detail]) => detail.memberId === hex)?.[0];

  beforeAll(async () => {
    playground = (await openTarget({ kind: 'etcd-playground', members: 3, heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS, preVote: true }, { seed: 1 })) as EtcdCluster;
    playground.start();
    for (const id of ['n1', 'n2', 'n3']) details.set(id, (await playground.inspect(id))!.internals as unknown as Detail);
  });

  afterAll(async () => {
    await playground?.stop();
  });

  it('starts 3 members on 127.0.0.1, whose leader and term etcdctl endpoint status confirms', async () => {
    const now = await waitFor('a settled leader', settled, FAILOVER_BOUND_MS);
    const snapshot = playground.snapshot();
    expect(snapshot.target).toMatchObject({ kind: 'etcd-playground', label: 'etcd 3.4.23 playground: 3 members on 127.0.0.1' });
    expect(Object.keys(snapshot.target.unavailable).sort()).toEqual(['capabilities', 'clock', 'configure', 'duplicate', 'leadership', 'loss', 'priority']);
    expect(snapshot.config).toEqual({ heartbeatMs: HEARTBEAT_MS, electionTimeoutMinMs: ELECTION_TIMEOUT_MS, electionTimeoutMaxMs: 2 * ELECTION_TIMEOUT_MS, preVote: true, checkQuorum: true, rankedTimeouts: false });
    for (const node of snapshot.nodes) {
      expect(node.host).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(node.pid).toBeGreaterThan(0);
    }
    const statuses = await etcdctlStatus(snapshot.nodes.map((node) => node.host!));
    for (const status of statuses) {
      expect(nameOf(status.leader)).toBe(now.id);
      expect(status.raftTerm).toBe(now.term);
    }
  });

  it('kill: a new leader in a higher term within the timeouts, shown within 100 ms of etcd electing it; restart: the member follows again', async () => {
    const delays: number[] = [];
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const before = await waitFor('a settled leader', settled, FAILOVER_BOUND_MS);
      expect(await playground.execute({ type: 'kill', nodeId: before.id })).toEqual({ ok: true });
      const after = await waitFor('a new leader', () => (leader() !== null && leader()!.id !== before.id ? leader() : null), FAILOVER_BOUND_MS);
      expect(after.term).toBeGreaterThan(before.term);
      expect(playground.snapshot().nodes.find((node) => node.id === before.id)).toMatchObject({ status: 'down', pid: null });

      // When etcd's winner says it became leader (its log, ms resolution) against when the console recorded it.
      const detail = details.get(after.id)!;
      const line = readFileSync(detail.logFile, 'utf8')
        .split('\n')
        .find((text) => text.includes(`"${detail.memberId} became leader at term ${after.term}"`));
      const electedAt = Date.parse((JSON.parse(line!) as { ts: string }).ts);
      const recorded = playground.history().find((event) => event.type === 'leader' && event.nodeId === after.id && event.term === after.term)!;
      delays.push(recorded.at - electedAt);

      expect(await playground.execute({ type: 'restart', nodeId: before.id })).toEqual({ ok: true });
      await waitFor(`${before.id} to follow ${after.id}`, () => playground.snapshot().nodes.find((node) => node.id === before.id && node.status === 'up' && node.leaderId !== null), FAILOVER_BOUND_MS);
    }
    console.log(`etcd leader change to the console's record, ms: ${delays.map((delay) => delay.toFixed(0)).join(', ')}`);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(-1);
      expect(delay).toBeLessThan(DETECTION_WORST_MS);
    }
    expect([...delays].sort((a, b) => a - b)[Math.floor(delays.length / 2)]).toBeLessThan(DETECTION_BOUND_MS);
    expect(playground.history().filter((event) => event.type === 'leader-lost' && event.cause === 'killed')).toHaveLength(KILL_ROUNDS);
  });

  it('pause: a new leader in a higher term; resume: the old leader learns it and follows', async () => {
    const before = await waitFor('a settled leader', settled, FAILOVER_BOUND_MS);
    expect(await playground.execute({ type: 'pause', nodeId: before.id })).toEqual({ ok: true });
    const after = await waitFor('a new leader', () => (leader() !== null && leader()!.id !== before.id ? leader() : null), FAILOVER_BOUND_MS);
    expect(after.term).toBeGreaterThan(before.term);
    expect(playground.snapshot().nodes.find((node) => node.id === before.id)!.status).toBe('paused');
    expect(await playground.execute({ type: 'resume', nodeId: before.id })).toEqual({ ok: true });
    await waitFor(`${before.id} to step down`, () => playground.snapshot().nodes.find((node) => node.id === before.id && node.role === 'follower' && node.term >= after.term), FAILOVER_BOUND_MS);
  });

  it('a partition cuts members apart: etcd says the isolated one has no leader, and the majority elects one without the old leader', async () => {
    const first = await waitFor('a settled leader', settled, FAILOVER_BOUND_MS);
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== first.id)!;
    expect(await playground.execute({ type: 'partition', groups: [[follower]] })).toEqual({ ok: true });
    await waitFor(`etcd to say ${follower} has no leader`, async () => (await statusOf(follower).catch(() => null))?.leader === '0', FAILOVER_BOUND_MS);
    // The other two still have theirs.
    expect(nameOf((await statusOf(first.id)).leader)).toBe(first.id);
    expect(await playground.execute({ type: 'heal' })).toEqual({ ok: true });
    const healed = await waitFor('everyone to follow one leader again', settled, FAILOVER_BOUND_MS);

    expect(await playground.execute({ type: 'partition', preset: 'isolate-leader' })).toEqual({ ok: true });
    const after = await waitFor('the majority to elect another leader', () => (leader() !== null && leader()!.id !== healed.id ? leader() : null), FAILOVER_BOUND_MS);
    expect(after.term).toBeGreaterThan(healed.term);
    const majority = ['n1', 'n2', 'n3'].filter((id) => id !== healed.id);
    for (const id of majority) expect(nameOf((await statusOf(id)).leader)).toBe(after.id);
    // Check-quorum: the cut-off leader steps down.
    await waitFor(`etcd to say ${healed.id} has no leader`, async () => (await statusOf(healed.id).catch(() => null))?.leader === '0', FAILOVER_BOUND_MS);
    expect(playground.history().some((event) => event.type === 'leader-lost' && event.leaderId === healed.id && event.cause === 'cut off')).toBe(true);
    expect(await playground.execute({ type: 'heal' })).toEqual({ ok: true });
    await waitFor('everyone to follow one leader again', settled, FAILOVER_BOUND_MS);
  });

  it('a member that dies on its own is shown down, and restarts from the dashboard', async () => {
    const before = await waitFor('a settled leader', settled, FAILOVER_BOUND_MS);
    const victim = ['n1', 'n2', 'n3'].find((id) => id !== before.id)!;
    process.kill(playground.snapshot().nodes.find((node) => node.id === victim)!.pid!, 'SIGKILL');
    await waitFor(`${victim} down`, () => playground.snapshot().nodes.find((node) => node.id === victim && node.status === 'down'));
    expect(playground.history().some((event) => event.type === 'kill' && event.nodeId === victim)).toBe(true);
    expect((await playground.inspect(victim))!.internals!.lastExit).toMatch(/^exited \(SIGKILL\)/);
    expect(await playground.execute({ type: 'restart', nodeId: victim })).toEqual({ ok: true });
    await waitFor(`${victim} to follow again`, settled, FAILOVER_BOUND_MS);
  });

  it('move-leader moves it', async () => {
    const before = await waitFor('a settled leader', settled, FAILOVER_BOUND_MS);
    const target = ['n1', 'n2', 'n3'].find((id) => id !== before.id)!;
    expect(await playground.execute({ type: 'transfer', nodeId: target })).toEqual({ ok: true });
    const after = await waitFor(`${target} to lead`, () => (leader()?.id === target ? leader() : null), FAILOVER_BOUND_MS);
    expect(after.term).toBeGreaterThan(before.term);
    expect(nameOf((await statusOf(before.id)).leader)).toBe(target);
  });

  it('delays a slow link, and refuses loss and duplication, which a TCP stream cannot have', async () => {
    expect(await playground.execute({ type: 'link', dropProbability: 0.2 })).toEqual({ ok: false, error: expect.stringMatching(/TCP streams, which never lose or duplicate a message/) });
    expect(await playground.execute({ type: 'link', from: 'n1', to: 'n2', duplicateProbability: 0.1 })).toEqual({ ok: false, error: expect.stringMatching(/cut or delayed/) });
    expect(await playground.execute({ type: 'link', latencyMs: 30, jitterMs: 5 })).toEqual({ ok: true });
    expect(playground.snapshot().faults.map((fault) => fault.label)).toEqual(['all links: 30±5 ms']);
    const before = await waitFor('a settled leader', settled, FAILOVER_BOUND_MS);
    const target = ['n1', 'n2', 'n3'].find((id) => id !== before.id)!;
    // Elections still work on slow links.
    expect(await playground.execute({ type: 'transfer', nodeId: target })).toEqual({ ok: true });
    await waitFor(`${target} to lead`, () => leader()?.id === target, FAILOVER_BOUND_MS);
    expect(await playground.execute({ type: 'heal' })).toEqual({ ok: true });
    expect(playground.snapshot().faults).toEqual([]);
  });

  it('says in one line when the etcd binary it is given cannot run', async () => {
    await expect(openTarget({ kind: 'etcd-playground', members: 3 }, { seed: 1, etcdBin: '/nonexistent/etcd' })).rejects.toThrow('the etcd binary /nonexistent/etcd is not an executable file');
  });

  it('stops every member and proxy it started, and removes its data dir', async () => {
    const pids = playground.snapshot().nodes.map((node) => node.pid!);
    const ports = [...details.values()].flatMap((detail) => [new URL(detail.clientUrl).port, new URL(detail.advertisedPeerUrl).port, new URL(detail.peerUrl).port]);
    await playground.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    for (const detail of details.values()) expect(existsSync(detail.dataDir)).toBe(false);
    for (const port of ports) expect(await listening(Number(port))).toBe(false);
  });
});

describe.skipIf(ETCD_SKIP_REASON !== null)('an etcd playground that fails to start', () => {
  it('closes the peer proxies that listened when another could not', async () => {
    const listen = PeerProxy.listen.bind(PeerProxy);
    const listened: number[] = [];
    let calls = 0;
    const spy = vi.spyOn(PeerProxy, 'listen').mockImplementation(async (options, port) => {
      if (++calls === 2) throw new Error('listen EADDRINUSE: address already in use');
      const proxy = await listen(options, port);
      listened.push(Number(new URL(proxy.url).port));
      return proxy;
    });
    try {
      await expect(startEtcdPlayground({ kind: 'etcd-playground', members: 3 }, { etcdBin: ETCD_BIN })).rejects.toThrow('EADDRINUSE');
      // Any proxy still on its way has had time to listen.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(listened).toHaveLength(2);
      for (const port of listened) expect(await listening(port), `port ${port}`).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });
});
