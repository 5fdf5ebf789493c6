/**
 * Real `conclave agent` processes for tests: cluster files on free ports, agents started from the
 * built CLI with their JSON log lines collected, consoles that attach over the real wire, and the
 * check of durable histories. Every process a test starts is stopped by `stopAll`.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { pushFrame, type AgentStatus, type PushFrame, type RequestOp } from '../../shared/protocol/agent-wire.js';
import type { ClusterFileInput } from '../../shared/protocol/cluster-file.js';
import { dialWire, type WireConnection } from '../../electron/wire/connection.js';
import { APP_ROOT, BUILT_CLI } from '../support/processes.js';

export const TOKEN = 'agent-test-token-0123456789';
export const STOP_TIMEOUT_MS = 10_000;

/** Polls `probe` until it returns something other than undefined; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === null ? '' : ` (last error: ${String(lastError)})`}`);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Ports that were free a moment ago (bound and released at once, all together so they differ). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, host, () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export interface TestMember {
  id: string;
  address: string;
  http: string;
  supervisor: string;
  voting: boolean;
}

export interface TestCluster {
  dir: string;
  file: string;
  members: TestMember[];
  member(id: string): TestMember;
  dataDir(id: string): string;
  /** Writes another cluster file (a mismatched membership) next to the real one. */
  writeVariant(name: string, change: (input: ClusterFileInput) => void): string;
  remove(): void;
}

export interface ClusterSpec {
  algorithm?: 'raft' | 'bully' | 'paxos';
  timing?: ClusterFileInput['timing'];
  faultLeaseMs?: number;
  ids: string[];
  /** Members that do not vote. */
  learners?: string[];
  /** Host for every member (the netns test gives each its own). */
  hosts?: string[];
  /** Priorities and static capabilities of some members, and the file's leadership rules. */
  priorities?: Record<string, number>;
  capabilities?: Record<string, Record<string, string | number | boolean>>;
  leadership?: ClusterFileInput['leadership'];
}

export async function makeCluster(spec: ClusterSpec): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-agents-'));
  const hosts = spec.hosts ?? spec.ids.map(() => '127.0.0.1');
  const ports = spec.hosts === undefined ? await freePorts(spec.ids.length * 3) : spec.ids.flatMap(() => [7400, 8400, 9400]);
  const members: TestMember[] = spec.ids.map((id, index) => ({
    id,
    address: `${hosts[index]}:${ports[index * 3]}`,
    http: `${hosts[index]}:${ports[index * 3 + 1]}`,
    supervisor: `${hosts[index]}:${ports[index * 3 + 2]}`,
    voting: !(spec.learners ?? []).includes(id),
  }));
  const input: ClusterFileInput = {
    name: 'test',
    algorithm: spec.algorithm ?? 'raft',
    ...(spec.timing === undefined ? {} : { timing: spec.timing }),
    ...(spec.faultLeaseMs === undefined ? {} : { faultLeaseMs: spec.faultLeaseMs }),
    ...(spec.leadership === undefined ? {} : { leadership: spec.leadership }),
    members: members.map(({ id, address, http, supervisor, voting }) => ({
      id,
      address,
      http,
      supervisor,
      voting,
      ...(spec.priorities?.[id] === undefined ? {} : { priority: spec.priorities[id] }),
      ...(spec.capabilities?.[id] === undefined ? {} : { capabilities: spec.capabilities[id] }),
    })),
  };
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, toYaml(input));
  return {
    dir,
    file,
    members,
    member: (id) => members.find((m) => m.id === id)!,
    dataDir: (id) => join(dir, `data-${id}`),
    writeVariant: (name, change) => {
      const variant = structuredClone(input);
      change(variant);
      const path = join(dir, name);
      writeFileSync(path, toYaml(variant));
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface LogLine {
  level: number;
  time: number;
  id: string;
  component: string;
  msg: string;
  [field: string]: unknown;
}

const running = new Set<ChildProcess>();

/** One process of the built CLI (`conclave agent ...`), with its JSON log lines. */
export class AgentProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    running.add(child);
    child.stdout?.on('data', (chunk: Buffer) => this.take(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 100_000) this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logged(msg: string | RegExp, where: (line: LogLine) => boolean = () => true): LogLine[] {
    return this.lines.filter((line) => (typeof msg === 'string' ? line.msg === msg : msg.test(line.msg)) && where(line));
  }

  async waitForLog(msg: string | RegExp, where: (line: LogLine) => boolean = () => true, timeoutMs = 15_000): Promise<LogLine> {
    return waitFor(`${this.label} to log "${String(msg)}"`, () => this.logged(msg, where)[0], timeoutMs);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  describe(): string {
    return `${this.label} (pid ${this.child.pid}):\n${this.lines.map((line) => JSON.stringify(line)).join('\n')}\n${this.stderr}`;
  }

  private take(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        this.lines.push(JSON.parse(part) as LogLine);
      } catch {
        this.stderr += `${part}\n`;
      }
    }
  }
}

export interface AgentArgs {
  cluster: TestCluster;
  id: string;
  /** Another cluster file (a variant). */
  file?: string;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
  /** Command prefix (ip netns exec NAME). */
  prefix?: string[];
  /** An IPC channel, as the hub gives the supervisors it starts. */
  ipc?: boolean;
}

export function startAgentProcess({ cluster, id, file, extra = [], env = {}, prefix = [], ipc = false }: AgentArgs): AgentProcess {
  if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run "npm run build" first`);
  const args = [BUILT_CLI, 'agent', '--id', id, '--cluster', file ?? cluster.file, '--data-dir', cluster.dataDir(id), ...extra];
  const command = prefix.length > 0 ? prefix[0]! : process.execPath;
  const options: SpawnOptions = {
    cwd: APP_ROOT,
    env: { ...process.env, CONCLAVE_CLUSTER_TOKEN: TOKEN, ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  };
  const child = spawn(command, prefix.length > 0 ? [...prefix.slice(1), process.execPath, ...args] : args, options);
  return new AgentProcess(child, id);
}

/** Stops every process the tests started that still runs (SIGTERM, then SIGKILL after STOP_TIMEOUT_MS). */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }),
  );
}

export async function httpGet(address: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(2_000) });
  return { status: response.status, body: await response.json() };
}

export async function statusOf(member: TestMember): Promise<AgentStatus> {
  return (await httpGet(member.http, '/status')).body as AgentStatus;
}

/** The member that answers /leader with 200, once every member in `members` that answers follows it and it holds its lease (where the algorithm has one). */
export async function agreedLeader(members: TestMember[], timeoutMs = 15_000, exclude: string[] = []): Promise<{ leader: string; term: number }> {
  return waitFor(
    `one leader followed by ${members.map((m) => m.id).join(', ')}`,
    async () => {
      const statuses = await Promise.all(members.map((member) => statusOf(member)));
      const leaders = statuses.filter((s) => s.status.role === 'leader' && !exclude.includes(s.id));
      if (leaders.length !== 1) return undefined;
      const { id, status } = leaders[0]!;
      const agreed = statuses.every((s) => s.status.leaderId === id && s.status.term === status.term);
      const leased = leaders[0]!.lease == null || leaders[0]!.lease.held;
      return agreed && leased ? { leader: id, term: status.term } : undefined;
    },
    timeoutMs,
    100,
  );
}

/** A console attached over the real wire: it records every push and sends requests. */
export class TestConsole {
  readonly pushes: PushFrame[] = [];
  readonly invalid: unknown[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, (frame: Extract<PushFrame, { t: 'res' }>) => void>();

  private constructor(readonly connection: WireConnection) {
    connection.on('frame', (frame) => {
      const parsed = pushFrame.safeParse(frame);
      if (!parsed.success) {
        this.invalid.push(frame);
        return;
      }
      this.pushes.push(parsed.data);
      if (parsed.data.t === 'res') this.waiting.get(parsed.data.id)?.(parsed.data);
    });
  }

  static async attach(address: string, name = 'console@test', token = TOKEN): Promise<TestConsole> {
    const { connection } = await dialWire({ address, token, role: 'console', id: name });
    return new TestConsole(connection);
  }

  request(op: RequestOp, timeoutMs = 5_000): Promise<Extract<PushFrame, { t: 'res' }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${op.op} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, (frame) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(frame);
      });
      this.connection.send({ t: 'req', id, op });
    });
  }

  of<T extends PushFrame['t']>(type: T): Array<Extract<PushFrame, { t: T }>> {
    return this.pushes.filter((frame): frame is Extract<PushFrame, { t: T }> => frame.t === type);
  }

  close(): void {
    this.connection.close('test over');
  }
}

// ---- Durable histories ----

/** One durable state a node was seen to hold: from its log ("persisted", "durable state loaded") or its file after a kill. */
export interface DurableRecord {
  node: string;
  term: number;
  votedFor: string | null;
  source: string;
}

/**
 * The violations in each node's durable history (records in the order they happened): a vote
 * for two candidates in one term, or a term that went backwards.
 */
export function durableViolations(history: readonly DurableRecord[]): string[] {
  const violations: string[] = [];
  const byNode = new Map<string, { term: number; source: string; votes: Map<number, { votedFor: string; source: string }> }>();
  for (const record of history) {
    let node = byNode.get(record.node);
    if (node === undefined) {
      node = { term: 0, source: 'start', votes: new Map() };
      byNode.set(record.node, node);
    }
    if (record.term < node.term) {
      violations.push(`${record.node}: durable term went back from ${node.term} (${node.source}) to ${record.term} (${record.source})`);
    }
    if (record.term > node.term) {
      node.term = record.term;
      node.source = record.source;
    }
    if (record.votedFor === null) continue;
    const earlier = node.votes.get(record.term);
    if (earlier !== undefined && earlier.votedFor !== record.votedFor) {
      violations.push(`${record.node}: voted for ${earlier.votedFor} (${earlier.source}) and ${record.votedFor} (${record.source}) in term ${record.term}`);
    }
    if (earlier === undefined) node.votes.set(record.term, { votedFor: record.votedFor, source: record.source });
  }
  return violations;
}

/** The durable states an agent's log shows, in order: what it loaded at start, then every confirmed write. */
export function durableRecordsOf(agent: AgentProcess, run: number): DurableRecord[] {
  const records: DurableRecord[] = [];
  for (const line of agent.lines) {
    if (line.msg === 'started') records.push({ node: agent.label, term: line.term as number, votedFor: (line.votedFor as string | null) ?? null, source: `run ${run} boot` });
    if (line.msg === 'persisted') {
      const durable = line.durable as { term: number; votedFor: string | null };
      records.push({ node: agent.label, term: durable.term, votedFor: durable.votedFor ?? null, source: `run ${run} write at ${line.time}` });
    }
  }
  return records;
}

/** The non-empty lines a command (an --on-elected hook) wrote to `file` so far; none before it exists. */
export function fileLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}
