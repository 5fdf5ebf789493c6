/**
 * Five real `conclave agent` processes on 127.0.0.1 and free ports: they elect, fail over after
 * SIGKILL, keep their term and vote across restarts, refuse what they must (wrong tokens, spoofed
 * senders, malformed and oversized frames, another membership, a corrupt state file), serve
 * consoles (status, events, sent messages, ping, inspect, transfer) and heal by themselves when a
 * console that set a partition goes away.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_BYTES_MAX, faultsResultSchema, inspectResultSchema, pingResultSchema } from '../../shared/protocol/agent-wire.js';
import { linkKey } from '../../shared/protocol/faults.js';
import { membershipOf } from '../../shared/protocol/cluster-file.js';
import { AttachedCluster } from '../../electron/targets/agents/attached.js';
import { dialWire } from '../../electron/wire/connection.js';
import { encodeFrame } from '../../electron/wire/frames.js';
import { loadClusterFile } from '../../electron/agent/flags.js';
import { membershipFingerprint } from '../../electron/agent/membership.js';
import { STATE_FILE, decodeState } from '../../electron/agent/storage.js';
import { AgentProcess, TOKEN, TestConsole, agreedLeader, httpGet, makeCluster, startAgentProcess, statusOf, stopAll, waitFor, type TestCluster } from './support.js';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
let cluster: TestCluster;
const agents = new Map<string, AgentProcess>();

function start(id: string, options: { file?: string; extra?: string[] } = {}): AgentProcess {
  const agent = startAgentProcess({ cluster, id, ...options });
  agents.set(id, agent);
  return agent;
}

function agent(id: string): AgentProcess {
  return agents.get(id)!;
}

function others(...ids: string[]) {
  return cluster.members.filter((member) => !ids.includes(member.id));
}

/** A peer connection as member `id` that the test drives itself (it knows the token and the membership). */
async function impostor(to: string, id: string) {
  const definition = loadClusterFile(cluster.file);
  const membership = membershipOf(definition) as Parameters<typeof dialWire>[0]['membership'];
  const { connection } = await dialWire({ address: cluster.member(to).address, token: TOKEN, role: 'peer', id, expectId: to, membership, fingerprint: membershipFingerprint(membershipOf(definition)) });
  const closed = new Promise<string>((resolve) => connection.once('close', resolve));
  return { connection, closed };
}

beforeAll(async () => {
  cluster = await makeCluster({ ids: IDS, timing: { heartbeatMs: 50, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 }, faultLeaseMs: 3_000 });
  for (const id of IDS) start(id);
});

afterAll(async () => {
  await stopAll();
  cluster?.remove();
});

describe('five agent processes', () => {
  it('elect a leader; GET /leader answers 200 on the leader, with its lease, and 503 with the leader and why elsewhere', async () => {
    const { leader, term } = await agreedLeader(cluster.members, 20_000);
    for (const member of cluster.members) {
      const answer = await httpGet(member.http, '/leader');
      expect(answer, member.id).toEqual(
        member.id === leader
          ? { status: 200, body: { leader, term, leaseMs: expect.any(Number) } }
          : { status: 503, body: { leader, term, reason: `${leader} leads term ${term}; ${member.id} follows` } },
      );
    }
    expect((await httpGet(cluster.members[0]!.http, '/nothing')).status).toBe(404);
    expect(agent(leader).logged('became leader', (line) => line.term === term)).toHaveLength(1);
  });

  it('serve a console: status at once and on change, events, batches of sent messages, ping, inspect', async () => {
    const { leader } = await agreedLeader(cluster.members);
    const console = await TestConsole.attach(cluster.member(leader).address);
    try {
      const first = await waitFor('the first push', () => console.pushes[0], 5_000);
      expect(first.t).toBe('status');
      const before = Date.now();
      const ping = await console.request({ op: 'ping', sentAt: 42 });
      const pinged = pingResultSchema.parse(ping.value);
      expect(pinged.sentAt).toBe(42);
      // Same machine: the agent's epoch-based clock reads what ours does, within the round trip and scheduling.
      expect(Math.abs(pinged.agentNow - before)).toBeLessThan(1_000);
      const inspected = inspectResultSchema.parse((await console.request({ op: 'inspect' })).value);
      expect(inspected.durable).toMatchObject({ votedFor: leader });
      const sent = await waitFor('heartbeats in a sent batch', () => console.of('sent').flatMap((batch) => batch.messages).find((m) => m.kind === 'Heartbeat'), 5_000);
      expect(sent).toMatchObject({ from: leader, dropped: null, duplicate: false });
      expect(console.invalid).toEqual([]);
      const status = console.of('status').at(-1)!.status;
      expect(status).toMatchObject({ id: leader, status: { role: 'leader' }, supervised: false, faults: null });
      expect(Object.values(status.peers).every((peer) => peer.inbound && peer.outbound)).toBe(true);
      expect((await console.request({ op: 'child', action: 'kill', leaseMs: 1_000 })).error).toMatch(/send child to its supervisor at/);
    } finally {
      console.close();
    }
  });

  it('refuse and log wrong tokens, spoofed senders, malformed and oversized frames and floods, survive connections that vanish mid-frame, without disturbing the cluster', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const [target, posing] = others(leader).map((m) => m.id) as [string, string];
    const victim = agent(target);
    // The member the test poses as is stopped, so that its own reconnections do not replace the test's.
    await agent(posing).stop();
    try {
      await expect(dialWire({ address: cluster.member(target).address, token: 'not-the-cluster-token', role: 'peer', id: posing })).rejects.toThrow(
        'could not prove it knows the cluster token',
      );
      await victim.waitForLog(
        'connection refused',
        (line) => /^127\.0\.0\.1:\d+$/.test(String(line.address)) && line.reason === `peer "${posing}" found this end's proof wrong: the two ends have different cluster tokens`,
      );

      // A member that speaks for another: dropped, logged, cut off; the message never reaches the state machine.
      const spoof = await impostor(target, posing);
      spoof.connection.send({ t: 'msg', m: { kind: 'Heartbeat', from: leader, to: target, term: term + 100 } });
      await expect(spoof.closed).resolves.toBe('the connection closed');
      await victim.waitForLog('spoofed sender: connection closed', (line) => line.peer === posing && line.from === leader);

      const malformed = await impostor(target, posing);
      malformed.connection.send({ t: 'msg', m: { kind: 'Heartbeat', from: posing } });
      await malformed.closed;
      await victim.waitForLog('invalid frame: connection closed', (line) => line.peer === posing);

      const oversized = await impostor(target, posing);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(FRAME_BYTES_MAX + 1, 0);
      (oversized.connection as unknown as { socket: Socket }).socket.write(header);
      await oversized.closed;
      await victim.waitForLog(/^peer (lost|left)$/, (line) => String(line.reason).includes(`above the ${FRAME_BYTES_MAX}-byte limit`));

      // A kind the algorithm does not have is not one of its messages.
      const noise = await impostor(target, posing);
      noise.connection.send({ t: 'msg', m: { kind: 'Noise', from: posing, to: target, term: 0 } });
      await noise.closed;
      await victim.waitForLog('invalid frame: connection closed', (line) => line.peer === posing && line.kind === 'Noise');

      const flood = await impostor(target, posing);
      for (let index = 0; index < 3_000; index++) flood.connection.send({ t: 'msg', m: { kind: 'Heartbeat', from: posing, to: target, term: 0 } });
      await victim.waitForLog('peer above its message rate: messages dropped', (line) => line.peer === posing);
      flood.connection.close('test over');

      // Vanishing mid-frame: a console after its handshake, and a stranger before it.
      const vanishing = await TestConsole.attach(cluster.member(target).address, 'console@vanishing');
      const half = encodeFrame({ t: 'req', id: 1, op: { op: 'status' } });
      (vanishing.connection as unknown as { socket: Socket }).socket.end(half.subarray(0, half.length - 3));
      const stranger = connect({ host: '127.0.0.1', port: Number(cluster.member(target).address.split(':')[1]) });
      stranger.on('error', () => undefined);
      stranger.end(Buffer.from([0, 0, 0, 50, 123]));
      await victim.waitForLog('console detached', (line) => line.console === 'console@vanishing');

      expect((await statusOf(cluster.member(target))).status.term).toBeLessThan(term + 100);
      expect(await agreedLeader(others(posing))).toEqual({ leader, term });
    } finally {
      start(posing);
    }
    expect(await agreedLeader(cluster.members)).toEqual({ leader, term });
  });

  it('tell peers when it stops; refuse a member with another membership, both sides logging the field that differs', async () => {
    const { leader } = await agreedLeader(cluster.members);
    const odd = others(leader).at(-1)!.id;
    const lostBefore = agent(leader).logged('peer lost', (line) => line.peer === odd).length;
    await agent(odd).stop();
    // SIGTERM: it said goodbye, so its peers know it left on purpose (no crash hint).
    await agent(leader).waitForLog('peer left', (line) => line.peer === odd);
    expect(agent(leader).logged('peer lost', (line) => line.peer === odd)).toHaveLength(lostBefore);
    const variant = cluster.writeVariant('other-timing.yaml', (input) => {
      input.timing = { ...input.timing, heartbeatMs: 60 };
    });
    const mismatched = start(odd, { file: variant });
    const leaderSays = `membership differs: timing.heartbeatMs: ${leader} has 50, ${odd} has 60`;
    const oddSays = `membership differs: timing.heartbeatMs: ${odd} has 60, ${leader} has 50`;
    await agent(leader).waitForLog('connection refused', (line) => line.reason === `refused peer "${odd}": ${leaderSays}`);
    await mismatched.waitForLog('peer refused us', (line) => line.peer === leader && String(line.reason).endsWith(`refused us: ${leaderSays}`));
    await mismatched.waitForLog('connection refused', (line) => line.reason === `refused peer "${leader}": ${oddSays}`);
    expect((await statusOf(cluster.member(odd))).status.leaderId).toBeNull();
    await mismatched.stop();
    start(odd);
    await agreedLeader(cluster.members);
  });

  it('a console closed in the middle of a partition: the lease expires and the cluster heals itself', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const consoles = await Promise.all(cluster.members.map((member) => TestConsole.attach(member.address, 'console@partition')));
    const blocked = others(leader).flatMap((member) => [linkKey(leader, member.id), linkKey(member.id, leader)]);
    const answers = await Promise.all(consoles.map((console) => console.request({ op: 'faults', table: { blocked, links: [] }, version: 'isolate-leader', leaseMs: 60_000 })));
    for (const answer of answers) {
      // The cluster file caps leases at 3 s.
      expect(faultsResultSchema.parse(answer.value)).toEqual({ version: 'isolate-leader', leaseMs: 3_000, expiresInMs: 3_000 });
    }
    // The majority elects a new leader while the console keeps the partition alive.
    const renewals = setInterval(() => {
      for (const console of consoles) void console.request({ op: 'renew', version: 'isolate-leader' }).catch(() => undefined);
    }, 1_000);
    let partitioned;
    try {
      partitioned = await agreedLeader(others(leader), 15_000);
    } finally {
      clearInterval(renewals);
    }
    expect(partitioned.term).toBeGreaterThan(term);
    const wrongVersion = await consoles[0]!.request({ op: 'renew', version: 'something-else' });
    expect(wrongVersion.error).toBe('the fault table in force is version "isolate-leader" (set by console@partition), not "something-else"');
    for (const console of consoles) console.close();

    for (const member of cluster.members) await agent(member.id).waitForLog('fault lease expired: faults cleared', (line) => line.version === 'isolate-leader', 10_000);
    const healed = await agreedLeader(cluster.members, 15_000);
    expect(healed.term).toBeGreaterThanOrEqual(partitioned.term);
    for (const member of cluster.members) expect((await statusOf(member)).faults, member.id).toBeNull();
  });

  it('enforce link faults with the fabric\'s rules: on sends (cut, delay, duplication) and on receives (cut)', async () => {
    const { leader } = await agreedLeader(cluster.members);
    const [slow, cut, deaf] = others(leader).map((m) => m.id) as [string, string, string];
    const console = await TestConsole.attach(cluster.member(leader).address);
    const deafConsole = await TestConsole.attach(cluster.member(deaf).address);
    try {
      const fault = { cut: false, dropProbability: 0, latencyMs: 40, jitterMs: 0, duplicateProbability: 1 };
      const links = [
        { from: leader, to: slow, fault },
        { from: leader, to: cut, fault: { ...fault, cut: true } },
      ];
      await console.request({ op: 'faults', table: { blocked: [], links }, version: 'links', leaseMs: 3_000 });
      const seen = () => console.of('sent').flatMap((batch) => batch.messages).filter((m) => m.kind === 'Heartbeat');
      const delayed = await waitFor('a delayed, duplicated heartbeat', () => seen().find((m) => m.to === slow && m.duplicate), 5_000);
      expect(delayed.deliverT! - delayed.sentT).toBe(40);
      expect(await waitFor('a heartbeat dropped by the cut', () => seen().find((m) => m.to === cut && m.dropped !== null), 5_000)).toMatchObject({ dropped: 'cut', deliverT: null });
      // Only the receiver knows about this cut: it stops hearing the leader, and campaigns (pre-vote).
      await deafConsole.request({ op: 'faults', table: { blocked: [], links: [{ from: leader, to: deaf, fault: { ...fault, cut: true } }] }, version: 'deaf', leaseMs: 3_000 });
      const at = Date.now();
      await agent(deaf).waitForLog('now precandidate', (line) => line.time >= at, 10_000);
      for (const [c, version] of [[console, 'links-cleared'], [deafConsole, 'deaf-cleared']] as const) await c.request({ op: 'faults', table: { blocked: [], links: [] }, version, leaseMs: 1_000 });
      await agreedLeader(cluster.members);
    } finally {
      console.close();
      deafConsole.close();
    }
  });

  it('the hub\'s console attaches through any one agent, shows the real leader, partitions through the agents and releases it on detach', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const attached = await AttachedCluster.open({ addresses: [cluster.members[0]!.address], token: TOKEN, consoleId: 'console@hub-test' });
    try {
      attached.start();
      const shown = await waitFor('the console to show the leader', () => (attached.snapshot().leader?.id === leader ? attached.snapshot() : undefined), 10_000);
      expect(shown.nodes.map((node) => node.id)).toEqual(IDS);
      expect(await attached.execute({ type: 'partition', preset: 'isolate-leader' })).toMatchObject({ ok: true });
      const next = await agreedLeader(others(leader), 15_000);
      expect(next.term).toBeGreaterThan(term);
    } finally {
      await attached.stop();
    }
    for (const member of cluster.members) await waitFor(`${member.id} to drop the console's faults`, async () => ((await statusOf(member)).faults === null ? true : undefined), 15_000);
    await agreedLeader(cluster.members);
  });

  it('hand leadership over on a console request, and say why not when the target cannot take it', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const target = others(leader)[0]!.id;
    const console = await TestConsole.attach(cluster.member(leader).address);
    try {
      expect((await console.request({ op: 'transfer', to: 'n99' })).error).toBe('n99 is not a member');
      expect(await console.request({ op: 'transfer', to: target })).toMatchObject({ ok: true });
      const after = await agreedLeader(cluster.members);
      expect(after.leader).toBe(target);
      expect(after.term).toBeGreaterThan(term);
    } finally {
      console.close();
    }
  });

  it('SIGKILL of the leader gives a new leader; restarted on its data dir, it rejoins as a follower with its term and vote intact', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    await agent(leader).kill('SIGKILL');
    const next = await agreedLeader(others(leader), 15_000);
    expect(next.term).toBeGreaterThan(term);
    for (const member of others(leader)) {
      expect(agent(member.id).logged('peer lost', (line) => line.peer === leader).length, member.id).toBeGreaterThan(0);
    }
    const path = join(cluster.dataDir(leader), STATE_FILE);
    const onDisk = decodeState(readFileSync(path, 'utf8'), path, leader, 'raft');
    const restarted = start(leader);
    const started = await restarted.waitForLog('started');
    expect({ term: started.term, votedFor: started.votedFor }).toEqual(onDisk);
    expect(onDisk.term).toBeGreaterThanOrEqual(term);
    // It follows the new leader, which it did not depose.
    expect(await agreedLeader(cluster.members)).toEqual(next);
    expect(restarted.logged('became leader')).toEqual([]);
  });

  it('refuse a corrupt or truncated state file with a clear error instead of starting from zero', async () => {
    const { leader } = await agreedLeader(cluster.members);
    const victim = others(leader)[0]!.id;
    await agent(victim).kill('SIGKILL');
    const path = join(cluster.dataDir(victim), STATE_FILE);
    const good = readFileSync(path, 'utf8');
    const cases: Array<[string, string]> = [
      [good.replace(/"term":(\d+)/, (_match, digits: string) => `"term":${Number(digits) + 1}`), 'fails its checksum (corrupt)'],
      [good.slice(0, good.length / 2), 'is not valid JSON (corrupt or truncated)'],
    ];
    for (const [content, words] of cases) {
      writeFileSync(path, content);
      const refused = start(victim);
      expect(await refused.exited).toEqual({ code: 1, signal: null });
      expect(refused.stderr).toContain(`conclave agent: ${path} ${words}; the agent will not start from zero on its own (--reset-state discards the state, if you mean it)`);
      expect(refused.logged('cannot start')).toHaveLength(1);
      expect(refused.logged('started')).toEqual([]);
      expect(readFileSync(path, 'utf8')).toBe(content);
    }
    writeFileSync(path, good);
    start(victim);
    await agreedLeader(cluster.members);
  });
});
