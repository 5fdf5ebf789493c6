/**
 * Priorities from the cluster file on three real `conclave agent` processes: the top priority
 * leads, a priority-0 member never does, the preferred member takes leadership back after it
 * restarts (and a console records why), and every agent advertises its capabilities: the file's
 * and what it measures itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachedCluster } from '../../electron/targets/agents/attached.js';
import { AgentProcess, TOKEN, agreedLeader, makeCluster, startAgentProcess, statusOf, stopAll, waitFor, type TestCluster } from './support.js';

const IDS = ['reporting', 'small', 'big'];
const TAKEOVER_MS = 1_000;
let cluster: TestCluster;
const agents = new Map<string, AgentProcess>();

function start(id: string): void {
  agents.set(id, startAgentProcess({ cluster, id }));
}

beforeAll(async () => {
  cluster = await makeCluster({
    ids: IDS,
    timing: { heartbeatMs: 50, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 },
    priorities: { reporting: 0, small: 1, big: 5 },
    capabilities: { big: { zone: 'main', ssd: true } },
    leadership: { takeoverAfterMs: TAKEOVER_MS },
  });
  for (const id of IDS) start(id);
});

afterAll(async () => {
  await stopAll();
  cluster?.remove();
});

describe('three agents with priorities', () => {
  it('the top priority leads; every agent advertises the file’s facts and its own measurements', async () => {
    // Its band of timeouts comes first, but its process may start last: then small leads for a
    // moment and hands over after the takeover delay. The priority-0 member never may.
    const { leader } = await agreedLeader(cluster.members, 20_000, ['small']);
    expect(leader).toBe('big');
    const status = await statusOf(cluster.member('big'));
    expect(status.members.map((member) => member.priority)).toEqual([0, 1, 5]);
    expect(status.leadership).toEqual({ takeoverAfterMs: TAKEOVER_MS, preferredLeader: null });
    expect(status.capabilities).toMatchObject({ zone: 'main', ssd: true, version: expect.any(String) });
    for (const key of ['loadavg', 'freememMb', 'uptimeS']) expect(typeof status.capabilities?.[key], key).toBe('number');
  });

  it('a priority-0 member never leads; the preferred one takes leadership back after it restarts, and the console records why', async () => {
    const attached = await AttachedCluster.open({ addresses: [cluster.member('small').address], token: TOKEN, consoleId: 'console@priorities-test' });
    try {
      attached.start();
      expect(attached.snapshot().nodes.map((node) => [node.id, node.priority])).toEqual([
        ['reporting', 0],
        ['small', 1],
        ['big', 5],
      ]);
      await agents.get('big')!.kill('SIGKILL');
      const survivors = cluster.members.filter((member) => member.id !== 'big');
      const { leader } = await agreedLeader(survivors, 15_000);
      expect(leader).toBe('small');
      start('big');
      const restartedAt = Date.now();
      const back = await agreedLeader(cluster.members, 15_000, ['small']);
      expect(back.leader).toBe('big');
      expect(Date.now() - restartedAt).toBeGreaterThanOrEqual(TAKEOVER_MS);
      const transfer = await waitFor(
        'the console to record the takeover',
        () => attached.history().find((event) => event.type === 'transfer' && event.reason !== undefined),
        5_000,
      );
      expect(transfer).toMatchObject({ from: 'small', to: 'big', reason: 'priority takeover: big (priority 5) over small (priority 1)' });
      expect(attached.history().filter((event) => event.type === 'leader').map((event) => event.nodeId)).not.toContain('reporting');
      expect(attached.snapshot().nodes.find((node) => node.id === 'big')?.capabilities).toMatchObject({ zone: 'main' });
    } finally {
      await attached.stop();
    }
  });
});
