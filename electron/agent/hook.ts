/**
 * --on-elected: a command that runs while this member leads, as `consul lock` runs one while it
 * holds the lock. It starts when the member becomes leader, with CONCLAVE_TERM (the fencing
 * token), CONCLAVE_LEADER and CONCLAVE_ID in its environment, in its own process group; the
 * moment the member stops leading (or the agent stops) the group gets SIGTERM, then SIGKILL after
 * the grace period. Its pid is kept in the data directory, so that an agent killed with SIGKILL
 * (which cannot stop it) stops it when it starts again, and so does its supervisor. The command
 * gets the agent's environment without its secrets (the cluster token, the etcd password).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeStatus } from '../../shared/core/election.js';
import type { AgentEvent } from '../../shared/protocol/agent-wire.js';
import type { Logger } from './log.js';
import { describeSelf, ownerAlive } from './storage.js';

export const HOOK_PID_FILE = 'on-elected.pid';
/** Environment variables the command does not inherit: CONCLAVE_TOKEN, CONCLAVE_CLUSTER_TOKEN, CONCLAVE_ETCD_PASSWORD and any like them. */
const HOOK_SECRET_ENV = /^CONCLAVE_\w*(TOKEN|PASSWORD|SECRET)\w*$/i;

/** The command's environment: the agent's, without secrets, with the term, the leader and this member's id. */
function hookEnvironment(base: NodeJS.ProcessEnv, term: number, id: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(base).filter(([name]) => !HOOK_SECRET_ENV.test(name)));
  return { ...env, CONCLAVE_TERM: String(term), CONCLAVE_LEADER: id, CONCLAVE_ID: id };
}

/** Removes the command's pid file; a failure (a read-only disk) is logged, never thrown from an event handler. */
function removePidFile(dataDir: string, log: Logger): void {
  const path = join(dataDir, HOOK_PID_FILE);
  try {
    rmSync(path, { force: true });
  } catch (error) {
    log.warn({ path, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message }, 'cannot remove the on-elected command pid file');
  }
}

export interface LeaderHookOptions {
  command: string;
  graceMs: number;
  id: string;
  dataDir: string;
  log: Logger;
  now: () => number;
  onEvent: (event: AgentEvent) => void;
  onChange: () => void;
}

interface Running {
  child: ChildProcess;
  term: number;
  exited: Promise<void>;
  stopping: boolean;
}

/** Stops a command a previous run of this agent left running (it was killed before it could). */
export function stopLeftoverHook(dataDir: string, log: Logger): void {
  const path = join(dataDir, HOOK_PID_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  const owner = ownerAlive(text);
  if (owner?.alive === true) {
    try {
      process.kill(-owner.pid, 'SIGKILL');
      log.warn({ pid: owner.pid }, 'on-elected command left running by a killed agent: killed');
    } catch {
      // Gone meanwhile.
    }
  }
  removePidFile(dataDir, log);
}

export class LeaderHook {
  private running: Running | null = null;
  private readonly stopping = new Set<Running>();

  constructor(private readonly options: LeaderHookOptions) {}

  view(): { running: boolean; pid: number | null; term: number | null } {
    const running = this.running;
    return { running: running !== null, pid: running?.child.pid ?? null, term: running?.term ?? null };
  }

  /** Follows the member's status: started on becoming leader, stopped on ceasing to lead. */
  update(status: NodeStatus): void {
    const leading = status.role === 'leader' && status.leaderId === this.options.id;
    if (this.running !== null && (!leading || this.running.term !== status.term)) void this.stopCurrent(leading ? 'a new term' : 'this member no longer leads');
    if (leading && this.running === null) this.start(status.term);
  }

  /** Stops the command (the agent is stopping); resolves once it exited. */
  async stop(): Promise<void> {
    if (this.running !== null) void this.stopCurrent('the agent is stopping');
    await Promise.all([...this.stopping].map((running) => running.exited));
  }

  private start(term: number): void {
    const { command, id, dataDir, log, now, onEvent, onChange } = this.options;
    const child = spawn('/bin/sh', ['-c', command], {
      detached: true,
      // The command's output goes to our stderr: stdout is the agent's JSON log.
      stdio: ['ignore', 2, 2],
      env: hookEnvironment(process.env, term, id),
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const running: Running = { child, term, exited, stopping: false };
    this.running = running;
    child.once('error', (error) => log.error({ term, error: error.message }, 'on-elected command could not start'));
    if (child.pid !== undefined) {
      try {
        writeFileSync(join(dataDir, HOOK_PID_FILE), describeSelf(child.pid));
      } catch (error) {
        log.warn({ error: (error as Error).message }, 'cannot record the on-elected command pid');
      }
    }
    log.info({ term, pid: child.pid ?? null, command }, 'on-elected command started');
    onEvent({ type: 'hook', t: now(), action: 'started', term, pid: child.pid ?? null, detail: command.slice(0, 200) });
    child.once('exit', (code, signal) => {
      if (this.running === running) this.running = null;
      this.stopping.delete(running);
      if (child.pid !== undefined && this.running === null) removePidFile(dataDir, log);
      const how = signal === null ? `exited with code ${code}` : `ended by ${signal}`;
      log.info({ term, pid: child.pid ?? null, code, signal }, running.stopping ? 'on-elected command stopped' : 'on-elected command exited on its own');
      onEvent({ type: 'hook', t: now(), action: running.stopping ? 'stopped' : 'exited', term, pid: child.pid ?? null, detail: how });
      onChange();
    });
    onChange();
  }

  private async stopCurrent(why: string): Promise<void> {
    const running = this.running;
    if (running === null) return;
    this.running = null;
    running.stopping = true;
    this.stopping.add(running);
    const { graceMs, log } = this.options;
    const pid = running.child.pid;
    if (pid === undefined || running.child.exitCode !== null || running.child.signalCode !== null) return;
    log.info({ term: running.term, pid, why, graceMs }, 'stopping the on-elected command');
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await running.exited;
    clearTimeout(timer);
    // The shell is gone; anything it started in the group goes too.
    signalGroup(pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone.
  }
}
