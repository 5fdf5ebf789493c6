/**
 * Agents with certificate files talk TLS, peers and consoles alike, and a member that does not
 * vote follows the leader without ever campaigning or being handed leadership.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialWire } from '../../electron/wire/connection.js';
import { AgentProcess, TOKEN, agreedLeader, makeCluster, sleep, startAgentProcess, statusOf, stopAll, type TestCluster } from './support.js';

const IDS = ['n1', 'n2', 'n3'];
let cluster: TestCluster;
const agents = new Map<string, AgentProcess>();
let tlsFlags: string[] = [];

beforeAll(async () => {
  cluster = await makeCluster({ ids: IDS, learners: ['n3'], timing: { heartbeatMs: 50, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 } });
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: cluster.dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=conclave-test-ca');
  run('req', ...ec, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=127.0.0.1');
  run('x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.pem', '-days', '1');
  tlsFlags = ['--tls-cert', join(cluster.dir, 'node.pem'), '--tls-key', join(cluster.dir, 'node.key'), '--tls-ca', join(cluster.dir, 'ca.pem')];
  for (const id of IDS) agents.set(id, startAgentProcess({ cluster, id, extra: tlsFlags }));
});

afterAll(async () => {
  await stopAll();
  cluster?.remove();
});

describe('agents with TLS and a member that does not vote', () => {
  it('elect over TLS; a console needs a certificate too; the non-voter follows and cannot be handed leadership', async () => {
    const { leader, term } = await agreedLeader(cluster.members, 20_000);
    expect(leader).not.toBe('n3');
    for (const agent of agents.values()) expect((await agent.waitForLog('started')).tls).toBe(true);

    const leaderAddress = cluster.member(leader).address;
    await expect(dialWire({ address: leaderAddress, token: TOKEN, role: 'console', id: 'console@plain', timeoutMs: 2_000 })).rejects.toThrow();
    const tls = { cert: readFileSync(join(cluster.dir, 'node.pem')), key: readFileSync(join(cluster.dir, 'node.key')), ca: readFileSync(join(cluster.dir, 'ca.pem')) };
    const { connection } = await dialWire({ address: leaderAddress, token: TOKEN, role: 'console', id: 'console@tls', tls });
    try {
      const answer = await new Promise<unknown>((resolve) => {
        connection.on('frame', (frame) => {
          if ((frame as { t?: string }).t === 'res') resolve(frame);
        });
        connection.send({ t: 'req', id: 1, op: { op: 'transfer', to: 'n3' } });
      });
      expect(answer).toEqual({ t: 'res', id: 1, ok: false, error: 'n3 does not vote, so it cannot lead' });
    } finally {
      connection.close('test over');
    }

    // 300 idle TCP sockets that never start TLS (a stranger without certificate or token) do not lock
    // consoles or peers out: sockets are counted and timed from the accept, before TLS.
    const port = Number(leaderAddress.split(':')[1]);
    const idle: Socket[] = [];
    try {
      for (let index = 0; index < 300; index++) {
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('error', () => undefined);
        idle.push(socket);
      }
      await sleep(300);
      const { connection: second } = await dialWire({ address: leaderAddress, token: TOKEN, role: 'console', id: 'console@under-flood', tls, timeoutMs: 3_000 });
      second.close('test over');
      expect(idle.filter((socket) => !socket.destroyed).length).toBeLessThanOrEqual(64);
    } finally {
      for (const socket of idle) socket.destroy();
    }

    // With the only other voter gone, no quorum: the leader steps down, and the non-voter never campaigns.
    const other = IDS.find((id) => id !== leader && id !== 'n3')!;
    await agents.get(other)!.stop();
    await agents.get(leader)!.waitForLog(/^now (follower|precandidate)$/, () => true, 10_000);
    // Two maximal election timeouts: a voter would have campaigned by now.
    await sleep(2 * 600 + 300);
    const learner = await statusOf(cluster.member('n3'));
    expect(learner.status.role).toBe('follower');
    expect(learner.electionTimer).toBeNull();
    expect(agents.get('n3')!.logged(/^(now (pre)?candidate|became leader)$/)).toEqual([]);
    expect(learner.status.term).toBe(term);
    agents.set(other, startAgentProcess({ cluster, id: other, extra: tlsFlags }));
    await agreedLeader(cluster.members, 20_000);
  });
});
