/**
 * `conclave <command>`: the plain-Node entry point (no Electron). Commands: serve, agent, sim, scenario, token.
 */
import { constants } from 'node:os';
import { UsageError } from '../base/flags.js';
import { SERVE_USAGE, parseServeArgs } from './flags.js';

// Commands load their code on demand: an agent never loads the hub, the dashboard or etcd's client
// unless it uses them, which keeps its start-up short and its memory small.

const USAGE = `Usage: conclave <command> [flags]

Commands:
  serve     run the hub, an embedded cluster and the dashboard headless
  agent     run one member of a real cluster (elects with its peers; consoles attach to it)
  sim       run the deterministic fault simulator (seeds, replay, failover latency)
  scenario  run a scenario (timed faults and assertions) on the simulator
  token     print a new random token, or the console token of a cluster token

Run "conclave <command> --help" for its flags.`;

export function describeListenError(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return `port ${port} on ${host} is already in use: pick another with --port (0 picks a free one)`;
  if (code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine`;
  if (code === 'EACCES') return `not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`;
  if (code === 'ENOTFOUND') return `cannot resolve host "${host}"`;
  return error instanceof Error ? error.message : String(error);
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Node emits no 'exit' when a signal it has no handler for ends the process, so the exit handlers
 * that kill what serve started (a playground's etcd members) would not run. From the start, a
 * signal exits with 128 + its number, which runs them; once serve is up, the first signal stops
 * it gracefully instead, and another one during that stop exits at once.
 */
function handleStopSignals(): { stopGracefully(stop: () => Promise<void>): void } {
  let graceful: (() => Promise<void>) | null = null;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (graceful === null || stopping) process.exit(128 + constants.signals[signal]);
    stopping = true;
    graceful().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return { stopGracefully: (stop) => (graceful = stop) };
}

/** Runs `serve`; `notice` is printed first when given (the launcher's reason for not opening a window). */
export async function serveCommand(argv: readonly string[], notice?: string): Promise<void> {
  const options = parseServeArgs(argv, process.env);
  if (options === 'help') {
    console.log(SERVE_USAGE);
    return;
  }
  // Before anything starts: a playground takes seconds to start, and a signal meanwhile must still stop it.
  const signals = handleStopSignals();
  let served;
  try {
    const { startServe } = await import('../serve.js');
    served = await startServe(options);
  } catch (error) {
    throw new Error(describeListenError(error, options.host, options.port), { cause: error });
  }
  if (notice) console.log(notice);
  console.log(
    `Conclave: ${served.runtime.snapshot().target.label}${options.cluster.kind === 'embedded' ? ` (seed ${options.seed})` : ''}, dashboard at ${served.dashboardUrl}${options.token === null ? '' : ' (it asks for the hub token)'}`,
  );
  console.log('Press Ctrl+C to stop.');
  signals.stopGracefully(served.stop);
}

/** Runs a command; `notice` is printed before `serve` starts (the launcher's fallback reason). */
export async function main(argv: readonly string[], notice?: string): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        await serveCommand(rest, notice);
        return 0;
      case 'agent':
        return await (await import('../agent/command.js')).agentCommand(rest);
      case 'sim':
        return (await import('../sim/cli.js')).simCommand(rest);
      case 'scenario':
        return (await import('../scenario/cli.js')).scenarioCommand(rest);
      case 'token':
        console.log((await import('./token.js')).tokenCommand(rest, process.env));
        return 0;
      case undefined:
      case '--help':
      case 'help':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (error) {
    console.error(`conclave: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}
