/**
 * The supervisor of an embedded cluster: it owns the agents and the fabric between them,
 * carries out commands (kill, restart, ...), records every observable change as an event,
 * and answers snapshots. It only sees a Clock, so the app and the simulator share it.
 */
import type { AlgorithmName, ElectionConfig, Message, NodeStatus } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import type {
  ClusterEvent,
  ClusterEventBody,
  ClusterSnapshot,
  Command,
  CommandAck,
  LeaderInfo,
  NodeView,
} from '../../shared/protocol/types.js';
import { Agent, MemoryStorage, type DurableStorage } from './agent.js';
import type { Clock } from './clock.js';
import { Fabric, type LinkSettings, type Transit } from './fabric.js';

export const MAX_NODES = 25;
export const DEFAULT_NODE_COUNT = 5;
/** Loopback-like defaults: a couple of milliseconds each way, with jitter to reorder. */
export const DEFAULT_LINK: LinkSettings = { latencyMs: 2, jitterMs: 1 };
/** Events kept in memory for late-joining dashboards and export. */
export const MAX_EVENTS_KEPT = 20_000;
const EVENT_TRIM_CHUNK = 1_000;

export interface ClusterOptions {
  algorithm: AlgorithmName;
  nodeCount: number;
  config: ElectionConfig;
  seed: number;
  clock: Clock;
  link?: LinkSettings;
  /** Where each node keeps its durable state; in memory (surviving crashes) by default. */
  storage?: (nodeId: string) => DurableStorage;
}

export interface ClusterListener {
  onEvent?: (event: ClusterEvent) => void;
  /** Something in the snapshot changed. */
  onChange?: () => void;
  onTransit?: (transit: Transit) => void;
}

export function memberIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `n${index + 1}`);
}

export class Cluster {
  readonly algorithm: AlgorithmName;
  readonly config: ElectionConfig;
  readonly members: readonly string[];
  readonly seed: number;
  private readonly clock: Clock;
  private readonly agents = new Map<string, Agent>();
  private readonly fabric: Fabric;
  private readonly listeners = new Set<ClusterListener>();
  /** Last status of each node while it ran; what a down node shows (its term and vote are persisted). */
  private readonly lastStatus = new Map<string, NodeStatus>();
  private readonly leaderSince = new Map<string, { t: number; at: number }>();
  private readonly events: ClusterEvent[] = [];
  private nextSeq = 1;
  private stopped = false;

  constructor(options: ClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > MAX_NODES) {
      throw new RangeError(`a cluster has 1 to ${MAX_NODES} nodes (got ${options.nodeCount})`);
    }
    this.algorithm = options.algorithm;
    this.config = options.config;
    this.seed = options.seed;
    this.clock = options.clock;
    this.members = memberIds(options.nodeCount);
    const random = createRandom(options.seed);
    this.fabric = new Fabric({
      clock: this.clock,
      random: random.fork('fabric'),
      link: options.link ?? DEFAULT_LINK,
      deliver: (message) => this.agents.get(message.to)?.receive(message),
      onTransit: (transit) => this.notify((listener) => listener.onTransit?.(transit)),
    });
    for (const id of this.members) {
      this.agents.set(
        id,
        new Agent({
          id,
          members: this.members,
          algorithm: this.algorithm,
          config: this.config,
          clock: this.clock,
          random: random.fork(`node:${id}`),
          storage: options.storage?.(id) ?? new MemoryStorage(),
          send: (message: Message) => this.fabric.send(message),
          onUpdate: (agent, previous) => this.observe(agent, previous),
        }),
      );
    }
  }

  start(): void {
    for (const agent of this.agents.values()) agent.start();
  }

  /** Crashes every node without recording events; the cluster is inert afterwards. */
  stop(): void {
    this.stopped = true;
    for (const agent of this.agents.values()) agent.crash();
    this.listeners.clear();
  }

  subscribe(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  now(): number {
    return this.clock.now();
  }

  /** Carries out a validated command; refusals explain themselves and change nothing. */
  execute(command: Command): CommandAck {
    if (this.stopped) return { ok: false, error: 'the cluster is stopped' };
    const agent = this.agents.get(command.nodeId);
    if (agent === undefined) {
      return { ok: false, error: `unknown node "${command.nodeId}" (nodes are ${this.describeMembers()})` };
    }
    switch (command.type) {
      case 'kill':
        if (agent.state === 'down') return { ok: false, error: `${agent.id} is already down` };
        this.crash(agent);
        this.record({ type: 'kill', nodeId: agent.id });
        break;
      case 'restart':
        // Restarting a running node reboots it: a crash followed by a start.
        if (agent.state !== 'down') this.crash(agent);
        this.record({ type: 'restart', nodeId: agent.id });
        agent.start();
        break;
    }
    this.changed();
    return { ok: true };
  }

  snapshot(): ClusterSnapshot {
    const nodes = this.members.map((id) => this.nodeView(id));
    return {
      algorithm: this.algorithm,
      config: this.config,
      nodes,
      leader: this.currentLeader(nodes),
      t: this.clock.now(),
      at: this.clock.wallNow(),
      lastEventSeq: this.nextSeq - 1,
    };
  }

  /** The most recent events, oldest first. */
  history(limit = MAX_EVENTS_KEPT): ClusterEvent[] {
    return this.events.slice(-Math.min(limit, MAX_EVENTS_KEPT));
  }

  private nodeView(id: string): NodeView {
    const agent = this.agents.get(id)!;
    const live = agent.status();
    if (live !== null) return { id, status: 'up', ...live };
    const last = this.lastStatus.get(id);
    return { id, status: 'down', role: null, term: last?.term ?? 0, votedFor: last?.votedFor ?? null, leaderId: null };
  }

  private currentLeader(nodes: NodeView[]): LeaderInfo | null {
    let best: NodeView | null = null;
    for (const node of nodes) {
      if (node.status === 'up' && node.role === 'leader' && (best === null || node.term > best.term)) best = node;
    }
    if (best === null) return null;
    const since = this.leaderSince.get(best.id);
    return { id: best.id, term: best.term, sinceT: since?.t ?? this.clock.now(), sinceAt: since?.at ?? this.clock.wallNow() };
  }

  private crash(agent: Agent): void {
    const status = agent.status();
    if (status !== null) this.lastStatus.set(agent.id, status);
    this.leaderSince.delete(agent.id);
    agent.crash();
  }

  private observe(agent: Agent, previous: NodeStatus | null): void {
    const status = agent.status();
    if (status === null) return;
    this.lastStatus.set(agent.id, status);
    const changed =
      previous === null ||
      previous.role !== status.role ||
      previous.term !== status.term ||
      previous.votedFor !== status.votedFor ||
      previous.leaderId !== status.leaderId;
    if (!changed) return;
    if (previous !== null && status.votedFor !== null && (status.votedFor !== previous.votedFor || status.term !== previous.term)) {
      this.record({ type: 'vote', nodeId: agent.id, term: status.term, votedFor: status.votedFor });
    }
    if (previous?.role !== status.role) {
      this.record({ type: 'role', nodeId: agent.id, from: previous?.role ?? null, to: status.role, term: status.term });
    }
    const becameLeader = status.role === 'leader' && (previous?.role !== 'leader' || previous.term !== status.term);
    if (becameLeader) {
      this.leaderSince.set(agent.id, { t: this.clock.now(), at: this.clock.wallNow() });
      this.record({ type: 'leader', nodeId: agent.id, term: status.term });
    } else if (status.role !== 'leader') {
      this.leaderSince.delete(agent.id);
    }
    this.changed();
  }

  private record(body: ClusterEventBody): void {
    const event = { ...body, seq: this.nextSeq++, t: this.clock.now(), at: this.clock.wallNow() } as ClusterEvent;
    this.events.push(event);
    // Trim in chunks so that recording stays O(1) amortized once the cap is reached.
    if (this.events.length >= MAX_EVENTS_KEPT + EVENT_TRIM_CHUNK) this.events.splice(0, this.events.length - MAX_EVENTS_KEPT);
    this.notify((listener) => listener.onEvent?.(event));
  }

  private changed(): void {
    this.notify((listener) => listener.onChange?.());
  }

  private notify(call: (listener: ClusterListener) => void): void {
    for (const listener of this.listeners) call(listener);
  }

  private describeMembers(): string {
    const first = this.members[0];
    const last = this.members[this.members.length - 1];
    return this.members.length > 3 ? `${first} to ${last}` : this.members.join(', ');
  }
}
