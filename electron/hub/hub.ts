/**
 * The hub: one HTTP server on one port that serves the dashboard, /metrics and /export.jsonl,
 * and carries Socket.IO. Namespace `/control` is the public contract (docs/protocol.md):
 * snapshots, events and message batches out; validated commands and inspections in. Every
 * inbound payload is checked; a bad one gets an error ack and changes nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { RunAnalysis } from '../../shared/analysis/run.js';
import { parseCommand, parseNodeId } from '../../shared/protocol/commands.js';
import { RUN_FORMAT, RUN_FORMAT_VERSION, serializeRunLines } from '../../shared/protocol/run-file.js';
import {
  CONTROL_NAMESPACE,
  type ClientToServerEvents,
  type ClusterEvent,
  type ClusterSnapshot,
  type Command,
  type CommandAck,
  type InspectAck,
  type NodeDetail,
  type ServerToClientEvents,
} from '../../shared/protocol/types.js';
import { ValidationError } from '../../shared/protocol/validate.js';
import type { RuntimeListener } from '../runtime/embedded.js';
import { createMetricsRegistry } from './metrics.js';
import { sendText, serveDashboard } from './static.js';
import { BATCH_INTERVAL_MS, MessageStream } from './stream.js';

/** What the hub steers: the embedded cluster today, other targets (LAN agents, etcd) later. */
export interface ControlTarget {
  snapshot(): ClusterSnapshot;
  history(limit?: number): ClusterEvent[];
  execute(command: Command): CommandAck;
  inspect(nodeId: string): NodeDetail | null;
  timers(): Array<{ id: string; startedAt: number; dueAt: number }>;
  now(): number;
  subscribe(listener: RuntimeListener): () => void;
}

export interface HubOptions {
  target: ControlTarget;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, `/control` clients must present it as `auth.token`, HTTP clients as a bearer token or `?token=`. */
  token: string | null;
  /** The built dashboard, or null when it is not built. */
  dashboardDir: string | null;
  allowedOrigins?: string[];
  snapshotIntervalMs?: number;
  historyOnConnect?: number;
}

export interface Hub {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const SNAPSHOT_INTERVAL_MS = 50;
export const HISTORY_ON_CONNECT = 5_000;
/** Socket.IO frames above this are refused by the transport itself. */
export const MAX_FRAME_BYTES = 1_000_000;

type ControlSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function tokensEqual(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** Browsers send Origin; a page from another site must not steer the cluster (cross-site WebSocket hijacking). */
function originAllowed(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** HTTP endpoints with data take the token as `Authorization: Bearer T` or `?token=T`. */
function httpAuthorized(request: IncomingMessage, url: URL, token: string | null): boolean {
  if (!token) return true;
  const header = request.headers.authorization;
  const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
  return tokensEqual(token, bearer ?? url.searchParams.get('token') ?? undefined);
}

export async function startHub(options: HubOptions): Promise<Hub> {
  const { target, token } = options;
  if (!isLoopbackHost(options.host) && !token) {
    throw new Error(`refusing to listen on ${options.host} without a token: pass --token (or set CONCLAVE_TOKEN), or use --host 127.0.0.1`);
  }
  const snapshotIntervalMs = options.snapshotIntervalMs ?? SNAPSHOT_INTERVAL_MS;
  const historyOnConnect = options.historyOnConnect ?? HISTORY_ON_CONNECT;

  const newAnalysis = (): RunAnalysis => {
    const snapshot = target.snapshot();
    const analysis = new RunAnalysis({
      members: snapshot.nodes.map((node) => node.id),
      singleLeaderPerTerm: ALGORITHM_INFO[snapshot.algorithm].singleLeaderPerTerm,
    });
    for (const event of target.history()) analysis.observe(event);
    return analysis;
  };
  let analysis = newAnalysis();
  const stream = new MessageStream();
  const metrics = createMetricsRegistry({ analysis: () => analysis, snapshot: () => target.snapshot() });

  const exportRun = (response: ServerResponse): void => {
    const snapshot = target.snapshot();
    response.writeHead(200, {
      'Content-Type': 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="conclave-${snapshot.algorithm}-${new Date(snapshot.at).toISOString().replace(/[:.]/g, '-')}.jsonl"`,
      'Cache-Control': 'no-store',
    });
    const lines = serializeRunLines({
      header: {
        format: RUN_FORMAT,
        version: RUN_FORMAT_VERSION,
        algorithm: snapshot.algorithm,
        config: snapshot.config,
        members: snapshot.nodes.map((node) => node.id),
        exportedAt: snapshot.at,
      },
      events: target.history(),
      messages: stream.history(),
    });
    const write = (): void => {
      for (let next = lines.next(); !next.done; next = lines.next()) {
        if (!response.write(`${next.value}\n`)) {
          response.once('drain', write);
          return;
        }
      }
      response.end();
    };
    write();
  };

  const http: HttpServer = createServer((request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendText(response, 405, 'Method not allowed');
      return;
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/metrics' || url.pathname === '/export.jsonl') {
      if (!httpAuthorized(request, url, token)) {
        sendText(response, 401, 'This hub requires a token: send "Authorization: Bearer <token>" or add ?token=<token>');
        return;
      }
      if (url.pathname === '/export.jsonl') {
        exportRun(response);
        return;
      }
      metrics.metrics().then(
        (text) => sendText(response, 200, text, metrics.contentType),
        (error: unknown) => sendText(response, 500, `metrics failed: ${String(error)}`),
      );
      return;
    }
    if (!serveDashboard(request, response, options.dashboardDir)) sendText(response, 404, 'Not found');
  });

  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
    serveClient: false,
    maxHttpBufferSize: MAX_FRAME_BYTES,
    allowRequest: (request, callback) => {
      const allowed = originAllowed(request);
      callback(allowed ? null : 'origin not allowed', allowed);
    },
  });
  io.use((_socket, next) => next(new Error(`connect to the "${CONTROL_NAMESPACE}" namespace`)));

  const control = io.of(CONTROL_NAMESPACE);
  control.use((socket, next) => {
    if (token && !tokensEqual(token, (socket.handshake.auth as { token?: unknown } | undefined)?.token)) {
      const given = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      next(new Error(given === undefined ? 'this hub requires a token: send { token } in the handshake auth' : 'invalid token'));
      return;
    }
    next();
  });

  let snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  let lastSnapshotAt = -Infinity;
  const emitSnapshot = (): void => {
    snapshotTimer = null;
    lastSnapshotAt = performance.now();
    control.emit('snapshot', target.snapshot());
  };
  const scheduleSnapshot = (): void => {
    if (snapshotTimer !== null) return;
    const waitMs = Math.max(0, lastSnapshotAt + snapshotIntervalMs - performance.now());
    snapshotTimer = setTimeout(emitSnapshot, waitMs);
  };
  const unsubscribe = target.subscribe({
    onEvent: (event) => {
      analysis.observe(event);
      control.emit('event', event);
    },
    onChange: scheduleSnapshot,
    onTransit: (transit) => stream.add(transit),
    // A new run: every dashboard starts over from its (empty) history and first snapshot.
    onReset: () => {
      analysis = newAnalysis();
      stream.clear();
      control.emit('history', target.history(historyOnConnect));
      emitSnapshot();
    },
  });
  // Messages and timers go out in batches, and only while someone watches.
  const batchTimer = setInterval(() => {
    const batch = stream.take(target.now(), target.timers());
    if (control.sockets.size > 0 && (batch.messages.length > 0 || batch.omitted > 0 || batch.timers.length > 0)) control.emit('messages', batch);
  }, BATCH_INTERVAL_MS);

  control.on('connection', (socket: ControlSocket) => {
    socket.emit('history', target.history(historyOnConnect));
    socket.emit('snapshot', target.snapshot());
    socket.on('command', (...args: unknown[]) => {
      const respond = ackOf<CommandAck>(args);
      if (respond === null) return; // Without an acknowledgement nobody would hear the answer.
      if (args.length !== 2) {
        respond({ ok: false, error: 'command takes exactly one payload and an acknowledgement callback' });
        return;
      }
      respond(runCommand(target, args[0]));
    });
    socket.on('inspect', (...args: unknown[]) => {
      const respond = ackOf<InspectAck>(args);
      if (respond === null) return;
      respond(runInspect(target, args.length === 2 ? args[0] : undefined));
    });
    socket.onAny((event: string, ...args: unknown[]) => {
      if (event === 'command' || event === 'inspect') return;
      ackOf<CommandAck>(args)?.({ ok: false, error: `unknown event "${event.slice(0, 40)}"` });
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const urlHost = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    url: `http://${urlHost}:${port}/`,
    port,
    close: async () => {
      unsubscribe();
      clearInterval(batchTimer);
      if (snapshotTimer !== null) clearTimeout(snapshotTimer);
      const closed = new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
      http.closeAllConnections();
      await closed;
    },
  };
}

function ackOf<T>(args: unknown[]): ((result: T) => void) | null {
  const ack = args[args.length - 1];
  return typeof ack === 'function' ? (ack as (result: T) => void) : null;
}

function explain(error: unknown): { ok: false; error: string } {
  if (error instanceof ValidationError) return { ok: false, error: error.message };
  return { ok: false, error: `internal error: ${error instanceof Error ? error.message : String(error)}` };
}

export function runCommand(target: ControlTarget, payload: unknown): CommandAck {
  try {
    return target.execute(parseCommand(payload));
  } catch (error) {
    return explain(error);
  }
}

function runInspect(target: ControlTarget, payload: unknown): InspectAck {
  try {
    const nodeId = parseNodeId(payload, 'inspect nodeId');
    const node = target.inspect(nodeId);
    return node === null ? { ok: false, error: `unknown node "${nodeId}"` } : { ok: true, node };
  } catch (error) {
    return explain(error);
  }
}
