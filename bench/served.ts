/** A `conclave serve` child process and a /control client watching it, as an outside tool would. */
import { readFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ClusterEvent, ClusterSnapshot, Command, CommandAck, ServerToClientEvents } from '../shared/protocol/types.js';
import { startBuilt, stopProcess, type RunningServer } from '../test/support/processes.js';
import { BUILT_CLI, poll, wallNow } from './lib.js';

export interface Watched {
  server: RunningServer;
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  latest(): ClusterSnapshot | null;
  /** The latest events (at most RECENT_MAX) with the wall-clock time (ms, sub-millisecond) they arrived here. */
  events: Array<{ event: ClusterEvent; receivedAt: number }>;
  snapshots: Array<{ snapshot: ClusterSnapshot; receivedAt: number }>;
  send(command: Command): Promise<CommandAck>;
  stop(): Promise<void>;
}

/** How many events and snapshots a watcher keeps: enough for any one round, bounded over a long churn. */
const RECENT_MAX = 2_000;

function keepRecent<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > RECENT_MAX) list.splice(0, list.length - RECENT_MAX / 2);
}

export async function serveAndWatch(args: string[]): Promise<Watched> {
  const server = await startBuilt(BUILT_CLI, ['serve', '--port', '0', ...args]);
  // Not left running if the bench dies (run.ts turns signals into an exit).
  const kill = (): void => void server.process.kill('SIGKILL');
  process.once('exit', kill);
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(new URL('/control', server.url).toString(), { transports: ['websocket'], reconnection: false });
  const events: Watched['events'] = [];
  const snapshots: Watched['snapshots'] = [];
  socket.on('event', (event) => keepRecent(events, { event, receivedAt: wallNow() }));
  socket.on('snapshot', (snapshot) => keepRecent(snapshots, { snapshot, receivedAt: wallNow() }));
  socket.on('history', () => undefined);
  const watched: Watched = {
    server,
    socket,
    events,
    snapshots,
    latest: () => snapshots.at(-1)?.snapshot ?? null,
    send: (command) => socket.timeout(10_000).emitWithAck('command', command),
    stop: async () => {
      socket.disconnect();
      await stopProcess(server.process);
      process.off('exit', kill);
    },
  };
  const leader = await poll(() => watched.latest()?.leader ?? null, 20, 60_000);
  if (leader === null) {
    await watched.stop();
    throw new Error(`no leader within 60 s (serve ${args.join(' ')})`);
  }
  return watched;
}

/** A process's resident memory, MiB (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}
