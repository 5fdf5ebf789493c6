/**
 * One `conclave agent`: the shared election core, driven by the runtime's Agent on real time
 * (epoch-based, monotonic), with its durable state in a file and a direct transport to its peers,
 * inside the shell every agent has (shell.ts: the console port, GET /leader and /status over
 * HTTP, the --on-elected command).
 * Priorities and the leadership rules come from the cluster file; the capabilities it advertises
 * are the file's facts and what it measures itself (capabilities.ts).
 * The console is never on the data path: the agent elects with its peers whether or not any
 * console is attached, and the faults a console sets lapse unless it renews them.
 */
import { randomInt } from 'node:crypto';
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { sameNodeStatus, type DurableState, type ElectionConfig, type NodeStatus } from '../../shared/core/election.js';
import { leaseTiming } from '../../shared/core/lease.js';
import { createRandom } from '../../shared/core/random.js';
import { membershipOf } from '../../shared/protocol/cluster-file.js';
import { isEmptyTable, membershipSchema } from '../../shared/protocol/agent-wire.js';
import { ThrottledReport } from '../../shared/core/throttled-report.js';
import { TERM_REFUSED_WINDOW_MS } from '../../shared/core/term-guard.js';
import { Agent } from '../runtime/agent.js';
import { CAPABILITY_REFRESH_MS, advertised, measure } from './capabilities.js';
import { CodedRefusal } from './consoles.js';
import { FaultLease, tableProblem } from './faults.js';
import type { AgentSettings } from './flags.js';
import type { Logger } from './log.js';
import { describeMismatch, membershipFingerprint } from './membership.js';
import { PeerTransport } from './peers.js';
import { AGENT_VERSION, startShell, type AgentRuntimeOptions, type ElectionBackend, type RunningAgent, type ShellContext } from './shell.js';
import { FileStorage } from './storage.js';

export { AGENT_VERSION, STATUS_PUSH_INTERVAL_MS, type AgentRuntimeOptions, type RunningAgent } from './shell.js';

/** Starts an agent; throws DataDirError for a data directory it must not use, or a listen error. */
export function startAgent(settings: AgentSettings, log: Logger, runtime: AgentRuntimeOptions): Promise<RunningAgent> {
  return startShell(settings, log, runtime, (shell) => conclaveBackend(settings, log, shell));
}

/** The cluster file's algorithm, run by the runtime's Agent with its peers over PeerTransport. */
function conclaveBackend(settings: AgentSettings, log: Logger, shell: ShellContext): ElectionBackend {
  const { id, cluster, member, dataDir, token, tls } = settings;
  const { clock, startedAt, emit, markChanged } = shell;
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

  const random = createRandom(randomInt(2 ** 32 - 1));
  const membership = membershipSchema.parse(membershipOf(cluster));
  const fingerprint = membershipFingerprint(membership);
  const memberIds = cluster.members.map((m) => m.id);
  const memberSet = new Set(memberIds);
  const voters = cluster.members.filter((m) => m.voting).map((m) => m.id);
  let lastStatusKey = '';

  const faults = new FaultLease(clock, cluster.faultLeaseMs, (owner, version) => {
    log.warn({ owner, version }, 'fault lease expired: faults cleared');
    emit({ type: 'lease-expired', t: clock.now(), owner: owner.slice(0, 64) });
    markChanged();
  });

  // A broken member (or a token holder) sending terms far ahead: logged and told to consoles at most twice per window, with a count.
  const refusedTerms = new ThrottledReport<string, { term: number; ownTerm: number }>(
    TERM_REFUSED_WINDOW_MS,
    (delayMs, fire) => setTimeout(fire, delayMs).unref(),
    (peer, { term, ownTerm }, refused) => {
      log.error({ peer, term, ownTerm, refused }, 'message with a term implausibly far ahead refused');
      emit({ type: 'term-refused', t: clock.now(), peer, term, ownTerm, refused });
    },
  );

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
    onSent: shell.recordSent,
    onChange: markChanged,
  });

  const measuredCapabilities = () => advertised(member.capabilities, measure(clock.now() - startedAt, AGENT_VERSION));
  let capabilities = measuredCapabilities();
  agent = new Agent({
    id,
    members: memberIds,
    voters,
    algorithm: cluster.algorithm,
    config: cluster.config,
    clockDriftMax: cluster.clockDriftMax,
    leadership: cluster.leadership,
    capabilities,
    clock,
    random: random.fork('machine'),
    storage,
    send: (message) => transport.send(message),
    onUpdate: (updated, previous) => {
      const current = updated.status();
      if (current === null) return;
      if (previous !== null && !sameNodeStatus(previous, current)) emit({ type: 'status', t: clock.now(), status: current, previous });
      shell.noteStatus(current);
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
    onTermRefused: (refusing, message) => refusedTerms.add(message.from, { term: message.term, ownTerm: refusing.status()?.term ?? 0 }),
  });
  const machine = agent;
  const node = (): NodeStatus => machine.status() ?? { role: 'follower', term: 0, votedFor: null, leaderId: null };

  const ours = { id, membership, fingerprint };
  let capabilityTimer: ReturnType<typeof setInterval> | null = null;
  return {
    node,
    lease: () => {
      if (ALGORITHM_INFO[cluster.algorithm].leaderLease !== true) return null;
      const until = machine.leaseExpiresAt();
      const current = node();
      if (until !== null) return { held: true, term: current.term, remainingMs: Math.max(0, until - clock.now()) };
      return { held: false, reason: withoutLease(current, id, cluster.config, cluster.clockDriftMax) };
    },
    status: () => {
      const timer = machine.electionTimer();
      return {
        members: cluster.members.map(({ id: memberId, address, voting, http, supervisor, priority }) => ({ id: memberId, address, voting, http, supervisor, priority })),
        leadership: { takeoverAfterMs: cluster.leadership.takeoverAfterMs, preferredLeader: cluster.leadership.preferredLeader },
        capabilities,
        status: node(),
        electionTimer: timer !== null && Number.isFinite(timer.dueAt) ? timer : null,
        peers: transport.view(),
        faults: faults.view(),
      };
    },
    inspect: () => ({ machine: machine.inspect(), durable: storage.load() }),
    handle: (op, session) => {
      switch (op.op) {
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
          const result = machine.transferLeadership(op.to);
          if (!result.ok) throw new Error(result.error);
          log.info({ to: op.to, console: session.name }, 'leadership transfer started');
          return undefined;
        }
      }
    },
    admitPeer: (hello, remoteAddress) => {
      if (!memberSet.has(hello.id)) return `"${hello.id}" is not a member of this cluster`;
      if (hello.id === id) return `"${hello.id}" is this member's own id`;
      return describeMismatch(ours, { id: hello.id, membership: hello.membership, fingerprint: hello.fingerprint }) ?? transport.admit(hello, remoteAddress);
    },
    acceptPeer: (connection, hello) => transport.acceptInbound(connection, hello),
    welcome: () => ({ membership, fingerprint }),
    onRefused: (address, reason) => {
      const peer = /^refused peer "([^"]{1,64})"/.exec(reason)?.[1];
      if (peer !== undefined) emit({ type: 'peer-refused', t: clock.now(), peer, address, reason: reason.slice(0, 500) });
    },
    start: () => {
      capabilityTimer = setInterval(() => {
        capabilities = measuredCapabilities();
        machine.setCapabilities(capabilities);
        markChanged();
      }, CAPABILITY_REFRESH_MS);
      machine.start();
      transport.start();
    },
    stop: async () => {
      if (capabilityTimer !== null) clearInterval(capabilityTimer);
      const draining = transport.stop();
      faults.clear();
      return { draining };
    },
    logFields: (booted) => ({ algorithm: cluster.algorithm, members: memberIds.length, fingerprint: fingerprint.slice(0, 12), term: booted.term, votedFor: booted.votedFor }),
  };
}

/** Why a member holds no lease, in words, for GET /leader and /status. */
function withoutLease(status: NodeStatus, id: string, config: ElectionConfig, clockDriftMax: number): string {
  if (status.role === 'leader') {
    const promiseMs = leaseTiming(config, clockDriftMax).promiseMs;
    return `${id} leads term ${status.term} but holds no lease: a majority has not acknowledged a heartbeat round of its since their promises to the previous leader ended (up to ${promiseMs} ms after an election), or it is cut off from a majority`;
  }
  if (status.role === 'follower') return status.leaderId === null ? `no leader is known in term ${status.term}` : `${status.leaderId} leads term ${status.term}; ${id} follows`;
  return `${id} is standing for election (term ${status.term})`;
}
