/** A real hub on 127.0.0.1 and an ephemeral port, with real socket.io clients. */
import { io, type Socket } from 'socket.io-client';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import type { ClientToServerEvents, ClusterEvent, ClusterSnapshot, ServerToClientEvents } from '../../shared/protocol/types.js';
import { startHub, type Hub, type HubOptions } from '../../electron/hub/hub.js';
import { EmbeddedTarget } from '../../electron/targets/embedded/embedded.js';

export type ControlClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestHub {
  hub: Hub;
  runtime: EmbeddedTarget;
  stop(): Promise<void>;
}

export async function startTestHub(options: Partial<Omit<HubOptions, 'target'>> & { nodes?: number } = {}): Promise<TestHub> {
  const { nodes = 5, ...hubOptions } = options;
  const runtime = new EmbeddedTarget({ algorithm: 'raft', nodes, config: DEFAULT_ELECTION_CONFIG, seed: 5 });
  const hub = await startHub({ host: '127.0.0.1', port: 0, token: null, dashboardDir: null, ...hubOptions, target: runtime });
  runtime.start();
  return {
    hub,
    runtime,
    stop: async () => {
      runtime.stop();
      await hub.close();
    },
  };
}

/** A client of `/control` that records what it receives. */
export function connectControl(url: string, options: { token?: string; origin?: string; host?: string; localAddress?: string } = {}) {
  const extraHeaders: Record<string, string> = {};
  if (options.origin !== undefined) extraHeaders.origin = options.origin;
  if (options.host !== undefined) extraHeaders.host = options.host;
  const socket: ControlClient = io(new URL('/control', url).toString(), {
    auth: options.token === undefined ? {} : { token: options.token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  });
  const received = { snapshots: [] as ClusterSnapshot[], events: [] as ClusterEvent[], history: null as ClusterEvent[] | null, order: [] as string[] };
  socket.on('history', (events) => {
    received.history = events;
    received.order.push('history');
  });
  socket.on('snapshot', (snapshot) => {
    received.snapshots.push(snapshot);
    received.order.push('snapshot');
  });
  socket.on('event', (event) => received.events.push(event));
  return { socket, received, latest: () => received.snapshots[received.snapshots.length - 1] ?? null };
}

export function connected(socket: ControlClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

export function refused(socket: ControlClient): Promise<Error> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but the hub should have refused')));
    socket.once('connect_error', resolve);
  });
}

type Maybe<T> = T | null | undefined | false;

/** Polls until `probe` returns (or resolves to) a value, failing after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A hub, a connected client, and the leader it elected: where most tests start. */
export async function hubWithLeader(options: Parameters<typeof startTestHub>[0] & { clientToken?: string } = {}) {
  const { clientToken, ...hubOptions } = options;
  const hub = await startTestHub(hubOptions);
  const client = connectControl(hub.hub.url, clientToken === undefined ? {} : { token: clientToken });
  await connected(client.socket);
  // A leader that a majority follows: until then the run's analysis counts the cluster as still
  // starting up, and a kill would not be a failover.
  const leader = await waitFor('a leader a majority follows', () => {
    const snapshot = client.latest();
    const leader = snapshot?.leader;
    if (leader === null || leader === undefined) return null;
    const followers = snapshot!.nodes.filter((node) => node.status === 'up' && node.leaderId === leader.id && node.term === leader.term).length;
    return followers > snapshot!.nodes.length / 2 ? leader : null;
  });
  return { ...hub, client, leader };
}
