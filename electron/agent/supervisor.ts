/**
 * `conclave agent --supervise`: a small parent process that runs the agent as its child, restarts
 * it with backoff after a crash nobody asked for, and takes consoles on the member's supervisor
 * address: kill (SIGKILL; it stays down for the lease unless renewed), start, pause (SIGSTOP, a
 * real freeze, held for the lease unless renewed) and resume (SIGCONT). It pushes the child's
 * state to every console on each change. SIGTERM stops the agent gracefully first; a supervisor
 * started by another process exits when that process's IPC channel closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { Backoff } from '../../shared/core/backoff.js';
import { createRandom } from '../../shared/core/random.js';
import type { ChildState, RequestOp } from '../../shared/protocol/agent-wire.js';
import { RealClock, type TimerHandle } from '../runtime/clock.js';
import { listenWire } from '../wire/connection.js';
import { CONSOLES_MAX, ConsoleSession, WIRE_CONNECTIONS_MAX } from './consoles.js';
import { Lease } from './lease.js';
import type { AgentSettings } from './flags.js';
import { stopLeftoverHook } from './hook.js';
import type { Logger } from './log.js';
import { RefusalLog } from './refusal-log.js';

/** Set in the child's environment: the agent reports `supervised: true`. */
export const SUPERVISED_ENV = 'CONCLAVE_SUPERVISED';
/**
 * Restart backoff after crashes: from the minimum, doubling to the cap, with equal jitter (backoff.ts):
 * members that crashed from one cause do not restart in step, yet each waits about what the doubling
 * says; reset once a run lasted STABLE_RUN_MS.
 */
export const RESTART_MS_MIN = 250;
export const RESTART_MS_MAX = 10_000;
export const STABLE_RUN_MS = 30_000;
/** How long a stopping agent gets (beyond its --on-elected grace) before SIGKILL. */
export const AGENT_STOP_GRACE_MS = 5_000;

interface Held {
  action: 'kill' | 'pause';
  lease: Lease;
}

/** The agent's arguments for the child: the same, without --supervise (and --reset-state only the first time). */
export function childArguments(argv: readonly string[], firstStart: boolean): string[] {
  return argv.filter((arg) => arg !== '--supervise' && (firstStart || arg !== '--reset-state'));
}

export async function runSupervisor(settings: AgentSettings, argv: readonly string[], log: Logger): Promise<number> {
  const clock = new RealClock(Date.now());
  const consoles = new Set<ConsoleSession>();
  let child: ChildProcess | null = null;
  let state: ChildState['state'] = 'down';
  let restarts = 0;
  let starts = 0;
  let lastExit: string | null = null;
  let held: Held | null = null;
  /** Why the running child will exit, when we asked it to. */
  let expecting: string | null = null;
  /** An error the agent reported before exiting, which a restart would not fix. */
  let fatal: string | null = null;
  const restartBackoff = new Backoff({ delayMsMin: RESTART_MS_MIN, delayMsMax: RESTART_MS_MAX, jitter: 'equal' }, createRandom(randomInt(2 ** 32 - 1)));
  let runStartedAt = 0;
  let restartTimer: TimerHandle | null = null;
  let stopping = false;
  let childExited: Promise<void> = Promise.resolve();
  const faultLeaseMsMax = settings.cluster.faultLeaseMs;

  const view = (): ChildState => ({
    state,
    pid: child?.pid ?? null,
    restarts,
    lastExit: lastExit?.slice(0, 200) ?? null,
    held: held === null ? null : { action: held.action, expiresInMs: held.lease.expiresInMs() },
  });
  const changed = (): void => {
    const frame = { t: 'child' as const, member: settings.id, child: view() };
    for (const session of consoles) session.push(frame);
  };

  const start = (): void => {
    if (child !== null || stopping) return;
    const args = childArguments(argv, starts === 0);
    if (starts === 1 && argv.includes('--reset-state')) log.info({}, '--reset-state applied to the first start only');
    starts += 1;
    fatal = null;
    const started = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'agent', ...args], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [SUPERVISED_ENV]: '1' },
    });
    child = started;
    state = 'up';
    runStartedAt = clock.now();
    childExited = new Promise((resolve) => started.once('exit', () => resolve()));
    started.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && typeof (message as { fatal?: unknown }).fatal === 'string') fatal = (message as { fatal: string }).fatal;
    });
    started.once('error', (error) => log.error({ error: error.message }, 'cannot start the agent'));
    started.once('exit', (code, signal) => exited(started, code, signal));
    log.info({ pid: started.pid ?? null }, 'agent started');
    changed();
  };

  const exited = (which: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    if (child !== which) return;
    child = null;
    state = 'down';
    const how = signal === null ? `exited with code ${code}` : `killed by ${signal}`;
    lastExit = expecting ?? (fatal !== null ? `refused to start: ${fatal}` : how);
    const asked = expecting !== null;
    expecting = null;
    // A killed agent cannot stop its --on-elected command: its supervisor does.
    stopLeftoverHook(settings.dataDir, log);
    if (stopping || asked) {
      log.info({ code, signal, why: lastExit }, 'agent exited');
    } else if (fatal !== null || code === 2) {
      log.error({ code, why: lastExit }, 'agent cannot run: not restarting it');
    } else {
      if (clock.now() - runStartedAt >= STABLE_RUN_MS) restartBackoff.reset();
      const delayMs = Math.round(restartBackoff.next());
      restarts += 1;
      log.warn({ code, signal, delayMs }, 'agent crashed: restarting');
      restartTimer = clock.setTimer(clock.now() + delayMs, () => {
        restartTimer = null;
        if (held?.action !== 'kill') start();
      });
    }
    changed();
  };

  const release = (): void => {
    held?.lease.cancel();
    held = null;
  };

  const hold = (action: Held['action'], leaseMs: number): void => {
    release();
    const entry: Held = { action, lease: new Lease(clock, Math.min(leaseMs, faultLeaseMsMax), () => lapse(entry)) };
    held = entry;
  };

  const lapse = (entry: Held): void => {
    if (held !== entry) return;
    held = null;
    log.warn({ action: entry.action }, `${entry.action} hold expired: ${entry.action === 'kill' ? 'restarting the agent' : 'resuming the agent'}`);
    if (entry.action === 'kill') start();
    else if (child !== null && state === 'paused') {
      child.kill('SIGCONT');
      state = 'up';
    }
    changed();
  };

  const act = async (op: Extract<RequestOp, { op: 'child' }>, by: string): Promise<ChildState> => {
    log.info({ action: op.action, console: by, leaseMs: op.leaseMs }, 'console acts on the agent');
    switch (op.action) {
      case 'kill':
        if (restartTimer !== null) clock.clearTimer(restartTimer);
        restartTimer = null;
        hold('kill', op.leaseMs);
        if (child !== null) {
          expecting = 'killed by a console';
          child.kill('SIGKILL');
          // SIGKILL cannot be caught: answer once it is done, with the agent down.
          await childExited;
        }
        break;
      case 'start':
        release();
        if (restartTimer !== null) clock.clearTimer(restartTimer);
        restartTimer = null;
        restartBackoff.reset();
        if (child !== null && state === 'paused') {
          child.kill('SIGCONT');
          state = 'up';
        } else start();
        break;
      case 'pause':
        if (child === null) throw new Error(`${settings.id}'s agent is down`);
        hold('pause', op.leaseMs);
        if (state !== 'paused') {
          child.kill('SIGSTOP');
          state = 'paused';
        }
        break;
      case 'resume':
        if (held?.action === 'pause') release();
        if (child !== null && state === 'paused') {
          child.kill('SIGCONT');
          state = 'up';
        }
        break;
    }
    changed();
    return view();
  };

  const handle = (op: RequestOp, session: ConsoleSession): unknown => {
    switch (op.op) {
      case 'ping':
        return { sentAt: op.sentAt, agentNow: clock.now() };
      case 'child':
        return act(op, session.name);
      case 'renew-child': {
        if (held === null) throw new Error('no kill or pause is held');
        held.lease.renew();
        changed();
        return view();
      }
      default:
        throw new Error(`this is ${settings.id}'s supervisor: it answers ping, child and renew-child; the agent is at ${settings.member.address}`);
    }
  };

  const strangers = new RefusalLog(log);
  const server = await listenWire({
    host: settings.supervisorListen.host,
    port: settings.supervisorListen.port,
    id: settings.id,
    token: settings.token,
    ...(settings.tls === null ? {} : { tls: settings.tls }),
    connectionsMax: WIRE_CONNECTIONS_MAX,
    admit: (hello) => {
      if (stopping) return 'stopping';
      if (hello.role !== 'console') return 'a supervisor takes consoles only';
      return consoles.size >= CONSOLES_MAX ? `at most ${CONSOLES_MAX} consoles at once` : null;
    },
    onConnection: (connection, hello) => {
      const session = new ConsoleSession(connection, handle, log);
      consoles.add(session);
      log.info({ console: hello.id, address: connection.remoteAddress }, 'console attached');
      connection.once('close', () => consoles.delete(session));
      session.push({ t: 'child', member: settings.id, child: view() });
    },
    onRefused: (address, reason, authenticated) => (authenticated ? log.warn({ address, reason }, 'connection refused') : strangers.refused(address, reason)),
  });
  log.info({ listen: `${settings.supervisorListen.host}:${server.port}`, pid: process.pid }, 'supervisor started');
  // However this process ends (an uncaught exception too), the agent ends with it: a paused agent
  // left behind could never act on its IPC channel closing, and would stay stopped for good.
  process.on('exit', () => child?.kill('SIGKILL'));
  start();

  const reason = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    if (process.send !== undefined) process.once('disconnect', () => resolve('the process that started this supervisor is gone'));
  });
  stopping = true;
  log.info({ reason }, 'supervisor stopping');
  release();
  if (restartTimer !== null) clock.clearTimer(restartTimer);
  const running = child as ChildProcess | null;
  if (running !== null) {
    expecting = 'stopped with its supervisor';
    if ((state as ChildState['state']) === 'paused') running.kill('SIGCONT');
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), settings.onElectedGraceMs + AGENT_STOP_GRACE_MS);
    await childExited;
    clearTimeout(timer);
  }
  clock.stop();
  for (const session of consoles) session.connection.close('the supervisor is stopping');
  await server.close();
  strangers.stop();
  log.info({}, 'supervisor stopped');
  return 0;
}
