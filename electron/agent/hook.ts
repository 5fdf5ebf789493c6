/**
 * --on-elected: a command that runs while this member holds the leader lease (docs/lease.md), as
 * `consul lock` runs one while it holds the lock. It starts once the member has held the lease for
 * the grace period (so that the previous leader's command, told to stop when its lease ended, is
 * gone even if it had to be killed), with CONCLAVE_TERM (the fencing token), CONCLAVE_LEADER and
 * CONCLAVE_ID in its environment, in its own process group, under a watchdog (hook-watchdog.ts)
 * that holds its own copy of the lease's end: when the lease ends unrenewed, the agent stops or
 * stops answering (SIGSTOP, SIGKILL), the group gets SIGTERM, then SIGKILL after the grace period.
 * The command's pid is kept in the data directory, so that a command left behind (its watchdog
 * killed too) is stopped by the agent's next start. The command gets the agent's environment
 * without its secrets (the cluster token, the etcd password).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '../../shared/protocol/agent-wire.js';
import { findAppRoot } from '../base/app-root.js';
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

/** The lease this member holds now, for the command: in which term, and how long it still runs. */
export interface HeldLease {
  term: number;
  remainingMs: number;
}

export interface LeaderHookOptions {
  command: string;
  graceMs: number;
  id: string;
  dataDir: string;
  log: Logger;
  now: () => number;
  /** The lease held now, or null. */
  lease: () => HeldLease | null;
  onEvent: (event: AgentEvent) => void;
  onChange: () => void;
}

interface Running {
  /** The watchdog, whose IPC channel carries the lease. */
  watchdog: ChildProcess;
  /** The command's pid (its process group), once the watchdog said it. */
  pid: number | null;
  term: number;
  exited: Promise<void>;
  stopping: boolean;
  /** The lease's end (this agent's clock) the watchdog was last told. */
  toldUntil: number;
}

/** setTimeout's longest delay: a lease told to the watchdog never runs longer in one renewal. */
const TIMER_MS_MAX = 2 ** 31 - 1;

/** The built watchdog (out/main/hook-watchdog.js), which runs every --on-elected command. */
function watchdogScript(): string {
  const root = findAppRoot();
  const script = root === null ? null : join(root, 'out', 'main', 'hook-watchdog.js');
  if (script === null || !existsSync(script)) throw new Error('the on-elected watchdog (out/main/hook-watchdog.js) is missing: run "npm run build"');
  return script;
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
  /** Since when (this agent's clock) the lease has been held without a break, and in which term. */
  private heldSince: { at: number; term: number } | null = null;
  private waitTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly options: LeaderHookOptions) {}

  view(): { running: boolean; pid: number | null; term: number | null } {
    const running = this.running;
    return { running: running !== null, pid: running?.pid ?? null, term: running?.term ?? null };
  }

  /**
   * Follows the lease: the command starts once the lease has been held for the grace period,
   * its watchdog is told each renewal, and it is stopped when the lease ends or a new term begins.
   */
  update(): void {
    if (this.stopped) return;
    const { now, graceMs } = this.options;
    const lease = this.options.lease();
    const running = this.running;
    if (running !== null && (lease === null || running.term !== lease.term)) void this.stopCurrent(lease === null ? 'the leader lease ended' : 'a new term');
    if (lease === null) {
      this.heldSince = null;
      return;
    }
    if (this.heldSince === null || this.heldSince.term !== lease.term) this.heldSince = { at: now(), term: lease.term };
    if (this.running !== null) {
      this.renew(this.running, lease);
      return;
    }
    const waitedMs = now() - this.heldSince.at;
    if (waitedMs >= graceMs) {
      this.start(lease);
      return;
    }
    if (this.waitTimer === null) {
      this.waitTimer = setTimeout(() => {
        this.waitTimer = null;
        this.update();
      }, graceMs - waitedMs);
    }
  }

  /** Stops the command (the agent is stopping); resolves once it exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    if (this.running !== null) void this.stopCurrent('the agent is stopping');
    await Promise.all([...this.stopping].map((running) => running.exited));
  }

  private renew(running: Running, lease: HeldLease): void {
    const until = this.options.now() + lease.remainingMs;
    if (until === running.toldUntil || !running.watchdog.connected) return;
    running.toldUntil = until;
    running.watchdog.send({ renew: Math.min(lease.remainingMs, TIMER_MS_MAX) });
  }

  private start(lease: HeldLease): void {
    const { command, graceMs, id, dataDir, log, now, onEvent, onChange } = this.options;
    const { term } = lease;
    const watchdog = spawn(process.execPath, [watchdogScript(), String(graceMs), String(Math.min(lease.remainingMs, TIMER_MS_MAX)), command], {
      // The command's output goes to our stderr: stdout is the agent's JSON log.
      stdio: ['ignore', 2, 2, 'ipc'],
      env: hookEnvironment(process.env, term, id),
    });
    const exited = new Promise<void>((resolve) => watchdog.once('close', () => resolve()));
    const running: Running = { watchdog, pid: null, term, exited, stopping: false, toldUntil: now() + lease.remainingMs };
    this.running = running;
    watchdog.once('error', (error) => log.error({ term, error: error.message }, 'on-elected command could not start'));
    watchdog.on('message', (message: { started?: unknown; stopping?: unknown }) => {
      if (typeof message.stopping === 'string') {
        // The watchdog stops it on its own: the lease ended before this agent could say so (frozen, or late).
        if (!running.stopping) log.info({ term, pid: running.pid, why: message.stopping, graceMs }, 'stopping the on-elected command');
        running.stopping = true;
        return;
      }
      if (typeof message.started !== 'number' || running.pid !== null) return;
      running.pid = message.started;
      try {
        writeFileSync(join(dataDir, HOOK_PID_FILE), describeSelf(running.pid));
      } catch (error) {
        log.warn({ error: (error as Error).message }, 'cannot record the on-elected command pid');
      }
      log.info({ term, pid: running.pid, command }, 'on-elected command started');
      onEvent({ type: 'hook', t: now(), action: 'started', term, pid: running.pid, detail: command.slice(0, 200) });
      onChange();
    });
    watchdog.once('exit', (code, signal) => {
      // A watchdog that was killed leaves its command to this agent.
      if (signal !== null && running.pid !== null) signalGroup(running.pid, 'SIGKILL');
      if (this.running === running) this.running = null;
      this.stopping.delete(running);
      if (running.pid !== null && this.running === null) removePidFile(dataDir, log);
      const how = signal === null ? `exited with code ${code}` : `ended by ${signal}`;
      log.info({ term, pid: running.pid, code, signal }, running.stopping ? 'on-elected command stopped' : 'on-elected command exited on its own');
      onEvent({ type: 'hook', t: now(), action: running.stopping ? 'stopped' : 'exited', term, pid: running.pid, detail: how });
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
    if (running.watchdog.exitCode !== null || running.watchdog.signalCode !== null) return;
    log.info({ term: running.term, pid: running.pid, why, graceMs }, 'stopping the on-elected command');
    if (running.watchdog.connected) running.watchdog.send({ stop: why });
    else running.watchdog.kill('SIGTERM');
    // The watchdog signals the group; should it be gone or stuck, the group is killed from here too.
    const timer = setTimeout(() => {
      if (running.pid !== null) signalGroup(running.pid, 'SIGKILL');
      running.watchdog.kill('SIGKILL');
    }, graceMs + WATCHDOG_SLACK_MS);
    await running.exited;
    clearTimeout(timer);
    if (running.pid !== null) signalGroup(running.pid, 'SIGKILL');
  }
}

/** How long past the grace the agent waits for the watchdog before killing the command's group itself. */
const WATCHDOG_SLACK_MS = 1_000;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone.
  }
}
