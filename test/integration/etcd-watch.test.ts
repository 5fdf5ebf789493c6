/**
 * Watching a real etcd cluster that the test starts itself on 127.0.0.1, as an operator points
 * Conclave at theirs: the leader and term etcdctl sees, a killed leader's successor, move-leader,
 * refusals of what a watch cannot do, and an unreachable endpoint, a wrong password, a wrong CA
 * and a missing client certificate reported in words, never thrown past the console.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../electron/base/free-ports.js';
import { EtcdCluster } from '../../electron/targets/etcd/cluster.js';
import { startHub } from '../../electron/hub/hub.js';
import { TargetSwitch } from '../../electron/targets/switch.js';
import { openTarget } from '../../electron/targets/open.js';
import type { ClusterSnapshot } from '../../shared/protocol/types.js';
import { ETCD_SKIP_REASON, OPENSSL_SKIP_REASON, etcdctl, etcdctlStatus, makeTestPki, startRawCluster, type RawCluster } from '../support/etcd.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { connectControl, connected, waitFor } from './harness.js';

/** Fast enough for a short test, slow enough for a busy 2-core machine. */
const HEARTBEAT_MS = 50;
const ELECTION_TIMEOUT_MS = 500;
/** A new leader after a fault: an election timeout or two, a pre-vote round, and a loaded machine. */
const FAILOVER_BOUND_MS = 10 * ELECTION_TIMEOUT_MS;

function leaderOf(snapshot: ClusterSnapshot): { id: string; term: number } | null {
  return snapshot.leader === null ? null : { id: snapshot.leader.id, term: snapshot.leader.term };
}

describe.skipIf(ETCD_SKIP_REASON !== null)('watching a real etcd cluster', () => {
  let raw: RawCluster;
  let watch: EtcdCluster;

  beforeAll(async () => {
    raw = await startRawCluster({ members: 3, heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS });
    await waitFor(
      'the cluster to elect a leader',
      async () => {
        const statuses = await etcdctlStatus(raw.endpoints).catch(() => []);
        return statuses.length === 3 && statuses.every((status) => status.leader !== '0' && status.leader === statuses[0]!.leader);
      },
      15_000,
    );
    watch = (await openTarget({ kind: 'etcd', endpoints: [raw.endpoints[0]!] }, { seed: 1 })) as EtcdCluster;
    watch.start();
  });

  afterAll(async () => {
    await watch?.stop();
    await raw?.stop();
  });

  it('shows every member by its etcd name, and the leader and term etcdctl endpoint status shows', async () => {
    // One endpoint given; the others are learned from the member list.
    const snapshot = await waitFor('the leader', () => (watch.snapshot().leader === null ? null : watch.snapshot()));
    expect(snapshot.target).toMatchObject({ kind: 'etcd', label: `etcd cluster via ${raw.endpoints[0]}: 3 members`, faultLeaseMs: null });
    expect(snapshot.nodes.map((node) => [node.id, node.host, node.status, node.reachable, node.voting])).toEqual(raw.members.map((member) => [member.name, member.clientUrl, 'up', true, true]));
    expect(snapshot.config).toMatchObject({ heartbeatMs: HEARTBEAT_MS, electionTimeoutMinMs: ELECTION_TIMEOUT_MS, preVote: false, checkQuorum: true });

    const statuses = await etcdctlStatus(raw.endpoints);
    const truth = statuses[0]!;
    const leaderName = raw.members[statuses.findIndex((status) => status.memberId === truth.leader)]!.name;
    await waitFor('the watch to agree with etcdctl', () => {
      const now = watch.snapshot();
      return now.leader?.id === leaderName && now.leader.term === truth.raftTerm && now.nodes.every((node) => node.term === truth.raftTerm && node.leaderId === leaderName);
    });
    const detail = await watch.inspect(leaderName);
    expect(detail!.internals).toMatchObject({ endpoint: raw.endpoints[raw.members.findIndex((member) => member.name === leaderName)], memberId: truth.leader, leader: leaderName, version: '3.4.23', isLearner: false, errors: [], alarms: [] });
    expect(detail!.internals!.raftIndex).toBeGreaterThan(0);
    expect(detail!.internals!.dbSizeBytes).toBeGreaterThan(0);
    expect(watch.history().filter((event) => event.type === 'quorum').at(-1)).toMatchObject({ leaderId: leaderName, term: truth.raftTerm });
  });

  it('refuses, with the reason, what a watch cannot do', async () => {
    const someone = raw.members[0]!.name;
    expect(await watch.execute({ type: 'kill', nodeId: someone })).toEqual({ ok: false, error: expect.stringMatching(/does not run its members: it cannot kill them/) });
    expect(await watch.execute({ type: 'partition', groups: [[someone]] })).toEqual({ ok: false, error: expect.stringMatching(/cannot partition it/) });
    expect(await watch.execute({ type: 'clock', speed: 0.5 })).toEqual({ ok: false, error: expect.stringMatching(/keep real time/) });
    expect(await watch.execute({ type: 'heal' })).toEqual({ ok: false, error: expect.stringMatching(/nothing for it to heal/) });
    expect(await watch.execute({ type: 'priority', nodeId: someone, priority: 2 })).toEqual({ ok: false, error: expect.stringMatching(/has no member priorities/) });
    expect(watch.snapshot().nodes.every((node) => node.priority === undefined && node.capabilities === undefined)).toBe(true);
    expect(watch.snapshot().leadership).toBeUndefined();
    expect(Object.keys(watch.snapshot().target.unavailable).sort()).toEqual(['capabilities', 'clock', 'configure', 'duplicate', 'kill', 'leadership', 'link', 'loss', 'partition', 'pause', 'priority', 'restart']);
    // A scenario one of whose steps cannot run here is refused before it starts, naming the step and why.
    const scenario = { name: 'kill one', durationMs: 2_000, steps: [{ at: 100, do: { type: 'transfer', node: 'follower' } }, { at: 500, do: { type: 'kill', node: 'leader' }, undoAfter: 500 }], assertions: [] } as const;
    expect(await watch.execute({ type: 'scenario', action: 'run', scenario: { ...scenario, steps: [...scenario.steps], assertions: [] } })).toEqual({
      ok: false,
      error: expect.stringMatching(/^step 2 of "kill one", kill leader, cannot run on this cluster: Conclave watches this etcd cluster and does not run its members/),
    });
    expect(watch.history().some((event) => event.type === 'scenario')).toBe(false);
  });

  it('moves the leader with move-leader', async () => {
    const before = await waitFor('a leader', () => leaderOf(watch.snapshot()));
    const target = raw.members.map((member) => member.name).find((name) => name !== before.id)!;
    expect(await watch.execute({ type: 'transfer', nodeId: target })).toEqual({ ok: true });
    const after = await waitFor(`${target} to lead`, () => (watch.snapshot().leader?.id === target ? leaderOf(watch.snapshot()) : null), FAILOVER_BOUND_MS);
    expect(after.term).toBeGreaterThan(before.term);
    expect(watch.history().some((event) => event.type === 'transfer' && event.from === before.id && event.to === target)).toBe(true);
    const statuses = await etcdctlStatus(raw.endpoints);
    expect(statuses.map((status) => status.leader)).toEqual(statuses.map(() => statuses[raw.members.findIndex((member) => member.name === target)]!.memberId));
  });

  it('shows a killed leader unreachable, then its successor in a higher term; and the member again once it is back', async () => {
    const before = await waitFor('a leader', () => leaderOf(watch.snapshot()));
    const victim = raw.members.find((member) => member.name === before.id)!;
    await victim.kill();
    const after = await waitFor('a new leader', () => (watch.snapshot().leader !== null && watch.snapshot().leader!.id !== before.id ? leaderOf(watch.snapshot()) : null), FAILOVER_BOUND_MS);
    expect(after.term).toBeGreaterThan(before.term);
    const gone = await waitFor('the old leader unreachable', () => watch.snapshot().nodes.find((node) => node.id === before.id && node.reachable === false));
    expect(gone).toMatchObject({ status: 'down', role: null });
    expect((await watch.inspect(before.id))!.internals!.lastError).toMatch(/is unreachable: connect ECONNREFUSED/);
    expect(watch.history().some((event) => event.type === 'leader-lost' && event.leaderId === before.id && event.cause === 'killed')).toBe(true);

    victim.restart();
    const back = await waitFor('the old leader back', () => watch.snapshot().nodes.find((node) => node.id === before.id && node.reachable && node.status === 'up' && node.leaderId === after.id), FAILOVER_BOUND_MS);
    expect(back.role).toBe('follower');
  });

  it('is opened from the dashboard over /control; /metrics shows its leader, and /export.jsonl records it', async () => {
    const context = { seed: 3 };
    const runtime = new TargetSwitch(await openTarget({ kind: 'embedded', nodes: 3 }, context), (spec) => openTarget(spec, context));
    const hub = await startHub({ host: '127.0.0.1', port: 0, token: null, dashboardDir: null, target: runtime });
    runtime.start();
    const control = connectControl(hub.url);
    try {
      await connected(control.socket);
      const ack = await control.socket.timeout(10_000).emitWithAck('command', { type: 'open', target: { kind: 'etcd', endpoints: raw.endpoints } });
      expect(ack).toEqual({ ok: true });
      const snapshot = await waitFor('the etcd leader', () => (control.latest()?.target.kind === 'etcd' && control.latest()!.leader !== null ? control.latest() : null), FAILOVER_BOUND_MS);
      expect(snapshot.nodes.map((node) => node.id)).toEqual(raw.members.map((member) => member.name));
      const metrics = await (await fetch(new URL('/metrics', hub.url))).text();
      expect(metrics).toMatch(/^conclave_has_leader 1$/m);
      expect(metrics).toMatch(new RegExp(`^conclave_leader_term ${snapshot.leader!.term}$`, 'm'));
      const recording = (await (await fetch(new URL('/export.jsonl', hub.url))).text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(recording[0]).toMatchObject({ format: 'conclave-run', algorithm: 'raft', members: raw.members.map((member) => member.name) });
      expect(recording).toContainEqual({ event: expect.objectContaining({ type: 'leader', nodeId: snapshot.leader!.id }) });
      expect(await control.socket.timeout(4_000).emitWithAck('command', { type: 'kill', nodeId: snapshot.leader!.id })).toEqual({ ok: false, error: expect.stringMatching(/cannot kill them/) });
    } finally {
      control.socket.disconnect();
      await runtime.stop();
      await hub.close();
    }
  });

  it('shows an endpoint that does not answer as unreachable, and goes on with the ones that do', async () => {
    const [closed] = await freePorts(1);
    const nowhere = `http://127.0.0.1:${closed}`;
    const alone = await EtcdCluster.watch({ kind: 'etcd', endpoints: [nowhere] });
    try {
      alone.start();
      const snapshot = alone.snapshot();
      expect(snapshot.target.label).toMatch(new RegExp(`^etcd cluster via ${nowhere}: 1 member, unreachable: etcd at ${nowhere} is unreachable: connect ECONNREFUSED`));
      expect(snapshot.nodes).toEqual([expect.objectContaining({ id: `127.0.0.1:${closed}`, status: 'down', reachable: false })]);
      expect(snapshot.leader).toBeNull();
    } finally {
      await alone.stop();
    }
    const partly = await EtcdCluster.watch({ kind: 'etcd', endpoints: [nowhere, ...raw.endpoints] });
    try {
      partly.start();
      expect(partly.snapshot().nodes.map((node) => node.id)).toEqual(raw.members.map((member) => member.name));
    } finally {
      await partly.stop();
    }
  });
});

describe.skipIf(ETCD_SKIP_REASON !== null)('a watch that began before etcd answered', () => {
  it('keeps asking, and once a member answers learns who the members are and starts its run over', async () => {
    const late = await startRawCluster({ members: 1, heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS, start: false });
    const watch = await EtcdCluster.watch({ kind: 'etcd', endpoints: late.endpoints });
    let resets = 0;
    watch.subscribe({ onReset: () => (resets += 1) });
    try {
      watch.start();
      expect(watch.snapshot().nodes).toEqual([expect.objectContaining({ id: new URL(late.endpoints[0]!).host, reachable: false })]);
      expect(watch.snapshot().target.label).toMatch(/unreachable/);
      late.members[0]!.restart();
      await waitFor('the member, by its name, leading', () => watch.snapshot().leader?.id === 'e1', 15_000);
      expect(resets).toBe(1);
      expect(watch.snapshot().target.label).toBe(`etcd cluster via ${late.endpoints[0]}: 1 member`);
      expect(watch.snapshot().config).toMatchObject({ heartbeatMs: HEARTBEAT_MS, electionTimeoutMinMs: ELECTION_TIMEOUT_MS });
    } finally {
      await watch.stop();
      await late.stop();
    }
  });
});

describe.skipIf(ETCD_SKIP_REASON !== null)('a password and members that advertise plain-HTTP URLs nobody named', () => {
  let raw: RawCluster;
  let proxy: TcpProxy;

  beforeAll(async () => {
    // e2 advertises a URL of its own (a proxy the test counts connections at), which the user never names.
    const [proxied] = await freePorts(1);
    raw = await startRawCluster({
      members: 2,
      heartbeatMs: HEARTBEAT_MS,
      electionTimeoutMs: ELECTION_TIMEOUT_MS,
      advertiseClientUrl: (index, clientUrl) => (index === 1 ? `http://127.0.0.1:${proxied}` : clientUrl),
    });
    proxy = await TcpProxy.start(Number(new URL(raw.members[1]!.clientUrl).port), proxied!);
    const first = ['--endpoints', raw.endpoints[0]!];
    await waitFor('etcd to elect', () => etcdctl([...first, 'endpoint', 'health']).catch(() => null), 15_000);
    await etcdctl([...first, 'user', 'add', 'root:root-password']);
    await etcdctl([...first, 'auth', 'enable']);
  });

  afterAll(async () => {
    await proxy?.close();
    await raw?.stop();
  });

  it('the password goes in clear only to URLs the user named: the other member is shown, with why it is not asked', async () => {
    const watch = await EtcdCluster.watch({ kind: 'etcd', endpoints: [raw.endpoints[0]!], username: 'root', password: 'root-password' });
    try {
      watch.start();
      await waitFor('the withheld member explained', () => {
        const internals = watch.inspect('e2')?.internals;
        return typeof internals?.lastError === 'string' && internals.lastError;
      });
      expect(watch.inspect('e2')!.internals!.lastError).toBe(
        `e2 advertises only plain-HTTP URLs (http://127.0.0.1:${proxy.port}) that were not given with --etcd: the password of "root" goes in clear only to URLs you name; add http://127.0.0.1:${proxy.port} to --etcd to watch it, or serve etcd over https`,
      );
      await waitFor('e1 watched', () => watch.snapshot().nodes.find((node) => node.id === 'e1')?.term);
      expect(proxy.accepted).toBe(0);
    } finally {
      await watch.stop();
    }
    // Named, it is asked.
    const named = await EtcdCluster.watch({ kind: 'etcd', endpoints: [raw.endpoints[0]!, `http://127.0.0.1:${proxy.port}`], username: 'root', password: 'root-password' });
    try {
      named.start();
      await waitFor('e2 asked through the URL it advertises', () => proxy.accepted > 0 && named.inspect('e2')?.internals?.lastError === null);
    } finally {
      await named.stop();
    }
  });
});

describe.skipIf(ETCD_SKIP_REASON !== null || OPENSSL_SKIP_REASON !== null)('an etcd cluster with TLS, client certificates and users', () => {
  let raw: RawCluster;
  let dir: string;
  let pki: ReturnType<typeof makeTestPki>;
  const read = (file: string): string => readFileSync(file, 'utf8');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conclave-etcd-pki-'));
    pki = makeTestPki(dir);
    raw = await startRawCluster({
      members: 1,
      heartbeatMs: HEARTBEAT_MS,
      electionTimeoutMs: ELECTION_TIMEOUT_MS,
      scheme: 'https',
      flags: ['--cert-file', pki.serverCert, '--key-file', pki.serverKey, '--trusted-ca-file', pki.ca, '--client-cert-auth'],
    });
    const tlsArgs = ['--endpoints', raw.endpoints[0]!, '--cacert', pki.ca, '--cert', pki.clientCert, '--key', pki.clientKey];
    await waitFor('etcd over TLS', () => etcdctl([...tlsArgs, 'endpoint', 'health']).catch(() => null), 15_000);
    await etcdctl([...tlsArgs, 'user', 'add', 'root:root-password']);
    await etcdctl([...tlsArgs, 'auth', 'enable']);
  });

  afterAll(async () => {
    await raw?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const spec = (overrides: { password?: string; ca?: string; client?: boolean } = {}) => ({
    kind: 'etcd' as const,
    endpoints: raw.endpoints,
    username: 'root',
    password: overrides.password ?? 'root-password',
    tls: { ca: read(overrides.ca ?? pki.ca), ...(overrides.client === false ? {} : { cert: read(pki.clientCert), key: read(pki.clientKey) }) },
  });

  it('watches with the CA, a client certificate and a user', async () => {
    const watch = await EtcdCluster.watch(spec());
    try {
      watch.start();
      await waitFor('the leader', () => watch.snapshot().leader?.id === 'e1');
    } finally {
      await watch.stop();
    }
  });

  it.each([
    ['a wrong password', { password: 'not the password' }, `etcd at https://127.0.0.1:\\d+ refused the user "root": wrong user name or password`],
    ['a CA that did not sign the member', { ca: 'otherCa' }, 'TLS with etcd at https://127.0.0.1:\\d+ failed: .*certificate.* \\(check the CA\\)'],
    ['no client certificate', { client: false }, "etcd at https://127.0.0.1:\\d+ refused this console's client certificate"],
  ])('refuses to open with %s, saying why', async (_case, overrides, message) => {
    const options = 'ca' in overrides ? { ...overrides, ca: pki.otherCa } : overrides;
    await expect(EtcdCluster.watch(spec(options as { password?: string; client?: boolean }))).rejects.toThrow(new RegExp(`^${message}`));
  });
});
