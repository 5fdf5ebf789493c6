/**
 * The one owner of the Socket.IO connection to the hub. Components never open sockets: they
 * read the cluster store, which this composable feeds, and send commands through it.
 */
import { io, type Socket } from 'socket.io-client';
import { ref } from 'vue';
import {
  CONTROL_NAMESPACE,
  type ClientToServerEvents,
  type Command,
  type CommandAck,
  type InspectAck,
  type ServerToClientEvents,
} from '../../../shared/protocol/types.js';
import { useClusterStore } from '../stores/cluster.js';

export const COMMAND_TIMEOUT_MS = 4_000;
/** Opening another cluster may start processes (an etcd playground takes up to 20 s): its answer is waited for longer. */
export const OPEN_TIMEOUT_MS = 45_000;
const TOKEN_STORAGE_KEY = 'conclave.token';

type HubSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let socket: HubSocket | null = null;
/** The token the socket presented, reactive so that links carrying it follow when it arrives. */
const presentedToken = ref<string | null>(null);

/** The token from `?token=` (then removed from the address bar) or from this tab's storage. */
function initialToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.toString());
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_STORAGE_KEY);
}

/**
 * Where the hub is: this page's own origin (null), or `?hub=` when the page is served from
 * elsewhere (the dev server under `npm run dev`); an address that is not http(s) is refused.
 */
function hubFromAddress(): URL | null | { invalid: string } {
  const given = new URL(window.location.href).searchParams.get('hub');
  if (given === null) return null;
  try {
    const hub = new URL(given);
    if (hub.protocol === 'http:' || hub.protocol === 'https:') return hub;
  } catch {
    // Reported below like any other unusable address.
  }
  return { invalid: given };
}

/** A path on the hub: relative on its own origin, absolute on another. */
function onHub(path: string): string {
  const hub = hubFromAddress();
  return hub instanceof URL ? new URL(path, hub).toString() : path;
}

export function useHub() {
  const store = useClusterStore();

  function connect(token: string | null = initialToken()): void {
    socket?.disconnect();
    const hub = hubFromAddress();
    if (hub !== null && !(hub instanceof URL)) {
      socket = null;
      store.setConnection('disconnected', `the address names a hub that is not an http(s) URL: "${hub.invalid}"`);
      return;
    }
    store.setConnection('connecting');
    presentedToken.value = token;
    const hubHost = hub?.host ?? window.location.host;
    // Another origin's hub is reached over WebSocket alone: its long-polling would need CORS.
    const next: HubSocket = io(onHub(CONTROL_NAMESPACE), {
      auth: token ? { token } : {},
      ...(hub === null ? {} : { transports: ['websocket'] }),
    });
    socket = next;
    next.on('connect', () => store.setConnection('connected'));
    next.on('history', (events) => store.applyHistory(events));
    next.on('snapshot', (snapshot) => store.applySnapshot(snapshot, performance.now()));
    next.on('event', (event) => store.applyEvent(event));
    next.on('messages', (batch) => store.applyMessages(batch, performance.now()));
    next.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') return;
      store.setConnection('disconnected', `lost the connection to the hub (${reason}); reconnecting...`);
    });
    next.on('connect_error', (error) => {
      if (next.active) {
        store.setConnection('disconnected', `cannot reach the hub at ${hubHost} (${error.message}); retrying...`);
      } else if (/token/i.test(error.message)) {
        store.setConnection('unauthorized', error.message);
      } else {
        store.setConnection('disconnected', `the hub refused the connection: ${error.message}`);
      }
    });
  }

  function submitToken(token: string): void {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
    connect(token);
  }

  /** Asks the hub and waits for its acknowledgement; being offline or a timeout are answers too. */
  async function ask<T>(send: (connected: HubSocket) => Promise<T>, timeoutMs = COMMAND_TIMEOUT_MS): Promise<T | { ok: false; error: string }> {
    if (socket === null || !socket.connected) return { ok: false, error: 'not connected to the hub' };
    try {
      return await send(socket);
    } catch {
      return { ok: false, error: `the hub did not answer within ${timeoutMs / 1000} s` };
    }
  }

  async function sendCommand(command: Command): Promise<CommandAck> {
    // A new run this dashboard asked for is not news when it arrives.
    const replacesRun = command.type === 'configure' || command.type === 'open' || (command.type === 'scenario' && command.action === 'run' && command.scenario.cluster !== undefined);
    if (replacesRun) store.expectNewRun();
    const timeoutMs = command.type === 'open' ? OPEN_TIMEOUT_MS : COMMAND_TIMEOUT_MS;
    return ask((connected) => connected.timeout(timeoutMs).emitWithAck('command', command), timeoutMs);
  }

  function inspect(nodeId: string): Promise<InspectAck> {
    return ask((connected) => connected.timeout(COMMAND_TIMEOUT_MS).emitWithAck('inspect', nodeId));
  }

  /** Where to download the run from (the token goes along when the hub needs one). */
  function exportUrl(): string {
    const token = presentedToken.value;
    return onHub(token ? `/export.jsonl?token=${encodeURIComponent(token)}` : '/export.jsonl');
  }

  return { connect, submitToken, sendCommand, inspect, exportUrl, metricsUrl: () => onHub('/metrics') };
}
