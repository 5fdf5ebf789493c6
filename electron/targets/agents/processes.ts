/**
 * Real agent processes on this machine, for a newcomer and for CI: a cluster file for N agents on
 * 127.0.0.1 and free ports, a random token, one `conclave agent --supervise` per member with its
 * own data dir, then a console attached to them. Every process started here is stopped when the
 * target stops; if this process dies first, its children see their IPC channel close and exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlgorithmName, ElectionConfig } from '../../../shared/core/election.js';
import { MAX_MEMBERS } from '../../../shared/protocol/cluster-file.js';
import { freePorts } from '../../base/free-ports.js';
import type { ManagedTarget } from '../target.js';
import { consoleTokenOf, newToken } from '../../wire/tokens.js';
import { AttachedCluster } from './attached.js';

/** How long the agents may take to start answering. */
export const PROCESSES_START_TIMEOUT_MS = 20_000;
/** Supervisors get this long to stop their agents before they are killed. */
export const PROCESSES_STOP_TIMEOUT_MS = 5_000;
const LOG_LINES_KEPT = 50;

export interface ProcessesOptions {
  nodes: number;
  algorithm: AlgorithmName;
  config: Partial<ElectionConfig>;
  /** The built CLI the agents run (out/main/cli.js). */
  cli: string;
  /** Where the data dirs go; a temporary folder, removed at stop, when null. */
  dataDir: string | null;
  consoleId: string;
}

class Supervised {
  readonly log: string[] = [];

  constructor(
    readonly id: string,
    readonly process: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        this.log.push(line);
        if (this.log.length > LOG_LINES_KEPT) this.log.shift();
      }
    };
    process.stdout?.on('data', keep);
    process.stderr?.on('data', keep);
    // Without these, a supervisor that outlives our interest in it could block on a full pipe.
    process.stdout?.resume();
    process.stderr?.resume();
  }

  get exited(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  /** The last thing it said, to explain a failure. */
  lastWords(): string {
    return this.log.at(-1)?.slice(0, 300) ?? 'no output';
  }
}

export async function startProcesses(options: ProcessesOptions): Promise<ManagedTarget> {
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > MAX_MEMBERS) {
    throw new Error(`agent processes: 1 to ${MAX_MEMBERS} nodes (got ${options.nodes})`);
  }
  const temporary = options.dataDir === null;
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'conclave-processes-'));
  mkdirSync(dir, { recursive: true });
  const ports = await freePorts(3 * options.nodes);
  const members = Array.from({ length: options.nodes }, (_, index) => ({
    id: `n${index + 1}`,
    address: `127.0.0.1:${ports[3 * index]}`,
    http: `127.0.0.1:${ports[3 * index + 1]}`,
    supervisor: `127.0.0.1:${ports[3 * index + 2]}`,
  }));
  const clusterFile = join(dir, 'cluster.json');
  writeFileSync(clusterFile, JSON.stringify({ name: 'processes on this machine', algorithm: options.algorithm, timing: options.config, members }, null, 2));
  const token = newToken();
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

  const supervised: Supervised[] = [];
  const signalAll = (signal: NodeJS.Signals): void => {
    for (const child of supervised) if (!child.exited) child.process.kill(signal);
  };
  // Whatever way this process ends normally, its children end with it. SIGTERM, not SIGKILL: a
  // supervisor that is told to stop resumes a paused agent and stops it; a killed one would leave
  // it stopped (SIGSTOP) for good, holding its ports and data dir.
  const terminateAll = (): void => signalAll('SIGTERM');
  process.once('exit', terminateAll);
  const stopAll = async (): Promise<void> => {
    process.off('exit', terminateAll);
    const exits = supervised.filter((child) => !child.exited).map((child) => new Promise((resolve) => child.process.once('exit', resolve)));
    signalAll('SIGTERM');
    const timer = setTimeout(() => signalAll('SIGKILL'), PROCESSES_STOP_TIMEOUT_MS);
    await Promise.all(exits);
    clearTimeout(timer);
    if (temporary) rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const member of members) {
      const child = spawn(
        process.execPath,
        [options.cli, 'agent', '--supervise', '--id', member.id, '--cluster', clusterFile, '--data-dir', join(dir, member.id), '--token-file', tokenFile],
        { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
      );
      supervised.push(new Supervised(member.id, child));
    }
    const deadline = Date.now() + PROCESSES_START_TIMEOUT_MS;
    let attached: AttachedCluster | null = null;
    let lastProblem = '';
    while (attached === null) {
      const dead = supervised.find((child) => child.exited);
      if (dead !== undefined) throw new Error(`the agent ${dead.id} exited as it started: ${dead.lastWords()}`);
      if (Date.now() > deadline) throw new Error(`the agents did not answer within ${PROCESSES_START_TIMEOUT_MS / 1000} s: ${lastProblem}`);
      try {
        attached = await AttachedCluster.open({ addresses: members.map((member) => member.address), token: consoleTokenOf(token), consoleId: options.consoleId, kind: 'processes' });
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    // The console detaches first (releasing what it holds), then the processes stop.
    return attached.whenStopped(stopAll);
  } catch (error) {
    await stopAll();
    throw error;
  }
}
