/**
 * `conclave agent`: checks the flags (exit code 2 on a usage error), then runs the agent, or
 * with --supervise a supervisor that runs it as a child. Stops gracefully on SIGTERM or SIGINT;
 * started by another process with an IPC channel, it also stops when that channel closes (its
 * parent died), so that nothing outlives the process that started it.
 */
import { AGENT_USAGE, parseAgentArgs, type AgentSettings } from './flags.js';
import { createLogger, type Logger } from './log.js';
import { startAgent, type RunningAgent } from './node.js';
import { DataDirError } from './storage.js';
import { runSupervisor, SUPERVISED_ENV } from './supervisor.js';

/** A message a supervised agent sends its supervisor before exiting on an error a restart cannot fix. */
export interface FatalNotice {
  fatal: string;
}

export async function agentCommand(argv: readonly string[]): Promise<number> {
  const settings = parseAgentArgs(argv, process.env);
  if (settings === 'help') {
    console.log(AGENT_USAGE);
    return 0;
  }
  const log = createLogger({ pid: process.pid, id: settings.id, component: settings.supervise ? 'supervisor' : 'agent' }, settings.logLevel);
  const code = settings.supervise ? await runSupervisor(settings, argv, log) : await runAgentProcess(settings, log);
  // An IPC channel from the parent would keep the process alive: it is done, so it exits.
  process.exit(code);
}

async function runAgentProcess(settings: AgentSettings, log: Logger): Promise<number> {
  let running: RunningAgent;
  try {
    const runtime = { supervised: process.env[SUPERVISED_ENV] === '1' };
    // etcd's client is loaded only by agents that elect through etcd.
    running =
      settings.etcd === null
        ? await startAgent(settings, log, runtime)
        : await (await import('./etcd-node.js')).startEtcdAgent(settings, settings.etcd, log, runtime);
  } catch (error) {
    const message = describeStartError(error, settings);
    log.fatal({ error: message }, 'cannot start');
    console.error(`conclave agent: ${message}`);
    // A supervisor should not restart an agent whose data directory it must not use.
    if (error instanceof DataDirError && process.send !== undefined && process.connected) {
      await new Promise<void>((resolve) => process.send!({ fatal: message } satisfies FatalNotice, undefined, {}, () => resolve()));
    }
    return 1;
  }
  const reason = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    if (process.send !== undefined) process.once('disconnect', () => resolve('the process that started this agent is gone'));
  });
  await running.stop(reason);
  return 0;
}

function describeStartError(error: unknown, settings: AgentSettings): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const address = (error as { address?: string; port?: number } | undefined)?.address;
  const port = (error as { port?: number } | undefined)?.port;
  const where = address === undefined ? '' : ` ${address}:${port}`;
  if (code === 'EADDRINUSE') return `cannot listen on${where}: the port is in use (another agent of ${settings.id}?)`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on${where}: not an address of this machine (use --listen / --http to bind another)`;
  if (code === 'EACCES') return `cannot listen on${where}: not allowed (ports below 1024 need privileges)`;
  return error instanceof Error ? error.message : String(error);
}
