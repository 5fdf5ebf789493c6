/**
 * A real network: three agents in their own network namespaces, each with its own address on a
 * virtual bridge. Taking the leader's link down cuts it for real; the other two elect a new
 * leader; when the link comes back the node rejoins without deposing that leader. Needs root and
 * `ip netns`; skipped, saying why, where namespaces cannot be made. Every namespace, link and
 * bridge the test made is removed.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, agreedLeader, makeCluster, startAgentProcess, statusOf, stopAll, waitFor, type TestCluster } from './support.js';

const IDS = ['n1', 'n2', 'n3'];
const tag = `cv${process.pid % 100_000}`;
const bridge = `${tag}br`;
const namespaces = IDS.map((id) => `${tag}${id}`);
// A /24 in 10.0.0.0/8 unlikely to be in use here: drawn per run, checked against the routes.
const subnet = `10.${200 + (process.pid % 50)}.${Math.floor(Math.random() * 250) + 1}`;
const made: Array<() => void> = [];

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function namespaceProblem(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'making network namespaces needs root';
  const probe = `${tag}probe`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
  } catch (error) {
    return `ip netns does not work here: ${String((error as { stderr?: string }).stderr ?? error).trim()}`;
  }
  if (ip('route').includes(`${subnet}.`)) return `${subnet}.0/24 is already routed here`;
  return null;
}

const problem = namespaceProblem();
if (problem !== null) console.log(`netns test skipped: ${problem}`);

function setUpNetwork(): void {
  ip('link', 'add', bridge, 'type', 'bridge');
  made.push(() => ip('link', 'del', bridge));
  ip('addr', 'add', `${subnet}.254/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  namespaces.forEach((ns, index) => {
    const host = `${tag}h${index + 1}`;
    const inside = `${tag}c${index + 1}`;
    ip('netns', 'add', ns);
    made.push(() => ip('netns', 'del', ns));
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', inside);
    // Deleting one end deletes the pair at once (a namespace's own deletion is deferred by the kernel).
    made.push(() => ip('link', 'del', host));
    ip('link', 'set', inside, 'netns', ns);
    ip('link', 'set', host, 'master', bridge);
    ip('link', 'set', host, 'up');
    ip('-n', ns, 'addr', 'add', `${subnet}.${index + 1}/24`, 'dev', inside);
    ip('-n', ns, 'link', 'set', inside, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  });
}

function linkOf(id: string): { ns: string; device: string } {
  const index = IDS.indexOf(id);
  return { ns: namespaces[index]!, device: `${tag}c${index + 1}` };
}

let cluster: TestCluster;
const agents = new Map<string, AgentProcess>();

beforeAll(async () => {
  if (problem !== null) return;
  setUpNetwork();
  cluster = await makeCluster({ ids: IDS, hosts: IDS.map((_, index) => `${subnet}.${index + 1}`), timing: { heartbeatMs: 50, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 } });
  IDS.forEach((id, index) => agents.set(id, startAgentProcess({ cluster, id, prefix: ['ip', 'netns', 'exec', namespaces[index]!] })));
});

afterAll(async () => {
  await stopAll();
  cluster?.remove();
  if (problem !== null) return;
  const errors: string[] = [];
  for (const undo of made.reverse()) {
    try {
      undo();
    } catch (error) {
      errors.push(String((error as { stderr?: string }).stderr ?? error).trim());
    }
  }
  const left = ip('netns', 'list').split('\n').filter((line) => line.startsWith(tag));
  const links = ip('-o', 'link', 'show').split('\n').filter((line) => line.includes(tag));
  if (errors.length > 0 || left.length > 0 || links.length > 0) throw new Error(`cleanup left ${[...left, ...links, ...errors].join('; ')}`);
});

describe.skipIf(problem !== null)('agents in network namespaces on a virtual bridge', () => {
  it('a leader whose link goes down is replaced; when the link is back it rejoins without deposing the new leader', async () => {
    const { leader, term } = await agreedLeader(cluster.members, 20_000);
    const rest = cluster.members.filter((member) => member.id !== leader);
    const { ns, device } = linkOf(leader);

    const cutAt = Date.now();
    ip('-n', ns, 'link', 'set', device, 'down');
    const next = await agreedLeader(rest, 20_000);
    expect(next.term).toBeGreaterThan(term);
    // Cut for real: the old leader hears from nobody, steps down (check-quorum), and its election
    // timer runs out; it asks for pre-votes, alone, without raising its term.
    await agents.get(leader)!.waitForLog('now precandidate', (line) => line.time >= cutAt && line.term === term, 10_000);

    ip('-n', ns, 'link', 'set', device, 'up');
    const back = await waitFor(
      `${leader} to follow ${next.leader} again`,
      async () => {
        const status = await statusOf(cluster.member(leader));
        return status.status.leaderId === next.leader ? status : undefined;
      },
      30_000,
      100,
    );
    expect(back.status).toMatchObject({ role: 'follower', term: next.term });
    expect(await agreedLeader(cluster.members)).toEqual(next);
  });
});
