/**
 * What an application gets: GET /leader and --on-elected follow leadership. The command starts
 * on the leader with its term (the fencing token), is stopped the moment the node stops leading
 * (here: a partition a console sets, which check-quorum turns into a step-down), when the agent
 * stops, and, after a SIGKILL that could not stop it, by the agent's next start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkKey } from '../../shared/protocol/faults.js';
import { AgentProcess, TestConsole, agreedLeader, fileLines, httpGet, makeCluster, startAgentProcess, statusOf, stopAll, waitFor, type TestCluster } from './support.js';

const IDS = ['n1', 'n2', 'n3'];
let cluster: TestCluster;
let hookLog = '';
const agents = new Map<string, AgentProcess>();

const HOOK = `echo "start $CONCLAVE_ID $CONCLAVE_TERM $CONCLAVE_LEADER $$" >> "$HOOK_LOG"; trap 'echo "stop $CONCLAVE_ID $CONCLAVE_TERM" >> "$HOOK_LOG"; exit 0' TERM; while :; do sleep 0.05; done`;

function start(id: string): AgentProcess {
  const agent = startAgentProcess({ cluster, id, extra: ['--on-elected', HOOK, '--on-elected-grace-ms', '3000'], env: { HOOK_LOG: hookLog } });
  agents.set(id, agent);
  return agent;
}

const hookLines = (): string[] => fileLines(hookLog);

/** The pid of the command started for `id` in `term`, once it wrote its line. */
async function hookPid(id: string, term: number): Promise<number> {
  const line = await waitFor(`the on-elected command of ${id} in term ${term}`, () => hookLines().find((l) => l.startsWith(`start ${id} ${term} ${id} `)), 10_000);
  return Number(line.split(' ')[4]);
}

/** Whether the process runs (a zombie nobody reaped yet does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

beforeAll(async () => {
  cluster = await makeCluster({ ids: IDS, timing: { heartbeatMs: 50, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 } });
  hookLog = join(cluster.dir, 'hook.log');
  for (const id of IDS) start(id);
});

afterAll(async () => {
  await stopAll();
  cluster?.remove();
});

describe('--on-elected and /leader follow leadership', () => {
  it('the command runs on the leader only, with the term as a fencing token', async () => {
    const { leader, term } = await agreedLeader(cluster.members, 20_000);
    const pid = await hookPid(leader, term);
    expect(running(pid)).toBe(true);
    expect(hookLines().filter((line) => line.startsWith('start'))).toEqual([`start ${leader} ${term} ${leader} ${pid}`]);
    expect((await statusOf(cluster.member(leader))).leaderHook).toEqual({ running: true, pid, term });
    for (const member of cluster.members.filter((m) => m.id !== leader)) expect((await statusOf(member)).leaderHook).toEqual({ running: false, pid: null, term: null });
  });

  it('a leader that loses leadership stops its command at once; the new leader starts its own with a higher term', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const pid = await hookPid(leader, term);
    const consoles = await Promise.all(cluster.members.map((member) => TestConsole.attach(member.address)));
    const blocked = IDS.filter((id) => id !== leader).flatMap((id) => [linkKey(leader, id), linkKey(id, leader)]);
    try {
      for (const console of consoles) expect(await console.request({ op: 'faults', table: { blocked, links: [] }, version: 'cut-leader', leaseMs: 10_000 })).toMatchObject({ ok: true });
      const next = await agreedLeader(cluster.members.filter((m) => m.id !== leader), 15_000);
      await waitFor(`${leader}'s command to be stopped`, () => (hookLines().includes(`stop ${leader} ${term}`) && !running(pid) ? true : undefined), 10_000);
      await agents.get(leader)!.waitForLog('on-elected command stopped', (line) => line.term === term);
      expect((await httpGet(cluster.member(leader).http, '/leader')).status).toBe(503);
      const nextPid = await hookPid(next.leader, next.term);
      expect(next.term).toBeGreaterThan(term);
      expect(running(nextPid)).toBe(true);
      for (const console of consoles) await console.request({ op: 'faults', table: { blocked: [], links: [] }, version: 'healed', leaseMs: 10_000 });
      expect(await agreedLeader(cluster.members)).toEqual(next);
    } finally {
      for (const console of consoles) console.close();
    }
  });

  it('a command left running by a SIGKILLed agent is stopped when the agent starts again', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const pid = await hookPid(leader, term);
    await agents.get(leader)!.kill('SIGKILL');
    expect(running(pid)).toBe(true);
    const restarted = start(leader);
    await restarted.waitForLog('on-elected command left running by a killed agent: killed', (line) => line.pid === pid);
    await waitFor(`the leftover command ${pid} to be gone`, () => (running(pid) ? undefined : true), 5_000);
    await agreedLeader(cluster.members, 15_000);
  });

  it('SIGTERM to the leading agent stops its command before the agent exits', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const pid = await hookPid(leader, term);
    const agent = agents.get(leader)!;
    await agent.stop();
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(running(pid)).toBe(false);
    expect(hookLines()).toContain(`stop ${leader} ${term}`);
    const messages = agent.lines.map((line) => line.msg);
    const order = messages.slice(messages.indexOf('stopping')).filter((msg) => msg === 'on-elected command stopped' || msg === 'stopped');
    expect(order).toEqual(['on-elected command stopped', 'stopped']);
  });
});
