/**
 * The --on-elected command's watchdog: a small process between the agent and the command, so
 * that the command stops when the leader lease ends even when the agent cannot stop it (frozen
 * by SIGSTOP, killed by SIGKILL). It runs `/bin/sh -c COMMAND` in a process group of its own and
 * holds its own copy of the lease's end, which the agent renews over the IPC channel:
 *
 *   agent → watchdog   { renew: remainingMs }   the lease runs that much longer from now
 *                      { stop: why }            stop the command
 *   watchdog → agent   { started: pid }         the command's pid (its group's id)
 *                      { stopping: why }        it is stopping the command on its own (the lease ended)
 *
 * When the lease ends unrenewed, the agent says stop or the channel closes (the agent is gone),
 * the group gets SIGTERM, then SIGKILL after the grace; the watchdog exits with the command's code.
 * Usage: node hook-watchdog.js GRACE_MS LEASE_MS COMMAND   (LEASE_MS: how long the lease runs at the start;
 * the environment is the command's)
 */
import { spawn } from 'node:child_process';

/** A renewal is taken to have left the agent this long before it arrived: the lease here ends no later than the agent's. */
const RENEWAL_TRANSIT_MARGIN_MS = 5;

function main(): void {
  const [graceText, leaseText, command] = process.argv.slice(2);
  const graceMs = Number(graceText);
  const leaseMs = Number(leaseText);
  if (command === undefined || !Number.isInteger(graceMs) || graceMs < 0 || !Number.isFinite(leaseMs) || process.send === undefined) {
    process.stderr.write('conclave hook-watchdog: run by an agent, with GRACE_MS LEASE_MS COMMAND and an IPC channel\n');
    process.exit(2);
  }
  const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
  const pid = child.pid;
  let stopping = false;
  let lapse: ReturnType<typeof setTimeout> | null = null;
  const renew = (remainingMs: number): void => {
    if (stopping) return;
    if (lapse !== null) clearTimeout(lapse);
    lapse = setTimeout(() => stop('the leader lease ended without renewal'), Math.max(0, remainingMs - RENEWAL_TRANSIT_MARGIN_MS));
  };

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone.
    }
  };
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    if (process.connected) process.send!({ stopping: why });
    if (lapse !== null) clearTimeout(lapse);
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), graceMs).unref();
  };

  child.once('error', () => process.exit(127));
  child.once('exit', (code, signal) => {
    // The shell is gone; anything it started in the group goes too.
    signalGroup('SIGKILL');
    process.exit(code ?? (signal === null ? 1 : 128));
  });
  if (pid !== undefined) process.send({ started: pid });
  renew(leaseMs);

  process.on('message', (message: { renew?: unknown; stop?: unknown }) => {
    if (typeof message.renew === 'number' && Number.isFinite(message.renew)) {
      renew(message.renew);
    } else if (typeof message.stop === 'string') {
      stop(message.stop);
    }
  });
  // The agent is gone (killed, crashed): nobody can renew the lease or stop the command but us.
  process.once('disconnect', () => stop('the agent is gone'));
  // The agent's own stop signals reach us too when sent to its group: the command stops.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(`${signal} to the watchdog`));
}

main();
