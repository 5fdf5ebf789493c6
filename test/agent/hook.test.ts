/**
 * What an application gets: GET /leader and --on-elected follow the leader lease. The command
 * starts on the leader with its term (the fencing token) once the lease has been held for the
 * grace period, is stopped the moment the lease ends (here: a partition a console sets), when the
 * agent stops, by its watchdog when the agent is frozen or killed, and, when the watchdog was
 * killed too, by the agent's next start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkKey } from '../../shared/protocol/faults.js';
import { AgentProcess, TestConsole, agreedLeader, fileLines, httpGet, makeCluster, startAgentProcess, statusOf, stopAll, waitFor, type TestCluster } from './support.js';

const IDS = ['n1', 'n2', 'n3'];
/** The grace period: SIGTERM, then SIGKILL after it; and a new leader's command waits as long. */
const GRACE_MS = 1_000;
let cluster: TestCluster;
let hookLog = '';
const agents = new Map<string, AgentProcess>();

const HOOK = `echo "start $CONCLAVE_ID $CONCLAVE_TERM $CONCLAVE_LEADER $$" >> "$HOOK_LOG"; trap 'echo "stop $CONCLAVE_ID $CONCLAVE_TERM" >> "$HOOK_LOG"; exit 0' TERM; while :; do sleep 0.05; done`;

function start(id: string): AgentProcess {
  const agent = startAgentProcess({ cluster, id, extra: ['--on-elected', HOOK, '--on-elected-grace-ms', String(GRACE_MS)], env: { HOOK_LOG: hookLog } });
  agents.set(id, agent);
  return agent;
}

const hookLines = (): string[] => fileLines(hookLog);

/** The pid of the command started for `id` in `term`, once it wrote its line. */
async function hookPid(id: string, term: number): Promise<number> {
  const line = await waitFor(`the on-elected command of ${id} in term ${term}`, () => hookLines().find((l) => l.startsWith(`start ${id} ${term} ${id} `)), 10_000);
  return Number(line.split(' ')[4]);
}

/** The parent of a process (the command's: its watchdog). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
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

  it('the command starts once the lease has been held for the grace period, while /leader answers 200 with the lease', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    await hookPid(leader, term);
    const started = agents.get(leader)!.logged('on-elected command started', (line) => line.term === term)[0]!;
    const taken = agents.get(leader)!.logged('leader lease taken', (line) => line.term === term)[0]!;
    expect(started.time - taken.time).toBeGreaterThanOrEqual(GRACE_MS);
    const answer = await httpGet(cluster.member(leader).http, '/leader');
    expect(answer).toEqual({ status: 200, body: { leader, term, leaseMs: expect.any(Number) } });
    expect((await statusOf(cluster.member(leader))).lease).toEqual({ held: true, expiresInMs: expect.any(Number), reason: null });
    const follower = cluster.members.find((m) => m.id !== leader)!;
    expect(await httpGet(follower.http, '/leader')).toEqual({ status: 503, body: { leader, term, reason: `${leader} leads term ${term}; ${follower.id} follows` } });
  });

  it('a frozen leader (SIGSTOP) cannot stop its command: its watchdog does, when the lease ends; the new leader starts its own after the grace', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const pid = await hookPid(leader, term);
    const agent = agents.get(leader)!;
    agent.child.kill('SIGSTOP');
    try {
      await waitFor(`${leader}'s command to be stopped by its watchdog`, () => (hookLines().includes(`stop ${leader} ${term}`) && !running(pid) ? true : undefined), 5_000);
      const next = await agreedLeader(cluster.members.filter((m) => m.id !== leader), 15_000);
      const nextPid = await hookPid(next.leader, next.term);
      expect(running(nextPid)).toBe(true);
    } finally {
      agent.child.kill('SIGCONT');
    }
    await agreedLeader(cluster.members, 15_000);
    expect((await httpGet(cluster.member(leader).http, '/leader')).status).toBe(503);
  });

  it('a SIGKILLed agent\'s command is stopped by its watchdog; one left behind (its watchdog killed too) is stopped when the agent starts again', async () => {
    const first = await agreedLeader(cluster.members);
    const pid = await hookPid(first.leader, first.term);
    await agents.get(first.leader)!.kill('SIGKILL');
    await waitFor(`the command ${pid} to be stopped by its watchdog`, () => (hookLines().includes(`stop ${first.leader} ${first.term}`) && !running(pid) ? true : undefined), 5_000);
    start(first.leader);
    const { leader, term } = await agreedLeader(cluster.members, 15_000);
    const leftover = await hookPid(leader, term);
    // Both at once (the OOM killer, a kill -9 of the lot): neither can stop the command.
    process.kill(parentOf(leftover), 'SIGKILL');
    agents.get(leader)!.child.kill('SIGKILL');
    await agents.get(leader)!.exited;
    expect(running(leftover)).toBe(true);
    const restarted = start(leader);
    await restarted.waitForLog('on-elected command left running by a killed agent: killed', (line) => line.pid === leftover);
    await waitFor(`the leftover command ${leftover} to be gone`, () => (running(leftover) ? undefined : true), 5_000);
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
