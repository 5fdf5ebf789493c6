/**
 * `conclave agent --backend etcd`: a member that campaigns in an etcd election (etcd-election.ts)
 * instead of running the cluster file's algorithm with its peers. Everything an application and a
 * console see stays the same, in the same shell (shell.ts): GET /leader and /status, --on-elected
 * (with the leader key's revision as CONCLAVE_TERM), the console port with status and events. It
 * has no peer transport, so the console controls that act on one (partitions, link faults,
 * transfer) are refused with the reason; kill, restart and pause act on the process through
 * --supervise as for any agent.
 */
import { isEmptyTable } from '../../shared/protocol/agent-wire.js';
import type { TargetControl } from '../../shared/protocol/types.js';
import { clusterClient, explainEtcdError } from '../clients/etcd.js';
import { ETCD_CALL_TIMEOUT_MS, EtcdElection } from './etcd-election.js';
import type { AgentSettings, EtcdBackendSettings } from './flags.js';
import type { Logger } from './log.js';
import { startShell, type AgentRuntimeOptions, type ElectionBackend, type RunningAgent, type ShellContext } from './shell.js';

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

/** Starts an etcd-backed agent; throws DataDirError for a data directory it must not use, or a listen or etcd client error. */
export function startEtcdAgent(settings: AgentSettings, backend: EtcdBackendSettings, log: Logger, runtime: AgentRuntimeOptions): Promise<RunningAgent> {
  // The data directory holds no election state here (etcd does): the lock, and the --on-elected command's pid.
  return startShell(settings, log, runtime, (shell) => etcdBackend(settings, backend, log, shell));
}

function etcdBackend(settings: AgentSettings, backend: EtcdBackendSettings, log: Logger, shell: ShellContext): ElectionBackend {
  const { id, cluster, member } = settings;
  const { clock, emit, markChanged } = shell;
  const unavailable = etcdUnavailable(backend.election);
  const endpoints = backend.access.endpoints;
  const client = clusterClient(endpoints, backend.access, ETCD_CALL_TIMEOUT_MS);

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
      const { changed, previous } = shell.noteStatus(current);
      if (changed) {
        if (previous !== null) emit({ type: 'status', t: clock.now(), status: current, previous });
        markChanged();
      }
      const described = JSON.stringify(election.describe());
      if (described !== lastDescribed) {
        lastDescribed = described;
        markChanged();
      }
    },
  });

  return {
    node: () => election.status(),
    // The etcd election's own lease: the TTL from the last keep-alive etcd answered, less a margin.
    lease: () => {
      const current = election.status();
      const remainingMs = election.leaseRemainingMs();
      if (remainingMs !== null) return { held: true, term: current.term, remainingMs };
      return { held: false, reason: current.leaderId === null ? `no leader is known in election "${backend.election}"` : `${current.leaderId} leads election "${backend.election}"; ${id} waits in line` };
    },
    status: () => ({
      members: cluster.members.map(({ id: memberId, address, voting, http, supervisor }) => ({ id: memberId, address, voting, http, supervisor })),
      status: election.status(),
      electionTimer: null,
      peers: {},
      faults: null,
      backend: election.describe(),
      unavailable,
    }),
    inspect: () => ({ machine: { ...election.describe(), leading: election.status().role === 'leader' }, durable: null }),
    handle: (op) => {
      switch (op.op) {
        case 'faults':
          // Clearing what was never set is fine (a console detaching); setting faults is not.
          if (!isEmptyTable(op.table)) throw new Error(unavailable.partition);
          return { version: op.version, leaseMs: Math.min(op.leaseMs, cluster.faultLeaseMs), expiresInMs: null };
        case 'renew':
          throw new Error(`no fault table is in force: ${unavailable.partition}`);
        case 'transfer':
          throw new Error(unavailable.transfer);
      }
    },
    admitPeer: () => `${id} elects through etcd (election "${backend.election}"): it takes no peer connections (are all agents started with --backend etcd?)`,
    acceptPeer: (connection) => connection.close('this agent takes no peer connections'),
    start: () => election.start(),
    stop: async () => {
      // Resigns: the next in line leads at once.
      await election.stop();
      client.close();
      return { draining: Promise.resolve() };
    },
    logFields: () => ({ backend: 'etcd', etcd: endpoints, election: backend.election, leaseTtlS: backend.leaseTtlS, members: cluster.members.length }),
  };
}
