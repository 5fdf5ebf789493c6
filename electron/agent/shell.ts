/**
 * What every `conclave agent` is around its election, whichever elects (ElectionBackend): the
 * data directory and its lock, the console port with status pushes and events, GET /leader and
 * /status over HTTP, the --on-elected command, and the stop sequence. The Conclave backend
 * (node.ts) elects with its peers; the etcd backend (etcd-node.ts) campaigns in an etcd election.
 */
import { sameNodeStatus, type NodeStatus } from '../../shared/core/election.js';
import type { AgentEvent, AgentStatus, RequestOp } from '../../shared/protocol/agent-wire.js';
import { splitHostPort } from '../../shared/protocol/cluster-file.js';
import { RealClock } from '../runtime/clock.js';
import { listenWire, type Hello, type Welcome, type WireConnection, type WireServer } from '../wire/connection.js';
import { CONSOLES_MAX, ConsoleSession, SENT_BATCH_INTERVAL_MS, WIRE_CONNECTIONS_MAX } from './consoles.js';
import type { AgentSettings } from './flags.js';
import { LeaderHook, stopLeftoverHook, type HeldLease } from './hook.js';
import { startAgentHttp, type AgentHttp, type LeaderAnswer } from './http.js';
import type { Logger } from './log.js';
import type { SentMessage } from './peers.js';
import { RefusalLog } from './refusal-log.js';
import { lockDataDir, makeDataDir, type DataDirLock } from './storage.js';
import { version as packageVersion } from '../../package.json';

export const AGENT_VERSION: string = packageVersion;
/** Status pushes to consoles are coalesced to at most one per this many ms. */
export const STATUS_PUSH_INTERVAL_MS = 50;

export interface RunningAgent {
  readonly listenPort: number;
  readonly httpPort: number;
  status(): AgentStatus;
  /** Stops gracefully: the --on-elected command, then the election (goodbyes to peers, or resigning), then every port. */
  stop(reason: string): Promise<void>;
}

export interface AgentRuntimeOptions {
  /** Set when a supervisor runs this agent. */
  supervised: boolean;
}

/** The status fields the shell fills in itself; the backend gives the rest. */
type ShellStatusField = 'id' | 'address' | 'pid' | 'version' | 'algorithm' | 'config' | 'faultLeaseMs' | 'now' | 'startedAt' | 'supervised' | 'leaderHook' | 'lease';

/** The console requests a backend answers; the shell answers ping, status and the supervisor's, and adds the clock to inspect. */
export type BackendOp = Extract<RequestOp, { op: 'faults' | 'renew' | 'transfer' }>;

/**
 * The leader lease as applications see it (docs/lease.md): held (in which term, for how long
 * still), not held (why, in words), or null for an algorithm that has none (Bully), whose
 * coordinator answers for itself.
 */
export type LeaseState = { held: true; term: number; remainingMs: number } | { held: false; reason: string } | null;

/** What elects, behind the shell. */
export interface ElectionBackend {
  /** The node's status now. */
  node(): NodeStatus;
  /** The leader lease now. */
  lease(): LeaseState;
  /** The agent's status beyond what the shell fills in. */
  status(): Omit<AgentStatus, ShellStatusField>;
  /** What `inspect` answers besides the clock. */
  inspect(): { machine: unknown; durable: unknown };
  /** Answers a console's request, or throws the refusal. */
  handle(op: BackendOp, session: ConsoleSession): unknown;
  /** Why a peer's hello is refused, or null to admit it. */
  admitPeer(hello: Hello, remoteAddress: string): string | null;
  /** An admitted peer's connection. */
  acceptPeer(connection: WireConnection, hello: Hello): void;
  /** What the welcome tells peers. */
  welcome?(): Pick<Welcome, 'membership' | 'fingerprint'>;
  /** A connection the port refused after it authenticated (the shell logs it). */
  onRefused?(address: string, reason: string): void;
  /** Starts electing, once the ports are open. */
  start(): void;
  /**
   * Stops electing, after the --on-elected command stopped; also called on a backend that never
   * started when start-up fails. Consoles and ports stay open until it resolves; `draining` goes on
   * while they close (goodbyes to peers).
   */
  stop(): Promise<{ draining: Promise<void> }>;
  /** The backend's part of the 'started' log line. */
  logFields(booted: NodeStatus): Record<string, unknown>;
}

/** What the shell gives the backend it opens. */
export interface ShellContext {
  readonly clock: RealClock;
  readonly startedAt: number;
  /** Sends an event to every console. */
  emit(event: AgentEvent): void;
  /** The status changed: consoles get it (coalesced). */
  markChanged(): void;
  /** A message sent to a peer, for the consoles' batches. */
  recordSent(sent: SentMessage): void;
  /**
   * Takes note of the node's status after every step: one that differs from the last noted is
   * logged (when its role, term or leader changed); the --on-elected command follows the lease
   * (unless stopping).
   */
  noteStatus(current: NodeStatus): { changed: boolean; previous: NodeStatus | null };
}

/** Takes the data directory's lock, opens the backend and the ports; the lock is released if any of it fails. */
export async function startShell(settings: AgentSettings, log: Logger, runtime: AgentRuntimeOptions, open: (context: ShellContext) => ElectionBackend): Promise<RunningAgent> {
  makeDataDir(settings.dataDir);
  const lock = await lockDataDir(settings.dataDir);
  if (lock.tookOverFrom !== null) log.info({ pid: lock.tookOverFrom }, 'took over the stale lock of a killed agent');
  try {
    return await startWithLock(settings, log, runtime, lock, open);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function startWithLock(settings: AgentSettings, log: Logger, runtime: AgentRuntimeOptions, lock: DataDirLock, open: (context: ShellContext) => ElectionBackend): Promise<RunningAgent> {
  const { id, cluster, member, dataDir, token, tls } = settings;
  stopLeftoverHook(dataDir, log);
  const clock = new RealClock(Date.now());
  const startedAt = clock.now();
  const consoles = new Set<ConsoleSession>();
  const strangers = new RefusalLog(log);
  let stopping = false;

  const emit = (event: AgentEvent): void => {
    for (const session of consoles) session.push({ t: 'event', event });
  };

  // Status pushes, coalesced.
  let statusDirty = false;
  let statusTimer: ReturnType<typeof setTimeout> | null = null;
  const markChanged = (): void => {
    statusDirty = true;
    if (statusTimer !== null || consoles.size === 0) return;
    statusTimer = setTimeout(() => {
      statusTimer = null;
      if (!statusDirty || stopping) return;
      statusDirty = false;
      const current = status();
      for (const session of consoles) session.push({ t: 'status', status: current });
    }, STATUS_PUSH_INTERVAL_MS);
  };

  // Set once the backend is open; the hook asks only after that.
  let leaseNow: () => LeaseState = () => null;
  const hook =
    settings.onElected === null
      ? null
      : new LeaderHook({
          command: settings.onElected,
          graceMs: settings.onElectedGraceMs,
          id,
          dataDir,
          log,
          now: () => clock.now(),
          lease: () => heldLease(leaseNow(), noted),
          onEvent: emit,
          onChange: markChanged,
        });

  let noted: NodeStatus | null = null;
  let leaseHeld = false;
  const noteStatus = (current: NodeStatus): { changed: boolean; previous: NodeStatus | null } => {
    const previous = noted;
    const changed = !sameNodeStatus(previous, current);
    if (changed && (previous === null || previous.role !== current.role || previous.term !== current.term || previous.leaderId !== current.leaderId)) {
      log.info({ role: current.role, term: current.term, leaderId: current.leaderId, votedFor: current.votedFor }, current.role === 'leader' ? 'became leader' : `now ${current.role}`);
    }
    noted = current;
    const lease = leaseNow();
    if (lease !== null && lease.held !== leaseHeld) {
      leaseHeld = lease.held;
      if (lease.held) log.info({ term: lease.term, remainingMs: Math.round(lease.remainingMs) }, 'leader lease taken');
      else if (current.role === 'leader') log.warn({ term: current.term, reason: lease.reason }, 'leader lease lapsed');
      markChanged();
    }
    // A stopping agent stops its command and starts none.
    if (!stopping) hook?.update();
    return { changed, previous };
  };

  const backend = open({
    clock,
    startedAt,
    emit,
    markChanged,
    recordSent: (sent) => {
      for (const session of consoles) session.recordSent(sent);
    },
    noteStatus,
  });

  leaseNow = () => backend.lease();

  const status = (): AgentStatus => ({
    id,
    address: member.address,
    pid: process.pid,
    version: AGENT_VERSION,
    algorithm: cluster.algorithm,
    config: cluster.config,
    faultLeaseMs: cluster.faultLeaseMs,
    ...backend.status(),
    now: clock.now(),
    startedAt,
    supervised: runtime.supervised,
    leaderHook: hook?.view() ?? null,
    lease: leaseView(backend.lease()),
  });

  const handle = (op: RequestOp, session: ConsoleSession): unknown => {
    switch (op.op) {
      case 'ping':
        return { sentAt: op.sentAt, agentNow: clock.now() };
      case 'status':
        return status();
      case 'inspect':
        return { ...backend.inspect(), clock: { now: clock.now(), wallNow: clock.wallNow(), startedAt } };
      case 'child':
      case 'renew-child':
        throw new Error(`this is ${id}'s agent: send ${op.op} to its supervisor at ${member.supervisor}`);
      default:
        return backend.handle(op, session);
    }
  };

  let server: WireServer;
  let http: AgentHttp;
  try {
    server = await listenWire({
      host: settings.listen.host,
      port: settings.listen.port,
      id,
      token,
      ...(tls === null ? {} : { tls }),
      connectionsMax: WIRE_CONNECTIONS_MAX,
      admit: (hello, remoteAddress) => {
        if (stopping) return 'stopping';
        if (hello.role === 'console') return consoles.size >= CONSOLES_MAX ? `at most ${CONSOLES_MAX} consoles at once` : null;
        return backend.admitPeer(hello, remoteAddress);
      },
      ...(backend.welcome === undefined ? {} : { welcome: () => backend.welcome!() }),
      onConnection: (connection, hello) => {
        if (hello.role === 'peer') {
          backend.acceptPeer(connection, hello);
          return;
        }
        const session = new ConsoleSession(connection, handle, log);
        consoles.add(session);
        log.info({ console: hello.id, address: connection.remoteAddress }, 'console attached');
        connection.once('close', (reason) => {
          consoles.delete(session);
          if (!stopping) log.info({ console: hello.id, address: connection.remoteAddress, reason }, 'console detached');
        });
        session.push({ t: 'status', status: status() });
      },
      onRefused: (address, reason, authenticated) => {
        if (!authenticated) {
          strangers.refused(address, reason);
          return;
        }
        log.warn({ address, reason }, 'connection refused');
        backend.onRefused?.(address, reason);
      },
    });
    try {
      http = await startAgentHttp(settings.http, { status, leader: () => leaderAnswer(backend.node(), backend.lease(), id) }, [splitHostPort(member.http).host]);
    } catch (error) {
      await server.close();
      throw error;
    }
  } catch (error) {
    await backend.stop();
    clock.stop();
    throw error;
  }

  const sentTimer = setInterval(() => {
    for (const session of consoles) session.flushSent();
  }, SENT_BATCH_INTERVAL_MS);

  backend.start();
  const booted = backend.node();
  noted = booted;
  emit({ type: 'boot', t: clock.now(), status: booted });
  log.info(
    {
      listen: `${settings.listen.host}:${server.port}`,
      http: `${settings.http.host}:${http.port}`,
      address: member.address,
      voting: member.voting,
      ...backend.logFields(booted),
      tls: tls !== null,
      version: AGENT_VERSION,
    },
    'started',
  );

  return {
    listenPort: server.port,
    httpPort: http.port,
    status,
    stop: async (reason) => {
      if (stopping) return;
      stopping = true;
      log.info({ reason }, 'stopping');
      clearInterval(sentTimer);
      if (statusTimer !== null) clearTimeout(statusTimer);
      // The command stops while this member still leads; then the election stops (goodbyes, or a resignation).
      await hook?.stop();
      const { draining } = await backend.stop();
      clock.stop();
      for (const session of consoles) session.connection.close('the agent is stopping');
      await Promise.all([draining, server.close(), http.close()]);
      strangers.stop();
      lock.release();
      log.info({ reason }, 'stopped');
    },
  };
}

/** The lease held now, for the --on-elected command: in the term this member leads. */
function heldLease(lease: LeaseState, status: NodeStatus | null): HeldLease | null {
  if (lease === null) return status?.role === 'leader' ? { term: status.term, remainingMs: Infinity } : null;
  return lease.held ? { term: lease.term, remainingMs: lease.remainingMs } : null;
}

/** The lease as the status shows it. */
function leaseView(lease: LeaseState): AgentStatus['lease'] {
  if (lease === null) return null;
  return lease.held ? { held: true, expiresInMs: Math.round(lease.remainingMs), reason: null } : { held: false, expiresInMs: null, reason: lease.reason.slice(0, 300) };
}

/** What GET /leader answers: 200 while this member holds the lease (or, without leases, coordinates), 503 with why otherwise. */
function leaderAnswer(node: NodeStatus, lease: LeaseState, id: string): { leading: boolean; body: LeaderAnswer } {
  const base = { leader: node.leaderId, term: node.term };
  if (lease === null) return { leading: node.role === 'leader' && node.leaderId === id, body: base };
  if (lease.held) return { leading: true, body: { ...base, leaseMs: Math.round(lease.remainingMs) } };
  return { leading: false, body: { ...base, reason: lease.reason } };
}
