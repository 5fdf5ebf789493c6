/**
 * `conclave agent --supervise`: a console kills, restarts, pauses and resumes the agent process
 * through its supervisor, with leases; a crash nobody asked for is restarted; SIGTERM stops the
 * agent gracefully; and nothing outlives the process that started it (the supervisor exits when
 * its parent dies, the agent when its supervisor dies).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childStateSchema, type ChildState } from '../../shared/protocol/agent-wire.js';
import { APP_ROOT, BUILT_CLI } from '../support/processes.js';
import { AgentProcess, TOKEN, TestConsole, makeCluster, startAgentProcess, statusOf, stopAll, waitFor, type TestCluster } from './support.js';

let cluster: TestCluster;

beforeAll(async () => {
  // One member: it elects itself, and the test is about processes.
  cluster = await makeCluster({ ids: ['n1'], timing: { heartbeatMs: 50, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 }, faultLeaseMs: 2_000 });
});

afterAll(async () => {
  await stopAll();
  cluster?.remove();
});

/** The kernel's state letter of a process (R, S, T for stopped...), or null when it is gone or a zombie. */
function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0]!;
    return state === 'Z' ? null : state;
  } catch {
    return null;
  }
}

async function stateIs(pid: number, accept: (state: string | null) => boolean, what: string): Promise<void> {
  await waitFor(`process ${pid} ${what}`, () => (accept(processState(pid)) ? true : undefined), 5_000, 10);
}

function agentPids(supervisor: AgentProcess): number[] {
  return supervisor.logged('started', (line) => line.component === 'agent').map((line) => line.pid as number);
}

async function latestChild(console: TestConsole, what: string, accept: (child: ChildState) => boolean): Promise<ChildState> {
  return waitFor(what, () => console.of('child').map((frame) => frame.child).findLast(accept), 15_000);
}

describe('the supervisor', () => {
  it('kills, restarts, pauses and resumes the agent on a console request, with leases', async () => {
    const supervisor = startAgentProcess({ cluster, id: 'n1', extra: ['--supervise'] });
    await supervisor.waitForLog('started', (line) => line.component === 'agent');
    const console = await TestConsole.attach(cluster.member('n1').supervisor);
    try {
      const first = await latestChild(console, 'the first child frame', () => true);
      const pid = agentPids(supervisor)[0]!;
      expect(first).toMatchObject({ state: 'up', pid, restarts: 0, held: null });
      expect((await statusOf(cluster.member('n1'))).supervised).toBe(true);

      const killed = await console.request({ op: 'child', action: 'kill', leaseMs: 60_000 });
      // The cluster file caps leases at 2 s.
      expect(childStateSchema.parse(killed.value)).toMatchObject({ state: 'down', pid: null, held: { action: 'kill' } });
      expect((killed.value as ChildState).held!.expiresInMs).toBeLessThanOrEqual(2_000);
      await waitFor(`agent ${pid} to be gone`, () => (processState(pid) === null ? true : undefined), 5_000);
      const renewed = await console.request({ op: 'renew-child' });
      expect(renewed.value).toMatchObject({ state: 'down', held: { action: 'kill' } });
      const back = await latestChild(console, 'the agent restarted when the kill lapsed', (child) => child.state === 'up' && child.pid !== pid);
      expect(back).toMatchObject({ restarts: 0, lastExit: 'killed by a console', held: null });
      await supervisor.waitForLog('kill hold expired: restarting the agent');

      const paused = await console.request({ op: 'child', action: 'pause', leaseMs: 60_000 });
      expect(paused.value).toMatchObject({ state: 'paused', held: { action: 'pause' } });
      await stateIs(back.pid!, (state) => state === 'T', 'stopped (T)');
      expect(await console.request({ op: 'child', action: 'resume', leaseMs: 1_000 })).toMatchObject({ ok: true, value: { state: 'up', held: null } });
      await stateIs(back.pid!, (state) => state !== null && state !== 'T', 'running again');

      // A pause nobody renews lapses: the supervisor resumes the agent by itself.
      await console.request({ op: 'child', action: 'pause', leaseMs: 1_000 });
      await stateIs(back.pid!, (state) => state === 'T', 'stopped (T)');
      await latestChild(console, 'the pause to lapse', (child) => child.state === 'up' && child.held === null);
      await stateIs(back.pid!, (state) => state !== null && state !== 'T', 'running again');
      await supervisor.waitForLog('pause hold expired: resuming the agent');

      expect((await console.request({ op: 'renew-child' })).error).toBe('no kill or pause is held');
      expect((await console.request({ op: 'status' })).error).toMatch(/^this is n1's supervisor: it answers ping, child and renew-child/);
    } finally {
      console.close();
      await supervisor.stop();
    }
  });

  it('restarts an agent that crashed without being asked to, and stops it gracefully on SIGTERM', async () => {
    const supervisor = startAgentProcess({ cluster, id: 'n1', extra: ['--supervise'] });
    let restarted: ChildState;
    try {
      await supervisor.waitForLog('started', (line) => line.component === 'agent');
      const console = await TestConsole.attach(cluster.member('n1').supervisor);
      const pid = agentPids(supervisor)[0]!;
      process.kill(pid, 'SIGKILL');
      restarted = await latestChild(console, 'the crashed agent restarted', (child) => child.state === 'up' && child.pid !== pid);
      expect(restarted).toMatchObject({ restarts: 1, lastExit: 'killed by SIGKILL' });
      await supervisor.waitForLog('agent crashed: restarting', (line) => line.signal === 'SIGKILL');
      await waitFor('the restarted agent to start', () => (agentPids(supervisor).length === 2 ? true : undefined), 15_000);
      console.close();
    } finally {
      await supervisor.stop();
    }
    expect(await supervisor.exited).toEqual({ code: 0, signal: null });
    expect(supervisor.logged('stopped', (line) => line.component === 'agent' && line.reason === 'SIGTERM')).toHaveLength(1);
    expect(supervisor.logged('supervisor stopped')).toHaveLength(1);
    expect(processState(restarted.pid!)).toBeNull();
  });

  it('an agent whose supervisor died exits; a supervisor whose parent died stops its agent and exits', async () => {
    const supervisor = startAgentProcess({ cluster, id: 'n1', extra: ['--supervise'] });
    await supervisor.waitForLog('started', (line) => line.component === 'agent');
    const orphan = agentPids(supervisor)[0]!;
    await supervisor.kill('SIGKILL');
    try {
      await waitFor(`agent ${orphan} to exit after its supervisor died`, () => (processState(orphan) === null ? true : undefined), 10_000);
    } finally {
      if (processState(orphan) !== null) process.kill(orphan, 'SIGKILL');
    }

    // A parent (as the hub is) that starts a supervisor with an IPC channel, then dies.
    const parent = spawn(
      process.execPath,
      ['-e', `require('node:child_process').spawn(process.execPath, ${JSON.stringify([BUILT_CLI, 'agent', '--supervise', '--id', 'n1', '--cluster', cluster.file, '--data-dir', cluster.dataDir('n1')])}, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }); setInterval(() => {}, 1000);`],
      { cwd: APP_ROOT, env: { ...process.env, CONCLAVE_CLUSTER_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const logs = new AgentProcess(parent, 'parent');
    const pids: number[] = [];
    try {
      pids.push((await logs.waitForLog('supervisor started')).pid as number);
      pids.push((await logs.waitForLog('started', (line) => line.component === 'agent')).pid as number);
      await logs.kill('SIGKILL');
      for (const pid of pids) await waitFor(`process ${pid} to exit after the parent died`, () => (processState(pid) === null ? true : undefined), 10_000);
    } finally {
      for (const pid of pids) if (processState(pid) !== null) process.kill(pid, 'SIGKILL');
    }
  });
  // `serve --processes`: the console starts one supervisor per member; a member it paused must not stay stopped after it.
  for (const end of ['exits', 'is killed'] as const) {
    it(`a paused agent does not outlive the console that started its supervisor when the console ${end}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'conclave-processes-test-'));
      const processes = fileURLToPath(new URL('../../electron/targets/agents/processes.ts', import.meta.url));
      const script = `
        const { startProcesses } = await import(${JSON.stringify(processes)});
        const { readdirSync, readFileSync } = await import('node:fs');
        const target = await startProcesses({ nodes: 3, algorithm: 'raft', config: {}, cli: ${JSON.stringify(BUILT_CLI)}, dataDir: ${JSON.stringify(dir)}, consoleId: 'test' });
        target.start();
        let pid = null;
        for (let i = 0; i < 400 && pid === null; i++) {
          pid = target.snapshot().nodes.find((node) => node.id === 'n1')?.pid ?? null;
          if (pid === null) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // The agent may answer before the console reached its supervisor: retry the pause a while.
        let ack = null;
        for (let i = 0; i < 100 && ack?.ok !== true; i++) {
          if (ack !== null) await new Promise((resolve) => setTimeout(resolve, 100));
          ack = await target.execute({ type: 'pause', nodeId: 'n1' });
        }
        const stat = (of) => {
          try { const text = readFileSync('/proc/' + of + '/stat', 'utf8'); return text.slice(text.lastIndexOf(')') + 2).split(' '); } catch { return []; }
        };
        // Stopped before this process goes: the test cannot look once it has exited.
        for (let i = 0; i < 100 && stat(pid)[0] !== 'T'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
        const children = readdirSync('/proc').filter((name) => stat(name)[1] === String(process.pid)).map(Number);
        console.log(JSON.stringify({ component: 'console', msg: 'paused', pid, state: stat(pid)[0], ack, children }));
        ${end === 'exits' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}
      `;
      const consoleProcess = new AgentProcess(spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: APP_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), 'console');
      let left: number[] = [];
      try {
        const paused = await consoleProcess.waitForLog('paused', () => true, 40_000);
        expect(paused.ack).toEqual({ ok: true });
        const pid = paused.pid as number;
        left = [pid, ...(paused.children as number[])];
        expect(paused.state).toBe('T');
        if (end === 'is killed') await consoleProcess.kill('SIGKILL');
        else expect(await consoleProcess.exited).toEqual({ code: 0, signal: null });
        for (const orphan of left) await waitFor(`process ${orphan} to exit after the console ${end}`, () => (processState(orphan) === null ? true : undefined), 10_000);
      } catch (error) {
        throw new Error(`${String(error)}\n${consoleProcess.describe()}`, { cause: error });
      } finally {
        await consoleProcess.kill('SIGKILL');
        for (const orphan of left) if (processState(orphan) !== null) process.kill(orphan, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
