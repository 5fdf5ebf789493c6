/**
 * The hub: one HTTP server on one port that serves the dashboard, /metrics and /export.jsonl,
 * and carries Socket.IO. Namespace `/control` is the public contract (docs/protocol.md):
 * snapshots, events and message batches out; validated commands and inspections in. Every
 * inbound payload is checked; a bad one gets an error ack and changes nothing. Only requests
 * that name the hub by its own address are served (access.ts), connections are capped in all and
 * per address (admission.ts), and each client is rate-limited and paced by what it reads
 * (session.ts), so no client can stall the others.
 */
import { createServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { Server } from 'socket.io';
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { EventLog } from '../../shared/analysis/event-log.js';
import { RunAnalysis } from '../../shared/analysis/run.js';
import { parseCommand, parseNodeId } from '../../shared/protocol/commands.js';
import { RUN_FORMAT, RUN_FORMAT_VERSION, serializeRunLines } from '../../shared/protocol/run-file.js';
import {
  CONTROL_NAMESPACE,
  type ClientToServerEvents,
  type ClusterEvent,
  type CommandAck,
  type InspectAck,
  type ServerToClientEvents,
} from '../../shared/protocol/types.js';
import { ValidationError } from '../../shared/protocol/validate.js';
import type { Target } from '../targets/target.js';
import { Admission, type AdmissionLimits, type PendingTransport } from './admission.js';
import { createAccessPolicy, httpAuthorized, type AccessPolicy, isLoopbackHost, parseAllowedOrigins, tokensEqual } from '../base/access.js';
import { createMetricsRegistry, type ControlStats } from './metrics.js';
import { ControlSession, type ControlSocket } from './session.js';
import { sendText, serveDashboard } from './static.js';
import { BATCH_INTERVAL_MS, MessageStream } from './stream.js';

export interface HubOptions {
  target: Target;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, `/control` clients must present it as `auth.token`, HTTP clients as a bearer token or `?token=`. */
  token: string | null;
  /** The built dashboard, or null when it is not built. */
  dashboardDir: string | null;
  /**
   * Browser origins admitted besides the hub's own, exactly as browsers send them
   * ("http://localhost:5173": a dev server whose pages connect to the hub).
   */
  allowedOrigins?: string[];
  snapshotIntervalMs?: number;
  /** How often message batches go out (tests make it short to fill a slow client's buffers quickly). */
  batchIntervalMs?: number;
  historyOnConnect?: number;
  /** Connections at a time and handshakes a second (admission.ts has the defaults). */
  admission?: AdmissionLimits;
  /** An export whose client has read nothing for this long is cut, so that a client that stops reading cannot hold the export for good. */
  exportStallMsMax?: number;
}

export interface Hub {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const SNAPSHOT_INTERVAL_MS = 50;
/** Events after which the next snapshot goes out at once rather than after the interval. */
const LEADERSHIP_EVENTS = new Set<ClusterEvent['type']>(['leader', 'quorum', 'leader-lost']);
export const HISTORY_ON_CONNECT = 5_000;
/** How long an export's client may read nothing before the export is cut (a slow link still reads). */
export const EXPORT_STALL_MS_MAX = 30_000;
/** Socket.IO frames above this are refused by the transport itself. */
export const MAX_FRAME_BYTES = 1_000_000;

/**
 * The hub's access policy for these options, or the reason they are refused. Callers that build
 * something costly for the hub (an etcd playground) check first.
 */
export function hubAccessPolicy(options: Pick<HubOptions, 'host' | 'token' | 'allowedOrigins'>): AccessPolicy {
  if (!isLoopbackHost(options.host) && !options.token) {
    throw new Error(`refusing to listen on ${options.host} without a token: pass --token-file F (or set CONCLAVE_HUB_TOKEN), or use --host 127.0.0.1`);
  }
  return createAccessPolicy(options.host, parseAllowedOrigins(options.allowedOrigins ?? []));
}

export async function startHub(options: HubOptions): Promise<Hub> {
  const { target, token } = options;
  const access = hubAccessPolicy(options);
  const snapshotIntervalMs = options.snapshotIntervalMs ?? SNAPSHOT_INTERVAL_MS;
  const batchIntervalMs = options.batchIntervalMs ?? BATCH_INTERVAL_MS;
  const historyOnConnect = options.historyOnConnect ?? HISTORY_ON_CONNECT;
  const admission = new Admission(options.admission);

  const freshAnalysis = (): RunAnalysis => {
    const snapshot = target.snapshot();
    return new RunAnalysis({
      members: snapshot.nodes.map((node) => node.id),
      singleLeaderPerTerm: ALGORITHM_INFO[snapshot.algorithm].singleLeaderPerTerm,
    });
  };
  const newAnalysis = (): RunAnalysis => {
    const analysis = freshAnalysis();
    for (const event of target.history()) analysis.observe(event);
    return analysis;
  };
  let analysis = newAnalysis();
  const stream = new MessageStream();
  /**
   * The target's events (its own objects) and, for the export's `initial`, the state before the
   * oldest it still keeps: this log holds more than the target keeps, and folds the rest into its
   * base as they fall out of the target's history.
   */
  const kept = new EventLog({ trimChunk: 5_000, newBase: freshAnalysis });
  kept.replace(target.history());
  const sessions = new Set<ControlSession>();
  const sessionCounts: Omit<ControlStats, 'clients'> = { refusedRequests: 0, drops: { flood: 0, slow: 0 } };
  const metrics = createMetricsRegistry({
    analysis: () => analysis,
    snapshot: () => target.snapshot(),
    control: () => ({ clients: sessions.size, ...sessionCounts }),
  });

  /** An export builds the whole record: one at a time, cut when its client stops reading. */
  let exporting = false;
  const exportRun = (response: ServerResponse): void => {
    if (exporting) {
      response.setHeader('Retry-After', '1');
      sendText(response, 429, 'Another export is being sent: the hub sends one at a time. Retry when it is done.');
      return;
    }
    exporting = true;
    const stallMs = options.exportStallMsMax ?? EXPORT_STALL_MS_MAX;
    let stalled = setTimeout(() => response.destroy(), stallMs);
    response.once('close', () => {
      clearTimeout(stalled);
      exporting = false;
    });
    const snapshot = target.snapshot();
    response.writeHead(200, {
      'Content-Type': 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="conclave-${snapshot.algorithm}-${new Date(snapshot.at).toISOString().replace(/[:.]/g, '-')}.jsonl"`,
      'Cache-Control': 'no-store',
    });
    const coverage = stream.history();
    const events = target.history();
    const first = events[0]?.seq ?? Infinity;
    kept.dropBefore(first);
    const initial = first > 1 && kept.base !== null ? kept.base.stateEvents() : null;
    const lines = serializeRunLines({
      header: {
        format: RUN_FORMAT,
        version: RUN_FORMAT_VERSION,
        algorithm: snapshot.algorithm,
        config: snapshot.config,
        members: snapshot.nodes.map((node) => node.id),
        exportedAt: snapshot.at,
        messageDetailFromT: coverage.detailFromT,
        ...(initial === null ? {} : { initial }),
      },
      events,
      messages: coverage.messages,
      aggregates: coverage.aggregates,
    });
    const write = (): void => {
      // It reads: the stall clock starts again.
      clearTimeout(stalled);
      stalled = setTimeout(() => response.destroy(), stallMs);
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

  const corsOrigins = new Set(options.allowedOrigins ?? []);
  const http: HttpServer = createServer((request, response) => {
    const misdirected = access.hostRefusal(request.headers.host);
    if (misdirected !== null) {
      sendText(response, 421, misdirected);
      return;
    }
    // A dev server's page (an allowed origin) fetches /export.jsonl and /metrics with the token in a header.
    const origin = request.headers.origin;
    if (origin !== undefined && corsOrigins.has(origin)) {
      response.setHeader('Access-Control-Allow-Origin', origin);
      response.setHeader('Vary', 'Origin');
      if (request.method === 'OPTIONS') {
        response.writeHead(204, { 'Access-Control-Allow-Methods': 'GET', 'Access-Control-Allow-Headers': 'authorization', 'Access-Control-Expose-Headers': 'content-disposition' });
        response.end();
        return;
      }
      response.setHeader('Access-Control-Expose-Headers', 'content-disposition');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendText(response, 405, 'Method not allowed');
      return;
    }
    // Node's parser admits targets that are not URLs ("//[", "http://x:99999/"): refuse them here, once.
    const url = parseTarget(request.url);
    if (url === null) {
      sendText(response, 400, 'Bad request target');
      return;
    }
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
    if (!serveDashboard(request, url.pathname, response, options.dashboardDir)) sendText(response, 404, 'Not found');
  });

  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
    serveClient: false,
    maxHttpBufferSize: MAX_FRAME_BYTES,
    // Only handshakes come here; later requests of a session carry its unguessable id.
    allowRequest: (request, callback) => {
      const { host, origin } = request.headers;
      const refusal = access.hostRefusal(host) ?? access.originRefusal(origin, host!) ?? admission.handshakeRefusal(addressOf(request.socket));
      callback(refusal, refusal === null);
    },
  });
  /** Each transport's place in the pending budget, until it joins `/control` with the token. */
  const pendingTransports = new WeakMap<object, PendingTransport>();
  io.engine.on('connection', (connection: EngineConnection) => {
    const pending = admission.transportOpened(addressOf(connection.request.socket), () => connection.close());
    pendingTransports.set(connection, pending);
    connection.once('close', pending.closed);
  });
  io.use((_socket, next) => next(new Error(`connect to the "${CONTROL_NAMESPACE}" namespace`)));

  const control = io.of(CONTROL_NAMESPACE);
  control.use((socket, next) => {
    if (token && !tokensEqual(token, (socket.handshake.auth as { token?: unknown } | undefined)?.token)) {
      const given = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      next(new Error(given === undefined ? 'this hub requires a token: send { token } in the handshake auth' : 'invalid token'));
      return;
    }
    const address = socket.handshake.address;
    const refusal = admission.clientRefusal(address);
    if (refusal !== null) {
      next(new Error(refusal));
      return;
    }
    // Counted from here: the client joins on the next tick, or its connection closes.
    pendingTransports.get(socket.conn)?.joined();
    const leave = admission.clientJoined(address);
    socket.once('disconnect', leave);
    socket.conn.once('close', leave);
    next();
  });

  let snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  let lastSnapshotAt = -Infinity;
  const emitSnapshot = (): void => {
    snapshotTimer = null;
    lastSnapshotAt = performance.now();
    const snapshot = target.snapshot();
    for (const session of sessions) session.offerSnapshot(snapshot);
  };
  /** A change of leader (or of who a majority follows) is not held back by coalescing. */
  let leadershipChanged = false;
  const scheduleSnapshot = (): void => {
    if (leadershipChanged) {
      leadershipChanged = false;
      if (snapshotTimer !== null) clearTimeout(snapshotTimer);
      emitSnapshot();
      return;
    }
    if (snapshotTimer !== null) return;
    const waitMs = Math.max(0, lastSnapshotAt + snapshotIntervalMs - performance.now());
    snapshotTimer = setTimeout(emitSnapshot, waitMs);
  };
  const unsubscribe = target.subscribe({
    onEvent: (event) => {
      analysis.observe(event);
      if (LEADERSHIP_EVENTS.has(event.type)) leadershipChanged = true;
      kept.append(event);
      for (const session of sessions) session.sendEvent(event);
    },
    onChange: scheduleSnapshot,
    onTransit: (transit) => stream.add(transit),
    // A new run, not started yet: every dashboard starts over from its empty history and first
    // snapshot; the snapshot of the started run follows at once rather than after the interval.
    onReset: () => {
      analysis = newAnalysis();
      kept.replace([]);
      stream.clear();
      if (snapshotTimer !== null) clearTimeout(snapshotTimer);
      snapshotTimer = null;
      const history = target.history(historyOnConnect);
      const snapshot = target.snapshot();
      for (const session of sessions) session.startOver(history, snapshot);
      lastSnapshotAt = -Infinity;
    },
  });
  // Messages and timers go out in batches, and only while someone watches.
  const batchTimer = setInterval(() => {
    const batch = stream.take(target.now(), target.timers());
    if (batch.messages.length === 0 && batch.omitted === 0 && batch.timers.length === 0) return;
    for (const session of sessions) session.offerBatch(batch);
  }, batchIntervalMs);

  control.on('connection', (socket: ControlSocket) => {
    const session = new ControlSession(socket, {
      latestSnapshot: () => target.snapshot(),
      onRefused: () => (sessionCounts.refusedRequests += 1),
      onDrop: (reason) => (sessionCounts.drops[reason] += 1),
      now: () => performance.now(),
    });
    sessions.add(session);
    socket.once('disconnect', () => sessions.delete(session));
    session.startOver(target.history(historyOnConnect), target.snapshot());
    // Every event counts against the rate limit, known or not, answered or not.
    socket.onAny((event: string, ...args: unknown[]) => {
      const respond = ackOf<CommandAck | InspectAck>(args);
      const refusal = session.admit(event, args[0]);
      if (refusal !== null) respond?.({ ok: false, error: refusal });
      else if (respond !== null) {
        const answer = safely(respond);
        void Promise.resolve()
          .then(() => serveRequest(target, event, args))
          .then(answer, (error: unknown) => answer(explain(error)));
      }
      session.checkBacklog();
    });
  });

  // Closing destroys every connection: upgraded ones are no longer HTTP connections (closeAllConnections
  // misses them), and a WebSocket close waits 30 s for a client that stopped reading.
  const connections = new Set<NetSocket>();
  http.on('connection', (connection: NetSocket) => {
    connections.add(connection);
    connection.once('close', () => connections.delete(connection));
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
      for (const connection of connections) connection.destroy();
      await closed;
    },
  };
}

/** What the hub uses of engine.io's connection (a transport). */
interface EngineConnection {
  request: { socket: NetSocket };
  close(): void;
  once(event: 'close', listener: () => void): void;
}

function addressOf(socket: NetSocket): string {
  return socket.remoteAddress ?? 'an unknown address';
}

function parseTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

/**
 * An acknowledgement that cannot fail the hub: an answer the transport cannot encode (a remote
 * node's detail gone wrong) becomes an error for that client alone.
 */
function safely<T extends CommandAck | InspectAck>(respond: (result: T) => void): (result: T) => void {
  return (result) => {
    try {
      respond(result);
    } catch (error) {
      try {
        respond({ ok: false, error: `the answer could not be sent: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300) } as T);
      } catch {
        // Nothing more can reach this client; the others are not concerned.
      }
    }
  };
}

function ackOf<T>(args: unknown[]): ((result: T) => void) | null {
  const ack = args[args.length - 1];
  return typeof ack === 'function' ? (ack as (result: T) => void) : null;
}

/** Answers a request that came with an acknowledgement (`args` ends with it); without one nobody would hear the answer. */
function serveRequest(target: Target, event: string, args: unknown[]): CommandAck | InspectAck | Promise<CommandAck | InspectAck> {
  switch (event) {
    case 'command':
      if (args.length !== 2) return { ok: false, error: 'command takes exactly one payload and an acknowledgement callback' };
      return runCommand(target, args[0]);
    case 'inspect':
      return runInspect(target, args.length === 2 ? args[0] : undefined);
    default:
      return { ok: false, error: `unknown event "${event.slice(0, 40)}"` };
  }
}

function explain(error: unknown): { ok: false; error: string } {
  if (error instanceof ValidationError) return { ok: false, error: error.message };
  return { ok: false, error: `internal error: ${error instanceof Error ? error.message : String(error)}` };
}

export function runCommand(target: Target, payload: unknown): CommandAck | Promise<CommandAck> {
  try {
    return target.execute(parseCommand(payload));
  } catch (error) {
    return explain(error);
  }
}

async function runInspect(target: Target, payload: unknown): Promise<InspectAck> {
  try {
    const nodeId = parseNodeId(payload, 'inspect nodeId');
    const node = await target.inspect(nodeId);
    return node === null ? { ok: false, error: `unknown node "${nodeId}"` } : { ok: true, node };
  } catch (error) {
    return explain(error);
  }
}
