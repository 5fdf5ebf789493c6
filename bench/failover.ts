/**
 * Failover side by side with etcd at identical settings (heartbeat 50 ms, election timeout 250 ms
 * in etcd's sense: a timeout drawn from [250, 500) ms), 3 and 5 nodes, pre-vote on and off: the
 * leader SIGKILLed (or killed from the dashboard, for the embedded cluster) at a random moment of
 * its heartbeat interval, or paused (SIGSTOP). Each system is observed the way an outside client
 * would see it, from the fault to the first moment a majority follows a new leader: etcd and
 * Conclave's agents by polling every member's status API, the embedded cluster through /control.
 * The systems take turns round by round, in a new (seeded) order each round, so that all of them
 * see the same machine load and none always follows the same neighbour's restart.
 * Conclave runs with crash hints (a crashed process's connections close, and its peers act on it)
 * and without them (timeouts alone, as etcd), to show what each part of the design buys.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize, type Summary } from '../shared/analysis/stats.js';
import { quorum, type ElectionConfig } from '../shared/core/election.js';
import { createRandom } from '../shared/core/random.js';
import { freePorts } from '../electron/base/free-ports.js';
import { runFailover } from '../electron/sim/failover.js';
import { memberClient, within } from '../electron/clients/etcd.js';
import { newToken } from '../electron/wire/tokens.js';
import { ETCD_BIN, startRawCluster, type RawCluster } from '../test/support/etcd.js';
import { BUILT_CLI, poll, progress, sleep } from './lib.js';
import { serveAndWatch, type Watched } from './served.js';

export const HEARTBEAT_MS = 50;
/** etcd's --election-timeout: each timeout is drawn from [ET, 2 ET). */
export const ELECTION_TIMEOUT_MS = 250;
const STOP_MS = 2_000;
const FAILOVER_LIMIT_MS = 10_000;
const POLL_MS = 3;
/** A member that does not answer a status request within this long is counted as not following anyone. */
const STATUS_TIMEOUT_MS = 300;
/**
 * How long after a new leader is seen its term is read again to count the elections it took:
 * etcd reports the term of its last applied entry, which reaches the new term only once the new
 * leader's first entry is applied (a heartbeat or two later).
 */
const SETTLE_MS = 4 * HEARTBEAT_MS;
/** How long a killed process may take to be reaped. */
const EXIT_TIMEOUT_MS = 5_000;
/** The seed of the order the systems take turns in. */
export const ORDER_SEED = 16;

export type Fault = 'kill' | 'pause';

export interface FailoverSample {
  ms: number;
  /** More than one election (term) was needed. */
  extraElections: boolean;
  /** The fault until another member held the leader lease (answered 200 on /leader), where the system reports leases. */
  leaseMs?: number;
}

export interface FailoverRow {
  system: string;
  nodes: number;
  preVote: boolean;
  fault: Fault;
  samples: number;
  failed: number;
  failoverMs: Summary;
  /** Share of failovers that needed more than one election. */
  extraElectionShare: number;
  /** The fault until another member held the leader lease, for systems that report it (Conclave's agents). */
  leaseMs?: Summary;
}

/** A cluster under test, seen from outside. */
export interface System {
  readonly name: string;
  /** The leader a majority follows now, with its term. */
  leader(): Promise<{ id: string; term: number } | null>;
  /** The member that holds the leader lease now (what /leader answers 200 on), for systems that report one. */
  leaseHolder?(): Promise<string | null>;
  /** Starts or stops watching (only the system under test is watched). */
  watch(on: boolean): void;
  /** The operating-system processes of its nodes (none for the embedded cluster, which lives in serve). */
  pids(): number[];
  fault(fault: Fault | 'resume' | 'restart', id: string): Promise<void>;
  stop(): Promise<void>;
}

function conclaveConfig(preVote: boolean): ElectionConfig {
  return { heartbeatMs: HEARTBEAT_MS, electionTimeoutMinMs: ELECTION_TIMEOUT_MS, electionTimeoutMaxMs: 2 * ELECTION_TIMEOUT_MS - 1, preVote, checkQuorum: true, rankedTimeouts: true };
}

/** The embedded cluster of `conclave serve`, commanded and watched over /control. */
async function embedded(nodes: number, preVote: boolean, hints: boolean): Promise<System> {
  const watched: Watched = await serveAndWatch(['--nodes', String(nodes), '--seed', '1', ...(hints ? [] : ['--no-crash-hints'])]);
  const ack = await watched.send({ type: 'configure', nodes, config: conclaveConfig(preVote) });
  if (!ack.ok) {
    await watched.stop();
    throw new Error(`configure: ${ack.error}`);
  }
  // What came before belongs to the run configure replaced.
  watched.events.length = 0;
  return {
    name: `Conclave embedded${hints ? ', crash hints' : ''}`,
    leader: async () => {
      const quorumEvent = watched.events.findLast(({ event }) => event.type === 'quorum');
      const event = quorumEvent?.event;
      return event?.type === 'quorum' && event.leaderId !== null ? { id: event.leaderId, term: event.term! } : null;
    },
    watch: () => undefined,
    pids: () => [watched.server.process.pid!],
    fault: async (fault, id) => {
      const command = fault === 'kill' ? 'kill' : fault === 'pause' ? 'pause' : fault;
      await watched.send({ type: command, nodeId: id });
    },
    stop: () => watched.stop(),
  };
}

const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 64 });

/** A JSON answer within `timeoutMs` in all (not only between bytes), or null: never throws. */
function getJson(url: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: keepAlive, signal: AbortSignal.timeout(timeoutMs) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      // A process killed mid-answer resets the connection.
      response.on('error', () => resolve(null));
      response.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve(null);
        }
      });
    });
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** Waits for a child process to exit, at most `EXIT_TIMEOUT_MS`; true when it did. */
function exited(child: ChildProcess): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), EXIT_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

type View = { id: string; leaderId: string | null; term: number; leased?: boolean } | null;

/**
 * Each member's latest answer, each member polled in its own loop (at most one request in flight
 * each), so that a member that does not answer holds up no one else's view. Only the system under
 * test is polled: the others' pollers idle, so the observer does not load the machine. An answer
 * to a request sent before the latest watch() began is dropped, so no round sees the last one's views.
 */
export class Poller {
  private readonly views = new Map<string, View>();
  private running = true;
  private active = false;
  private generation = 0;

  constructor(ids: readonly string[], fetch: (id: string) => Promise<View>) {
    for (const id of ids) {
      void (async () => {
        while (this.running) {
          if (this.active) {
            const asked = this.generation;
            const view = await fetch(id);
            if (asked === this.generation && this.active) this.views.set(id, view);
          }
          await sleep(this.active ? POLL_MS : 20);
        }
      })();
    }
  }

  current(): View[] {
    return [...this.views.values()];
  }

  watch(on: boolean): void {
    this.active = on;
    this.generation += 1;
    this.views.clear();
  }

  stop(): void {
    this.running = false;
  }
}

/** Who a majority follows, from each member's own answer (null for members that did not answer). */
function majorityLeader(views: Array<{ id: string; leaderId: string | null; term: number } | null>, size: number): { id: string; term: number } | null {
  const counts = new Map<string, { count: number; term: number }>();
  for (const view of views) {
    if (view === null || view.leaderId === null) continue;
    const entry = counts.get(view.leaderId) ?? { count: 0, term: view.term };
    entry.count += 1;
    entry.term = Math.max(entry.term, view.term);
    counts.set(view.leaderId, entry);
  }
  for (const [id, { count, term }] of counts) if (count >= quorum(size)) return { id, term };
  return null;
}

/** `conclave agent` processes on 127.0.0.1, killed and paused with signals, watched through GET /status. */
export async function agents(nodes: number, preVote: boolean, hints: boolean): Promise<System> {
  const ports = await freePorts(3 * nodes);
  const dir = mkdtempSync(join(tmpdir(), 'conclave-bench-agents-'));
  const members = Array.from({ length: nodes }, (_, index) => ({
    id: `n${index + 1}`,
    address: `127.0.0.1:${ports[3 * index]}`,
    http: `127.0.0.1:${ports[3 * index + 1]}`,
    supervisor: `127.0.0.1:${ports[3 * index + 2]}`,
  }));
  const clusterFile = join(dir, 'cluster.json');
  writeFileSync(clusterFile, JSON.stringify({ algorithm: 'raft', timing: conclaveConfig(preVote), members }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${newToken()}\n`, { mode: 0o600 });
  const processes = new Map<string, ChildProcess>();
  let stopping = false;
  const log = (id: string): string => join(dir, `${id}.log`);
  const start = (id: string): void => {
    mkdirSync(join(dir, id), { recursive: true });
    const args = [BUILT_CLI, 'agent', '--id', id, '--cluster', clusterFile, '--data-dir', join(dir, id), '--token-file', tokenFile, '--log-level', 'warn', ...(hints ? [] : ['--no-crash-hints'])];
    // Each agent's warnings and errors go to its own log, shown if it dies on its own.
    const fd = openSync(log(id), 'a');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && !stopping) progress(`agent ${id} exited by itself (${signal ?? `code ${code}`}): ${readFileSync(log(id), 'utf8').trim().split('\n').slice(-3).join(' | ')}`);
    });
    processes.set(id, child);
  };
  const killAll = (): void => {
    for (const child of processes.values()) child.kill('SIGKILL');
  };
  const cleanUp = (): void => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  for (const member of members) start(member.id);
  const poller = new Poller(
    members.map((member) => member.id),
    async (id) => {
      const answer = (await getJson(`http://${members.find((member) => member.id === id)!.http}/status`, STATUS_TIMEOUT_MS)) as {
        status?: { leaderId: string | null; term: number };
        lease?: { held: boolean } | null;
      } | null;
      return answer?.status === undefined ? null : { id, leaderId: answer.status.leaderId, term: answer.status.term, leased: answer.lease?.held === true };
    },
  );
  return {
    name: `Conclave agents${hints ? ', crash hints' : ''}`,
    leader: async () => majorityLeader(poller.current(), nodes),
    leaseHolder: async () => poller.current().find((view) => view?.leased === true)?.id ?? null,
    watch: (on) => poller.watch(on),
    pids: () => [...processes.values()].map((child) => child.pid!),
    fault: async (fault, id) => {
      const child = processes.get(id)!;
      if (fault === 'kill') {
        child.kill('SIGKILL');
        if (!(await exited(child))) throw new Error(`agent ${id} (pid ${child.pid}) did not exit on SIGKILL`);
      } else if (fault === 'restart') start(id);
      else child.kill(fault === 'pause' ? 'SIGSTOP' : 'SIGCONT');
    },
    stop: async () => {
      stopping = true;
      poller.stop();
      killAll();
      await Promise.all([...processes.values()].map(exited));
      process.off('exit', cleanUp);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** etcd members on 127.0.0.1 with the same timing, watched through each member's maintenance status. */
export async function etcd(nodes: number, preVote: boolean): Promise<System> {
  const cluster: RawCluster = await startRawCluster({ members: nodes, heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS, flags: preVote ? ['--pre-vote'] : [] });
  // The app's own client for one member: no retries, no circuit breaker hiding a member that came back.
  const clients = cluster.members.map((member) => memberClient(member.clientUrl, {}));
  const names = new Map<string, string>();
  const poller = new Poller(
    cluster.members.map((member) => member.name),
    async (name) => {
      const index = cluster.members.findIndex((member) => member.name === name);
      try {
        // A deadline: a paused member never answers.
        const answer = await clients[index]!.maintenance.status(within(STATUS_TIMEOUT_MS));
        names.set(answer.header.member_id, name);
        return { id: name, leaderId: answer.leader === '0' ? null : answer.leader, term: Number(answer.raftTerm) };
      } catch {
        return null;
      }
    },
  );
  return {
    name: 'etcd 3.4',
    leader: async () => {
      const found = majorityLeader(poller.current(), nodes);
      return found === null || !names.has(found.id) ? null : { id: names.get(found.id)!, term: found.term };
    },
    watch: (on) => poller.watch(on),
    pids: () => cluster.members.map((member) => member.process!.pid!),
    fault: async (fault, id) => {
      const member = cluster.members.find((candidate) => candidate.name === id)!;
      if (fault === 'kill') await member.kill();
      else if (fault === 'restart') member.restart();
      else member.process?.kill(fault === 'pause' ? 'SIGSTOP' : 'SIGCONT');
    },
    stop: async () => {
      poller.stop();
      for (const client of clients) client.close();
      for (const member of cluster.members) member.process?.kill('SIGCONT');
      await cluster.stop();
    },
  };
}

/** One round: a fault on the leader, the time until a majority follows another, then recovery. */
async function round(system: System, fault: Fault): Promise<FailoverSample | null> {
  system.watch(true);
  try {
    return await measure(system, fault);
  } finally {
    system.watch(false);
  }
}

async function measure(system: System, fault: Fault): Promise<FailoverSample | null> {
  const before = await poll(() => system.leader(), 20, 15_000);
  if (before === null) return null;
  await sleep(Math.random() * HEARTBEAT_MS);
  const faultAt = performance.now();
  await system.fault(fault, before.id);
  const after = await poll(async () => {
    const now = await system.leader();
    return now !== null && now.id !== before.id ? { ...now, at: performance.now() } : null;
  }, POLL_MS, FAILOVER_LIMIT_MS);
  // When another member holds the leader lease: /leader answers 200 there from then on.
  const leasedAt =
    after === null || system.leaseHolder === undefined
      ? null
      : await poll(async () => {
          const holder = await system.leaseHolder!();
          return holder !== null && holder !== before.id ? performance.now() : null;
        }, POLL_MS, FAILOVER_LIMIT_MS);
  // The term the new leader settled in (for etcd, once its first entry is applied).
  await sleep(SETTLE_MS);
  const settledTerm = Math.max(after?.term ?? 0, (await system.leader())?.term ?? 0);
  if (fault === 'pause') {
    const resumeAt = faultAt + STOP_MS;
    await sleep(Math.max(0, resumeAt - performance.now()));
    await system.fault('resume', before.id);
  } else {
    await system.fault('restart', before.id);
  }
  // Let the old leader rejoin before the next round.
  await sleep(750);
  return after === null ? null : { ms: after.at - faultAt, extraElections: settledTerm - before.term > 1, ...(leasedAt === null ? {} : { leaseMs: leasedAt - faultAt }) };
}

/** What each part of the design does to failover, on the simulator at the bench's settings (loopback-like network, a 2 ms write). */
export interface AblationRow {
  variant: string;
  nodes: number;
  failoverMs: Summary;
  /** Crash until the new leader holds the leader lease (answers 200 on /leader); absent in results from before leases. */
  leaseMs?: Summary;
  /** Mean candidacies per failover (more than one: the vote split). */
  candidacies: number;
}

export function simAblation(sizes: readonly number[], trials: number): AblationRow[] {
  const variants: Array<[string, Partial<ElectionConfig>, boolean]> = [
    ['timeouts uniform over the range (as etcd, the Raft paper)', { rankedTimeouts: false }, false],
    ['+ ranked timeouts', {}, false],
    ['+ crash hints', {}, true],
  ];
  const rows: AblationRow[] = [];
  for (const nodes of sizes) {
    for (const [variant, overrides, crashHints] of variants) {
      const report = runFailover({
        algorithm: 'raft',
        nodes,
        config: { ...conclaveConfig(true), ...overrides },
        link: { latencyMs: 0.1, jitterMs: 0.05 },
        diskWriteMs: 2,
        crashHints,
        trials,
        seed: 1,
      });
      rows.push({ variant, nodes, failoverMs: report.failoverMs, leaseMs: report.leaseMs, candidacies: report.candidacies.mean });
    }
  }
  return rows;
}

export interface FailoverOptions {
  kills: number;
  pauses: number;
  sizes: readonly number[];
}

export interface FailoverResult {
  rows: FailoverRow[];
  /** The seed of the order the systems took turns in, round by round. */
  orderSeed: number;
  /** Why etcd's columns are missing, or null. */
  etcd: string | null;
  ablation: AblationRow[];
}

export async function benchFailover(options: FailoverOptions): Promise<FailoverResult> {
  const ablation = simAblation(options.sizes, options.kills * 20);
  progress('failover: the simulator\'s ablation done');
  const rows: FailoverRow[] = [];
  const etcdMissing = ETCD_BIN === null ? 'etcd is not installed (sudo apt-get install etcd-server): its columns are skipped' : null;
  if (etcdMissing !== null) progress(etcdMissing);
  const random = createRandom(ORDER_SEED);
  for (const nodes of options.sizes) {
    for (const preVote of [true, false]) {
      const systems: System[] = [];
      try {
        // Each one is stopped below even when a later one fails to start.
        systems.push(await embedded(nodes, preVote, false));
        systems.push(await embedded(nodes, preVote, true));
        systems.push(await agents(nodes, preVote, false));
        systems.push(await agents(nodes, preVote, true));
        if (etcdMissing === null) systems.push(await etcd(nodes, preVote));
        for (const [fault, count] of [
          ['kill', options.kills],
          ['pause', options.pauses],
        ] as const) {
          // A paused process keeps its connections: crash hints do not apply, so one Conclave variant of each runtime suffices.
          const measured = fault === 'pause' ? systems.filter((system) => !system.name.endsWith('crash hints')) : systems;
          const samples = new Map<System, Array<FailoverSample | null>>(measured.map((system) => [system, []]));
          for (let index = 1; index <= count; index++) {
            for (const system of shuffled(measured, random)) samples.get(system)!.push(await round(system, fault));
            if (index % 5 === 0 || index === count) progress(`failover, ${nodes} nodes, pre-vote ${preVote ? 'on' : 'off'}, ${fault}: ${index}/${count} rounds`);
          }
          for (const [system, results] of samples) {
            const done = results.filter((sample): sample is FailoverSample => sample !== null);
            rows.push({
              system: system.name,
              nodes,
              preVote,
              fault,
              samples: done.length,
              failed: results.length - done.length,
              failoverMs: summarize(done.map((sample) => sample.ms)),
              extraElectionShare: done.length === 0 ? NaN : done.filter((sample) => sample.extraElections).length / done.length,
              ...(done.some((sample) => sample.leaseMs !== undefined) ? { leaseMs: summarize(done.flatMap((sample) => (sample.leaseMs === undefined ? [] : [sample.leaseMs]))) } : {}),
            });
          }
        }
      } finally {
        await stopAll(systems);
      }
    }
  }
  return { rows, orderSeed: ORDER_SEED, etcd: etcdMissing, ablation };
}

function shuffled<T>(items: readonly T[], random: { int(min: number, max: number): number }): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = random.int(0, index);
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

/** Stops every system, each even when another fails to stop. */
export async function stopAll(systems: readonly System[]): Promise<void> {
  const results = await Promise.allSettled(systems.map((system) => system.stop()));
  for (const result of results) if (result.status === 'rejected') progress(`could not stop a system: ${String(result.reason)}`);
}
