/**
 * The one owner of the Socket.IO connection to the hub. Components never open sockets: they
 * read the cluster store, which this composable feeds, and send commands through it.
 */
import { io, type Socket } from 'socket.io-client';
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
/** Tokens are kept per hub, under its origin: a token goes only to the hub it was given for. */
const TOKEN_STORAGE_PREFIX = 'conclave.token:';

type HubSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let socket: HubSocket | null = null;
/** The token the socket presented: the export and other HTTP requests send it as a bearer token, never in a URL. */
let presentedToken: string | null = null;

/**
 * Where the hub is: this page's own origin (null), or, in a development build (`npm run dev`,
 * whose pages come from the dev server), the hub `?hub=` names. A built dashboard talks only to
 * the hub that serves it (its Content-Security-Policy allows no other): a `?hub=` naming another
 * is refused, with where to go instead.
 */
function hubFromAddress(): URL | null | { invalid: string } {
  const given = new URL(window.location.href).searchParams.get('hub');
  if (given === null) return null;
  let hub: URL;
  try {
    hub = new URL(given);
  } catch {
    return { invalid: `the address names a hub that is not an http(s) URL: "${given}"` };
  }
  if (hub.protocol !== 'http:' && hub.protocol !== 'https:') return { invalid: `the address names a hub that is not an http(s) URL: "${given}"` };
  if (hub.origin === window.location.origin) return null;
  if (!import.meta.env.DEV) return { invalid: `this dashboard talks only to the hub that serves it (${window.location.origin}): open ${hub.origin}/ for the hub at ${hub.host}` };
  return hub;
}

function hubOrigin(hub: URL | null): string {
  return hub?.origin ?? window.location.origin;
}

/** The token for `origin`: from `?token=` (which is for the hub the address names; then removed from the address bar), or from this tab's storage. */
function initialToken(origin: string): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_STORAGE_PREFIX + origin, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.toString());
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_STORAGE_PREFIX + origin);
}

/** A path on the hub: relative on its own origin, absolute on another. */
function onHub(path: string): string {
  const hub = hubFromAddress();
  return hub instanceof URL ? new URL(path, hub).toString() : path;
}

export function useHub() {
  const store = useClusterStore();

  function connect(token?: string | null): void {
    socket?.disconnect();
    const hub = hubFromAddress();
    if (hub !== null && !(hub instanceof URL)) {
      socket = null;
      store.setConnection('disconnected', hub.invalid);
      return;
    }
    const presented = token === undefined ? initialToken(hubOrigin(hub)) : token;
    store.setConnection('connecting');
    presentedToken = presented;
    const hubHost = hub?.host ?? window.location.host;
    // Another origin's hub is reached over WebSocket alone: its long-polling would need CORS.
    const next: HubSocket = io(onHub(CONTROL_NAMESPACE), {
      auth: presented ? { token: presented } : {},
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

  /** A token the user typed, for the hub this dashboard talks to (named in the form, so that nobody types one hub's token for another). */
  function submitToken(token: string): void {
    const hub = hubFromAddress();
    if (hub !== null && !(hub instanceof URL)) return;
    sessionStorage.setItem(TOKEN_STORAGE_PREFIX + hubOrigin(hub), token);
    connect(token);
  }

  /** The hub this dashboard talks to, for people: its host. */
  function hubName(): string {
    const hub = hubFromAddress();
    return hub instanceof URL ? hub.host : window.location.host;
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

  /**
   * Downloads the run: fetched with the token as a bearer token (never in a URL, where history,
   * logs and Referer would keep it), then saved from memory. Resolves with the error in words, or null.
   */
  async function downloadExport(): Promise<string | null> {
    let response: Response;
    try {
      response = await fetch(onHub('/export.jsonl'), { headers: presentedToken ? { authorization: `Bearer ${presentedToken}` } : {}, cache: 'no-store' });
    } catch (error) {
      return `the hub did not answer: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (!response.ok) return `the hub refused the export (${response.status}): ${(await response.text()).slice(0, 200)}`;
    const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'conclave-run.jsonl';
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return null;
  }

  return { connect, submitToken, hubName, sendCommand, inspect, downloadExport, metricsUrl: () => onHub('/metrics') };
}
