/**
 * One `conclave agent`: the shared election core, driven by the runtime's Agent on real time
 * (epoch-based, monotonic), with its durable state in a file, a direct transport to its peers,
 * a port consoles attach to, GET /leader and /status over HTTP, and the --on-elected command.
 * Priorities and the leadership rules come from the cluster file; the capabilities it advertises
 * are the file's facts and what it measures itself (capabilities.ts).
 * The console is never on the data path: the agent elects with its peers whether or not any
 * console is attached, and the faults a console sets lapse unless it renews them.
 */
import { randomInt } from 'node:crypto';
import type { DurableState, NodeStatus } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { membershipOf } from '../../shared/protocol/cluster-file.js';
import { isEmptyTable, membershipSchema, type AgentEvent, type AgentStatus, type RequestOp } from '../../shared/protocol/agent-wire.js';
import { Agent } from '../runtime/agent.js';
import { CAPABILITY_REFRESH_MS, advertised, measure } from './capabilities.js';
import { RealClock } from '../runtime/clock.js';
import { listenWire, type WireServer } from '../wire/connection.js';
import { CONSOLES_MAX, CodedRefusal, ConsoleSession, WIRE_CONNECTIONS_MAX, SENT_BATCH_INTERVAL_MS } from './consoles.js';
import { FaultLease, tableProblem } from './faults.js';
import type { AgentSettings } from './flags.js';
import { LeaderHook, stopLeftoverHook } from './hook.js';
import { startAgentHttp, type AgentHttp } from './http.js';
import type { Logger } from './log.js';
import { describeMismatch, membershipFingerprint } from './membership.js';
import { PeerTransport, type SentMessage } from './peers.js';
import { FileStorage, lockDataDir, makeDataDir, type DataDirLock } from './storage.js';
import { version as packageVersion } from '../../package.json';

export const AGENT_VERSION: string = packageVersion;
/** Status pushes to consoles are coalesced to at most one per this many ms. */
export const STATUS_PUSH_INTERVAL_MS = 50;

export interface RunningAgent {
  readonly listenPort: number;
  readonly httpPort: number;
  status(): AgentStatus;
  /** Stops gracefully: the --on-elected command, then goodbyes to peers, then every port. */
  stop(reason: string): Promise<void>;
}

export interface AgentRuntimeOptions {
  /** Set when a supervisor runs this agent. */
  supervised: boolean;
}

function sameStatus(a: NodeStatus | null, b: NodeStatus | null): boolean {
  return a !== null && b !== null && a.role === b.role && a.term === b.term && a.votedFor === b.votedFor && a.leaderId === b.leaderId;
}

/** Starts an agent; throws DataDirError for a data directory it must not use, or a listen error. */
export async function startAgent(settings: AgentSettings, log: Logger, runtime: AgentRuntimeOptions): Promise<RunningAgent> {
  const { dataDir } = settings;
  makeDataDir(dataDir);
  const lock: DataDirLock = await lockDataDir(dataDir);
  if (lock.tookOverFrom !== null) log.info({ pid: lock.tookOverFrom }, 'took over the stale lock of a killed agent');
  try {
    return await startWithLock(settings, log, runtime, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function startWithLock(settings: AgentSettings, log: Logger, runtime: AgentRuntimeOptions, lock: DataDirLock): Promise<RunningAgent> {
  const { id, cluster, member, dataDir, token, tls } = settings;
  stopLeftoverHook(dataDir, log);
  const storage = FileStorage.open({
    dir: dataDir,
    member: id,
    algorithm: cluster.algorithm,
    reset: settings.resetState,
    onOpen: (found, state) => {
      if (found === 'discarded') log.warn({ path: `${dataDir}/state.json` }, 'durable state discarded (--reset-state)');
      else if (found === 'none') log.info({ dataDir }, 'no durable state: first start');
      else log.info({ durable: state }, 'durable state loaded');
    },
  });

  const clock = new RealClock(Date.now());
  const startedAt = clock.now();
  const random = createRandom(randomInt(2 ** 32 - 1));
  const membership = membershipSchema.parse(membershipOf(cluster));
  const fingerprint = membershipFingerprint(membership);
  const memberIds = cluster.members.map((m) => m.id);
  const memberSet = new Set(memberIds);
  const voters = cluster.members.filter((m) => m.voting).map((m) => m.id);
  const consoles = new Set<ConsoleSession>();
  let stopping = false;

  const emit = (event: AgentEvent): void => {
    for (const session of consoles) session.push({ t: 'event', event });
  };

  // Status pushes, coalesced.
  let statusDirty = false;
  let statusTimer: ReturnType<typeof setTimeout> | null = null;
  let lastStatusKey = '';
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

  const faults = new FaultLease(clock, cluster.faultLeaseMs, (owner, version) => {
    log.warn({ owner, version }, 'fault lease expired: faults cleared');
    emit({ type: 'lease-expired', t: clock.now(), owner: owner.slice(0, 64) });
    markChanged();
  });

  const recordSent = (sent: SentMessage): void => {
    for (const session of consoles) session.recordSent(sent);
  };

  let agent: Agent | null = null;
  const transport = new PeerTransport({
    self: id,
    peers: cluster.members.filter((m) => m.id !== id).map((m) => ({ id: m.id, address: m.address })),
    token,
    tls,
    membership,
    fingerprint,
    clock,
    rules: faults.rules,
    random: random.fork('transport'),
    log,
    deliver: (message) => agent?.receive(message),
    onEvent: (event) => {
      // A peer whose last connection closed without a goodbye is a crash hint: the machine may act on it as on a timeout.
      if (event.type === 'peer-lost' && settings.crashHints) agent?.hint(event.peer);
      emit(event);
    },
    onSent: recordSent,
    onChange: markChanged,
  });

  const hook =
    settings.onElected === null
      ? null
      : new LeaderHook({ command: settings.onElected, graceMs: settings.onElectedGraceMs, id, dataDir, log, now: () => clock.now(), onEvent: emit, onChange: markChanged });

  let lastLogged: NodeStatus | null = null;
  const measuredCapabilities = () => advertised(member.capabilities, measure(clock.now() - startedAt, AGENT_VERSION));
  let capabilities = measuredCapabilities();
  agent = new Agent({
    id,
    members: memberIds,
    voters,
    algorithm: cluster.algorithm,
    config: cluster.config,
    leadership: cluster.leadership,
    capabilities,
    clock,
    random: random.fork('machine'),
    storage,
    send: (message) => transport.send(message),
    onUpdate: (updated, previous) => {
      const current = updated.status();
      if (current === null) return;
      if (previous !== null && !sameStatus(previous, current)) emit({ type: 'status', t: clock.now(), status: current, previous });
      if (!sameStatus(lastLogged, current)) {
        const roleChanged = lastLogged === null || lastLogged.role !== current.role || lastLogged.term !== current.term;
        if (roleChanged || lastLogged?.leaderId !== current.leaderId) {
          log.info({ role: current.role, term: current.term, leaderId: current.leaderId, votedFor: current.votedFor }, current.role === 'leader' ? 'became leader' : `now ${current.role}`);
        }
        lastLogged = current;
        // A stopping agent stops its command and starts none.
        if (!stopping) hook?.update(current);
      }
      const timer = updated.electionTimer();
      const key = `${current.role}|${current.term}|${current.votedFor}|${current.leaderId}|${timer?.startedAt}|${timer?.dueAt}`;
      if (key !== lastStatusKey) {
        lastStatusKey = key;
        markChanged();
      }
    },
    onPersisted: (_agent, state: DurableState, persistedStatus) => {
      log.info({ durable: state, term: persistedStatus.term, votedFor: persistedStatus.votedFor }, 'persisted');
      emit({ type: 'persisted', t: clock.now(), status: persistedStatus });
    },
    onWriteError: (_agent, error) => {
      log.error({ error: error.message }, 'durable write failed: retrying');
      emit({ type: 'write-error', t: clock.now(), error: error.message.slice(0, 300) });
    },
    onNotice: (_agent, notice) => {
      log.info({ to: notice.to, reason: notice.reason }, 'leadership transfer started');
      emit({ type: 'transfer', t: clock.now(), to: notice.to, reason: notice.reason.slice(0, 400) });
    },
  });

  const status = (): AgentStatus => {
    const node = agent!.status() ?? { role: 'follower' as const, term: 0, votedFor: null, leaderId: null };
    const timer = agent!.electionTimer();
    return {
      id,
      address: member.address,
      pid: process.pid,
      version: AGENT_VERSION,
      members: cluster.members.map(({ id: memberId, address, voting, http, supervisor, priority }) => ({ id: memberId, address, voting, http, supervisor, priority })),
      leadership: { takeoverAfterMs: cluster.leadership.takeoverAfterMs, preferredLeader: cluster.leadership.preferredLeader },
      capabilities,
      algorithm: cluster.algorithm,
      config: cluster.config,
      faultLeaseMs: cluster.faultLeaseMs,
      status: node,
      electionTimer: timer !== null && Number.isFinite(timer.dueAt) ? timer : null,
      now: clock.now(),
      startedAt,
      peers: transport.view(),
      faults: faults.view(),
      supervised: runtime.supervised,
      leaderHook: hook?.view() ?? null,
    };
  };

  const handle = (op: RequestOp, session: ConsoleSession): unknown => {
    switch (op.op) {
      case 'ping':
        return { sentAt: op.sentAt, agentNow: clock.now() };
      case 'status':
        return status();
      case 'inspect':
        return { machine: agent!.inspect(), durable: storage.load(), clock: { now: clock.now(), wallNow: clock.wallNow(), startedAt } };
      case 'faults': {
        const problem = tableProblem(op.table, memberSet);
        if (problem !== null) throw new Error(problem);
        const granted = faults.set(op.table, op.version, op.leaseMs, session.name);
        if (isEmptyTable(op.table)) log.info({ owner: session.name, version: op.version }, 'faults cleared by a console');
        else log.warn({ owner: session.name, version: op.version, leaseMs: granted.leaseMs, blocked: op.table.blocked.length, groups: op.table.groups?.length ?? 0, links: op.table.links.length }, 'fault table set');
        emit({ type: 'faults-set', t: clock.now(), owner: session.name.slice(0, 64), version: op.version, expiresInMs: granted.expiresInMs });
        markChanged();
        return { version: op.version, ...granted };
      }
      case 'renew': {
        const renewed = faults.renew(op.version);
        if (!renewed.ok) throw new CodedRefusal(renewed.error, renewed.code);
        log.debug({ owner: session.name, version: op.version }, 'fault lease renewed');
        markChanged();
        return { expiresInMs: renewed.expiresInMs };
      }
      case 'transfer': {
        const target = cluster.members.find((m) => m.id === op.to);
        if (target === undefined) throw new Error(`${op.to} is not a member`);
        if (!target.voting) throw new Error(`${op.to} does not vote, so it cannot lead`);
        const result = agent!.transferLeadership(op.to);
        if (!result.ok) throw new Error(result.error);
        log.info({ to: op.to, console: session.name }, 'leadership transfer started');
        return undefined;
      }
      case 'child':
      case 'renew-child':
        throw new Error(`this is ${id}'s agent: send ${op.op} to its supervisor at ${member.supervisor}`);
    }
  };

  const ours = { id, membership, fingerprint };
  const server: WireServer = await listenWire({
    host: settings.listen.host,
    port: settings.listen.port,
    id,
    token,
    ...(tls === null ? {} : { tls }),
    connectionsMax: WIRE_CONNECTIONS_MAX,
    admit: (hello, remoteAddress) => {
      if (stopping) return 'stopping';
      if (hello.role === 'console') return consoles.size >= CONSOLES_MAX ? `at most ${CONSOLES_MAX} consoles at once` : null;
      if (!memberSet.has(hello.id)) return `"${hello.id}" is not a member of this cluster`;
      if (hello.id === id) return `"${hello.id}" is this member's own id`;
      return describeMismatch(ours, { id: hello.id, membership: hello.membership, fingerprint: hello.fingerprint }) ?? transport.admit(hello, remoteAddress);
    },
    welcome: () => ({ membership, fingerprint }),
    onConnection: (connection, hello) => {
      if (hello.role === 'peer') {
        transport.acceptInbound(connection, hello);
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
    onRefused: (address, reason) => {
      log.warn({ address, reason }, 'connection refused');
      const peer = /^refused peer "([^"]{1,64})"/.exec(reason)?.[1];
      if (peer !== undefined) emit({ type: 'peer-refused', t: clock.now(), peer, address, reason: reason.slice(0, 500) });
    },
  });

  let http: AgentHttp;
  try {
    http = await startAgentHttp(settings.http, status);
  } catch (error) {
    await server.close();
    throw error;
  }

  const sentTimer = setInterval(() => {
    for (const session of consoles) session.flushSent();
  }, SENT_BATCH_INTERVAL_MS);
  const capabilityTimer = setInterval(() => {
    capabilities = measuredCapabilities();
    agent!.setCapabilities(capabilities);
    markChanged();
  }, CAPABILITY_REFRESH_MS);

  agent.start();
  transport.start();
  const booted = agent.status()!;
  emit({ type: 'boot', t: clock.now(), status: booted });
  log.info(
    {
      listen: `${settings.listen.host}:${server.port}`,
      http: `${settings.http.host}:${http.port}`,
      address: member.address,
      voting: member.voting,
      algorithm: cluster.algorithm,
      members: memberIds.length,
      fingerprint: fingerprint.slice(0, 12),
      term: booted.term,
      votedFor: booted.votedFor,
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
      clearInterval(capabilityTimer);
      if (statusTimer !== null) clearTimeout(statusTimer);
      await hook?.stop();
      const goodbyes = transport.stop();
      faults.clear();
      clock.stop();
      for (const session of consoles) session.connection.close('the agent is stopping');
      await Promise.all([goodbyes, server.close(), http.close()]);
      lock.release();
      log.info({ reason }, 'stopped');
    },
  };
}
