/**
 * `conclave agent --backend etcd`: a member that campaigns in an etcd election (etcd-election.ts)
 * instead of running the cluster file's algorithm with its peers. Everything an application and a
 * console see stays the same: GET /leader and /status, --on-elected (with the leader key's
 * revision as CONCLAVE_TERM), the console port with status and events. It has no peer transport,
 * so the console controls that act on one (partitions, link faults, transfer) are refused with the
 * reason; kill, restart and pause act on the process through --supervise as for any agent.
 */
import type { NodeStatus } from '../../shared/core/election.js';
import { isEmptyTable, type AgentEvent, type AgentStatus, type RequestOp } from '../../shared/protocol/agent-wire.js';
import type { TargetControl } from '../../shared/protocol/types.js';
import { clusterClient, explainEtcdError } from '../etcd/client.js';
import { RealClock } from '../runtime/clock.js';
import { listenWire } from '../wire/connection.js';
import { CONSOLES_MAX, ConsoleSession, WIRE_CONNECTIONS_MAX } from './consoles.js';
import { ETCD_CALL_TIMEOUT_MS, EtcdElection } from './etcd-election.js';
import type { AgentSettings, EtcdBackendSettings } from './flags.js';
import { LeaderHook, stopLeftoverHook } from './hook.js';
import { startAgentHttp, type AgentHttp } from './http.js';
import type { Logger } from './log.js';
import { AGENT_VERSION, STATUS_PUSH_INTERVAL_MS, type AgentRuntimeOptions, type RunningAgent } from './node.js';
import { lockDataDir, makeDataDir } from './storage.js';

/** What an etcd-backed agent cannot do, with the reason consoles show. */
export function etcdUnavailable(election: string): Partial<Record<TargetControl, string>> {
  const noTransport = `These agents elect through etcd (election "${election}"), not over Conclave's peer transport, so there are no links between them to`;
  return {
    partition: `${noTransport} partition: cut an agent off from etcd to see its lease expire`,
    link: `${noTransport} cut, slow or make lossy`,
    loss: `${noTransport} make lossy`,
    duplicate: `${noTransport} duplicate messages on`,
    transfer: `etcd's election cannot hand leadership to a chosen member: stop the leader's agent (SIGTERM resigns, and the next in line leads at once)`,
  };
}

function sameStatus(a: NodeStatus | null, b: NodeStatus): boolean {
  return a !== null && a.role === b.role && a.term === b.term && a.leaderId === b.leaderId;
}

export async function startEtcdAgent(settings: AgentSettings, backend: EtcdBackendSettings, log: Logger, runtime: AgentRuntimeOptions): Promise<RunningAgent> {
  const { id, cluster, member, dataDir, token, tls } = settings;
  // The data directory holds no election state here (etcd does): the lock, and the --on-elected command's pid.
  makeDataDir(dataDir);
  const lock = await lockDataDir(dataDir);
  if (lock.tookOverFrom !== null) log.info({ pid: lock.tookOverFrom }, 'took over the stale lock of a killed agent');
  stopLeftoverHook(dataDir, log);

  const clock = new RealClock(Date.now());
  const startedAt = clock.now();
  const consoles = new Set<ConsoleSession>();
  const unavailable = etcdUnavailable(backend.election);
  const endpoints = backend.access.endpoints;
  const client = clusterClient(endpoints, backend.access, ETCD_CALL_TIMEOUT_MS);
  let stopping = false;

  const emit = (event: AgentEvent): void => {
    for (const session of consoles) session.push({ t: 'event', event });
  };
  let statusTimer: ReturnType<typeof setTimeout> | null = null;
  const markChanged = (): void => {
    if (statusTimer !== null || consoles.size === 0 || stopping) return;
    statusTimer = setTimeout(() => {
      statusTimer = null;
      const current = status();
      for (const session of consoles) session.push({ t: 'status', status: current });
    }, STATUS_PUSH_INTERVAL_MS);
  };

  const hook =
    settings.onElected === null
      ? null
      : new LeaderHook({ command: settings.onElected, graceMs: settings.onElectedGraceMs, id, dataDir, log, now: () => clock.now(), onEvent: emit, onChange: markChanged });

  let last: NodeStatus | null = null;
  let lastDescribed = '';
  const election = new EtcdElection({
    client,
    election: backend.election,
    self: { id, address: member.address },
    campaign: member.voting,
    leaseTtlS: backend.leaseTtlS,
    members: new Map(cluster.members.map((entry) => [entry.id, entry.address])),
    endpoints,
    explain: (error) => explainEtcdError(error, endpoints.join(','), backend.access).message,
    log,
    onChange: () => {
      const current = election.status();
      if (!sameStatus(last, current)) {
        if (last !== null) emit({ type: 'status', t: clock.now(), status: current, previous: last });
        log.info({ role: current.role, term: current.term, leaderId: current.leaderId }, current.role === 'leader' ? 'became leader' : `now ${current.role}`);
        last = current;
        // A stopping agent stops its command and starts none.
        if (!stopping) hook?.update(current);
        markChanged();
      }
      const described = JSON.stringify(election.describe());
      if (described !== lastDescribed) {
        lastDescribed = described;
        markChanged();
      }
    },
  });

  const status = (): AgentStatus => ({
    id,
    address: member.address,
    pid: process.pid,
    version: AGENT_VERSION,
    members: cluster.members.map(({ id: memberId, address, voting, http, supervisor }) => ({ id: memberId, address, voting, http, supervisor })),
    algorithm: cluster.algorithm,
    config: cluster.config,
    faultLeaseMs: cluster.faultLeaseMs,
    status: election.status(),
    electionTimer: null,
    now: clock.now(),
    startedAt,
    peers: {},
    faults: null,
    supervised: runtime.supervised,
    leaderHook: hook?.view() ?? null,
    backend: election.describe(),
    unavailable,
  });

  const handle = (op: RequestOp): unknown => {
    switch (op.op) {
      case 'ping':
        return { sentAt: op.sentAt, agentNow: clock.now() };
      case 'status':
        return status();
      case 'inspect':
        return { machine: { ...election.describe(), leading: election.status().role === 'leader' }, durable: null, clock: { now: clock.now(), wallNow: clock.wallNow(), startedAt } };
      case 'faults':
        // Clearing what was never set is fine (a console detaching); setting faults is not.
        if (!isEmptyTable(op.table)) throw new Error(unavailable.partition);
        return { version: op.version, leaseMs: Math.min(op.leaseMs, cluster.faultLeaseMs), expiresInMs: null };
      case 'renew':
        throw new Error(`no fault table is in force: ${unavailable.partition}`);
      case 'transfer':
        throw new Error(unavailable.transfer);
      case 'child':
      case 'renew-child':
        throw new Error(`this is ${id}'s agent: send ${op.op} to its supervisor at ${member.supervisor}`);
    }
  };

  const server = await listenWire({
    host: settings.listen.host,
    port: settings.listen.port,
    id,
    token,
    ...(tls === null ? {} : { tls }),
    connectionsMax: WIRE_CONNECTIONS_MAX,
    admit: (hello) => {
      if (stopping) return 'stopping';
      if (hello.role === 'peer') return `${id} elects through etcd (election "${backend.election}"): it takes no peer connections (are all agents started with --backend etcd?)`;
      return consoles.size >= CONSOLES_MAX ? `at most ${CONSOLES_MAX} consoles at once` : null;
    },
    onConnection: (connection, hello) => {
      const session = new ConsoleSession(connection, handle, log);
      consoles.add(session);
      log.info({ console: hello.id, address: connection.remoteAddress }, 'console attached');
      connection.once('close', (reason) => {
        consoles.delete(session);
        if (!stopping) log.info({ console: hello.id, address: connection.remoteAddress, reason }, 'console detached');
      });
      session.push({ t: 'status', status: status() });
    },
    onRefused: (address, reason) => log.warn({ address, reason }, 'connection refused'),
  }).catch((error: unknown) => {
    client.close();
    lock.release();
    throw error;
  });
  let http: AgentHttp;
  try {
    http = await startAgentHttp(settings.http, status);
  } catch (error) {
    await server.close();
    client.close();
    lock.release();
    throw error;
  }

  last = election.status();
  emit({ type: 'boot', t: clock.now(), status: last });
  election.start();
  log.info(
    {
      listen: `${settings.listen.host}:${server.port}`,
      http: `${settings.http.host}:${http.port}`,
      address: member.address,
      voting: member.voting,
      backend: 'etcd',
      etcd: endpoints,
      election: backend.election,
      leaseTtlS: backend.leaseTtlS,
      members: cluster.members.length,
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
      if (statusTimer !== null) clearTimeout(statusTimer);
      // The command stops while this member still leads; then it resigns and the next in line leads.
      await hook?.stop();
      await election.stop();
      client.close();
      clock.stop();
      for (const session of consoles) session.connection.close('the agent is stopping');
      await Promise.all([server.close(), http.close()]);
      lock.release();
      log.info({ reason }, 'stopped');
    },
  };
}
