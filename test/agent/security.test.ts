/**
 * Real agents under attack from the same machine, as a stranger on the LAN or a holder of a
 * credential would try (issue 16): without a token, nobody starves `/leader` or reads `/status`
 * through a rebinding name, and a flood of refused handshakes is counted, not logged line by line;
 * with the console token, nobody opens a peer connection; and with the cluster token, a term far
 * ahead is refused and raised as an alarm instead of bricking the cluster.
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERM_MAX } from '../../shared/core/election.js';
import { membershipOf } from '../../shared/protocol/cluster-file.js';
import { membershipSchema } from '../../shared/protocol/agent-wire.js';
import { membershipFingerprint } from '../../electron/agent/membership.js';
import { dialWire } from '../../electron/wire/connection.js';
import { consoleTokenOf } from '../../electron/wire/tokens.js';
import { loadClusterFile } from '../../electron/agent/flags.js';
import { AgentProcess, TOKEN, TestConsole, agreedLeader, makeCluster, startAgentProcess, statusOf, stopAll, waitFor, type TestCluster } from './support.js';

const IDS = ['n1', 'n2', 'n3'];
let cluster: TestCluster;
const agents = new Map<string, AgentProcess>();

beforeAll(async () => {
  cluster = await makeCluster({ ids: IDS, timing: { heartbeatMs: 50, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 } });
  for (const id of IDS) agents.set(id, startAgentProcess({ cluster, id }));
  await agreedLeader(cluster.members, 20_000);
});

afterAll(async () => {
  await stopAll();
  cluster?.remove();
});

/** Sockets a test opens, all destroyed at its end. */
function sockets(): { open(port: number, localAddress: string, onConnect?: (socket: Socket) => void): Socket; destroy(): void } {
  const opened = new Set<Socket>();
  return {
    open(port, localAddress, onConnect) {
      const socket = connect({ host: '127.0.0.1', port, localAddress }, () => onConnect?.(socket));
      socket.on('error', () => undefined);
      // Read what comes (a challenge), so that the server's close is seen.
      socket.resume();
      opened.add(socket);
      socket.once('close', () => opened.delete(socket));
      return socket;
    },
    destroy() {
      for (const socket of opened) socket.destroy();
    },
  };
}

/** One request on a connection of its own (as a load balancer's health check makes it), with the Host given; its status and body. */
async function request(address: string, path: string, host = address): Promise<{ status: number; body: string }> {
  const [hostname, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const raw = await new Promise<string>((resolve, reject) => {
    let text = '';
    const socket = connect({ host: hostname, port }, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    socket.setTimeout(2_000, () => socket.destroy(new Error(`no answer from ${address} within 2 s`)));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
}

describe('without any token', () => {
  it('one address holding slow partial requests cannot starve /leader for the others', async () => {
    const { leader } = await agreedLeader(cluster.members);
    const port = Number(cluster.member(leader).http.split(':')[1]);
    const attacker = sockets();
    let attacking = true;
    // 64 sockets from 127.0.0.2 that each send part of a request and then a header line now and then, reopened as they close.
    const keepOne = (): void => {
      if (!attacking) return;
      const socket = attacker.open(port, '127.0.0.2', () => socket.write('GET /leader HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 400);
      socket.once('close', () => {
        clearInterval(drip);
        setTimeout(keepOne, 20);
      });
    };
    for (let index = 0; index < 64; index++) keepOne();
    try {
      await sleep(500);
      const answers: number[] = [];
      for (let round = 0; round < 30; round++) {
        answers.push((await request(cluster.member(leader).http, '/leader').catch(() => ({ status: 0 }))).status);
        await sleep(100);
      }
      expect(answers).toEqual(Array.from({ length: 30 }, () => 200));
    } finally {
      attacking = false;
      attacker.destroy();
    }
  });

  it('/status answers only requests that name the member by one of its addresses (DNS rebinding); /leader answers any', async () => {
    const member = cluster.member('n1');
    const asked = (path: string, host: string) => request(member.http, path, host);
    const rebinding = await asked('/status', 'attacker.example:8400');
    expect(rebinding.status).toBe(421);
    expect(JSON.parse(rebinding.body).error).toContain('"attacker.example" is not an address of this agent (DNS rebinding protection)');
    expect(rebinding.body).not.toContain('members');
    expect((await asked('/status', member.http)).status).toBe(200);
    expect((await asked('/status', `localhost:${member.http.split(':')[1]}`)).status).toBe(200);
    expect([200, 503]).toContain((await asked('/leader', 'attacker.example:8400')).status);
  });
});

describe('with the console token', () => {
  it('a console watches and steers, but cannot open a peer connection', async () => {
    const consoleToken = consoleTokenOf(TOKEN);
    const watching = await TestConsole.attach(cluster.member('n1').address, 'console@least-privilege', consoleToken);
    try {
      expect((await watching.request({ op: 'status' })).ok).toBe(true);
    } finally {
      watching.close();
    }
    await expect(dialWire({ address: cluster.member('n1').address, token: consoleToken, role: 'peer', id: 'n2', expectId: 'n1' })).rejects.toThrow(
      'could not prove it knows the cluster token',
    );
    await agents.get('n1')!.waitForLog('connection refused', (line) => String(line.reason).includes('found this end\'s proof wrong: the two ends have different cluster tokens'));
  });
});

describe('with the cluster token', () => {
  it('a term far ahead, sent as a member, is refused and raised as an alarm; the cluster goes on electing in its own terms', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const [target, posing] = IDS.filter((id) => id !== leader) as [string, string];
    // The member the test poses as is stopped, so that its own reconnections do not replace the test's.
    await agents.get(posing)!.stop();
    const watching = await TestConsole.attach(cluster.member(target).address);
    const membership = membershipSchema.parse(membershipOf(loadClusterFile(cluster.file)));
    const { connection } = await dialWire({
      address: cluster.member(target).address,
      token: TOKEN,
      role: 'peer',
      id: posing,
      expectId: target,
      membership,
      fingerprint: membershipFingerprint(membership),
    });
    try {
      for (let index = 0; index < 20; index++) connection.send({ t: 'msg', m: { kind: 'Heartbeat', from: posing, to: target, term: TERM_MAX } });
      const refused = await waitFor('the term-refused event', () => watching.of('event').find((frame) => frame.event.type === 'term-refused')?.event, 10_000);
      expect(refused).toMatchObject({ type: 'term-refused', peer: posing, term: TERM_MAX, refused: 1 });
      await agents.get(target)!.waitForLog('message with a term implausibly far ahead refused', (line) => line.peer === posing && line.term === TERM_MAX);
      expect((await statusOf(cluster.member(target))).status).toMatchObject({ term, leaderId: leader });
    } finally {
      connection.close('test over');
      watching.close();
      agents.set(posing, startAgentProcess({ cluster, id: posing }));
    }
    const after = await agreedLeader(cluster.members, 20_000);
    expect(after.term).toBeLessThan(term + 1_000);
  });
});

describe('refused handshakes', () => {
  it('are counted per address and said in one line, not logged one by one', async () => {
    const n3 = agents.get('n3')!;
    const port = Number(cluster.member('n3').address.split(':')[1]);
    const before = n3.logged('connection refused').length;
    const flood = sockets();
    try {
      // 200 strangers from 127.0.0.3, each announcing a frame far above the limit.
      await Promise.all(
        Array.from(
          { length: 200 },
          () =>
            new Promise<void>((resolve) => {
              const socket = flood.open(port, '127.0.0.3', () => socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff])));
              socket.once('close', () => resolve());
            }),
        ),
      );
    } finally {
      flood.destroy();
    }
    // The window's count is said when it closes, or when the agent stops.
    await n3.stop();
    const fromFlood = n3.lines.filter((line) => /^127\.0\.0\.3/.test(String(line.address)));
    expect(fromFlood.filter((line) => line.msg === 'connection refused').length).toBeLessThanOrEqual(2);
    const summaries = fromFlood.filter((line) => line.msg === 'connections refused');
    expect(summaries.reduce((sum, line) => sum + Number(line.refused), 0)).toBeGreaterThanOrEqual(195);
    expect(String(summaries[0]!.summary)).toMatch(/^\d+ refused handshakes from 127\.0\.0\.3 in the last 10 s$/);
    expect(n3.logged('connection refused').length - before).toBeLessThanOrEqual(2);
    agents.set('n3', startAgentProcess({ cluster, id: 'n3' }));
    await agreedLeader(cluster.members, 20_000);
  });
});
