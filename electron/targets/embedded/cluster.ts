/**
 * An embedded cluster: agents in this process, the fabric between them, and the ClusterModel
 * that records what they do and carries out commands on them (kill, restart, pause, partition,
 * link faults, transfer, priorities...). It only sees a Clock, so the app and the simulator share it.
 */
import type { AlgorithmName, ElectionConfig, ElectionNode, Message, NodeOptions, NodeStatus } from '../../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, type Capabilities, type LeadershipConfig } from '../../../shared/core/leadership.js';
import { createRandom, type Random } from '../../../shared/core/random.js';
import type { LinkFault } from '../../../shared/protocol/faults.js';
import type { LinkSettings } from '../../../shared/network/link-rules.js';
import { ALGORITHM_INFO } from '../../../shared/algorithms.js';
import { MAX_NODES } from '../../../shared/core/config.js';
import type { ClusterCommand, ClusterEvent, ClusterEventBody, ClusterSnapshot, CommandAck, NodeDetail, TargetInfo } from '../../../shared/protocol/types.js';
import { Agent, MemoryStorage, type AgentOptions, type AgentState, type DurableStorage } from '../../runtime/agent.js';
import { DriftingClock, type Clock } from '../../runtime/clock.js';
import { Fabric } from '../../runtime/fabric.js';
import { ClusterModel } from '../model/model.js';
import type { NodeControl, TargetListener } from '../target.js';

export { MAX_EVENTS_KEPT, TRAFFIC_INTERVAL_MS } from '../model/model.js';

export { MAX_NODES } from '../../../shared/core/config.js';
export const DEFAULT_NODE_COUNT = 5;
/** Loopback-like defaults: a couple of milliseconds each way, with jitter to reorder. */
export const DEFAULT_LINK: LinkSettings = { latencyMs: 2, jitterMs: 1 };

export interface ClusterOptions {
  algorithm: AlgorithmName;
  nodeCount: number;
  config: ElectionConfig;
  seed: number;
  clock: Clock;
  link?: LinkSettings;
  /** Where each node keeps its durable state; in memory (surviving crashes) by default. */
  storage?: (nodeId: string) => DurableStorage;
  /** Builds each state machine; the registry's by default (the mutation suite swaps in broken ones). */
  createMachine?: (options: NodeOptions) => ElectionNode;
  /** Builds each agent; a plain Agent by default (the mutation suite swaps in one that sends before saving). */
  createAgent?: (options: AgentOptions) => Agent;
  /** Whether a killed node's peers get a crash hint, as real processes' peers do (default true). */
  crashHints?: boolean;
  /** Nodes boot at seeded random moments within this long, as real machines do; 0 boots them together. */
  bootSpreadMs?: number;
  /** Each node's priority and the rules that move leadership at the start (the defaults when left out). */
  leadership?: LeadershipConfig;
  /** Each node's capabilities at the start (none when left out). */
  capabilities?: Readonly<Record<string, Capabilities>>;
  /** Each node's own clock (the simulator's drift); the cluster's clock when left out. */
  nodeClock?: (nodeId: string) => Clock;
  /** How far any member's clock may drift (the leader lease's margin); the default when left out. */
  clockDriftMax?: number;
  /** Told after every step of a node whether it holds the leader lease, and until when on the cluster's clock (null: not now). */
  onLease?: (nodeId: string, untilT: number | null) => void;
}

/** How snapshots describe an embedded cluster: every control applies. */
export function embeddedTarget(algorithm: AlgorithmName, nodeCount: number): TargetInfo {
  return { kind: 'embedded', label: `embedded ${nodeCount}-node ${ALGORITHM_INFO[algorithm].label} cluster`, unavailable: {}, faultLeaseMs: null };
}

export function memberIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `n${index + 1}`);
}

export class Cluster {
  readonly algorithm: AlgorithmName;
  readonly config: ElectionConfig;
  readonly members: readonly string[];
  /** The links' base latency and jitter, before faults. */
  readonly link: LinkSettings;
  private readonly clock: Clock;
  private readonly agents = new Map<string, Agent>();
  private readonly fabric: Fabric;
  /** What the dashboard is told about this cluster: a target serves it, the simulator checks it. */
  readonly model: ClusterModel;
  private readonly crashHintsOn: boolean;
  private readonly bootSpreadMs: number;
  private readonly bootRandom: Random;

  constructor(options: ClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > MAX_NODES) {
      throw new RangeError(`a cluster has 1 to ${MAX_NODES} nodes (got ${options.nodeCount})`);
    }
    this.algorithm = options.algorithm;
    this.config = options.config;
    this.clock = options.clock;
    this.members = memberIds(options.nodeCount);
    this.link = options.link ?? DEFAULT_LINK;
    this.crashHintsOn = options.crashHints ?? true;
    this.bootSpreadMs = options.bootSpreadMs ?? 0;
    const random = createRandom(options.seed);
    this.bootRandom = random.fork('boot');
    const agent = (id: string): Agent => this.agents.get(id)!;
    const control: NodeControl = {
      run: (id) => agent(id).state,
      status: (id) => agent(id).status(),
      kill: (id) => {
        agent(id).crash();
        this.crashHints(id);
      },
      start: (id) => agent(id).start(),
      pause: (id) => agent(id).pause(),
      resume: (id) => agent(id).resume(),
      transfer: (leaderId, target) => agent(leaderId).transferLeadership(target),
      // Every node hears of a new table at once, as all of them would read one configuration.
      setLeadership: (leadership) => {
        for (const each of this.agents.values()) each.setLeadership(leadership);
      },
      setCapabilities: (id, capabilities) => agent(id).setCapabilities(capabilities),
      ...(this.clock.setSpeed === undefined
        ? { clockRefusal: 'this cluster runs on a virtual clock, which has no speed' }
        : { setClockSpeed: (speed: number) => this.clock.setSpeed!(speed) }),
    };
    this.model = new ClusterModel(
      {
        algorithm: this.algorithm,
        config: this.config,
        members: this.members,
        clock: this.clock,
        random: random.fork('nemesis'),
        target: embeddedTarget(this.algorithm, this.members.length),
        leadership: options.leadership ?? DEFAULT_LEADERSHIP,
        ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
      },
      control,
    );
    this.fabric = new Fabric({
      clock: this.clock,
      random: random.fork('fabric'),
      rules: this.model.rules,
      link: this.link,
      deliver: (message) => {
        const target = this.agents.get(message.to);
        if (target === undefined || target.state === 'down') return;
        this.model.delivered(message);
        target.receive(message);
      },
      onTransit: (transit) => this.model.transit(transit),
    });
    const createAgent = options.createAgent ?? ((agentOptions: AgentOptions) => new Agent(agentOptions));
    for (const id of this.members) {
      const clock = options.nodeClock?.(id) ?? this.clock;
      const onCluster = (t: number): number => (clock instanceof DriftingClock ? clock.baseTimeAt(t) : t);
      this.agents.set(
        id,
        createAgent({
          id,
          members: this.members,
          algorithm: this.algorithm,
          config: this.config,
          leadership: options.leadership ?? DEFAULT_LEADERSHIP,
          capabilities: options.capabilities?.[id] ?? {},
          ...(options.clockDriftMax === undefined ? {} : { clockDriftMax: options.clockDriftMax }),
          clock,
          random: random.fork(`node:${id}`),
          storage: options.storage?.(id) ?? new MemoryStorage(),
          ...(options.createMachine === undefined ? {} : { createMachine: options.createMachine }),
          send: (message: Message) => this.fabric.send(message),
          onUpdate: (updated: Agent, previous: NodeStatus | null) => {
            const status = updated.status();
            if (status !== null) this.model.observe(updated.id, status, previous);
            if (options.onLease !== undefined) {
              const until = updated.leaseExpiresAt();
              options.onLease(updated.id, until === null ? null : onCluster(until));
            }
          },
          onPersisted: (persisted, state, status) => this.model.persisted(persisted.id, state, status),
          onNotice: (noticing, notice) => this.model.noticed(noticing.id, notice),
          onTermRefused: (refusing, message) => this.model.termRefused(refusing.id, message.from, message.term, refusing.status()?.term ?? 0),
        }),
      );
    }
  }

  start(): void {
    for (const agent of this.agents.values()) {
      if (this.bootSpreadMs <= 0) agent.start();
      else this.clock.setTimer(this.clock.now() + this.bootRandom.between(0, this.bootSpreadMs), () => agent.start());
    }
    this.model.start();
  }

  /**
   * A crashed process's kernel closes its connections: every peer it could reach hears of it a
   * network delay later, as a hint (not where a partition or a cut stands in between).
   */
  private crashHints(crashed: string): void {
    if (!this.crashHintsOn) return;
    const at = this.clock.now() + this.link.latencyMs;
    for (const peer of this.members) {
      if (peer !== crashed && this.model.linkOpen(crashed, peer)) this.clock.setTimer(at, () => this.hint(peer, crashed));
    }
  }

  /** Tells `nodeId` that `peer`'s connection closed (the simulator also sends false ones). */
  hint(nodeId: string, peer: string): void {
    this.agents.get(nodeId)?.hint(peer);
  }

  /** Crashes every node without recording events; the cluster is inert afterwards. */
  stop(): void {
    this.model.stop();
    for (const agent of this.agents.values()) agent.crash();
  }

  annotate(body: Extract<ClusterEventBody, { type: 'scenario' }>): void {
    this.model.annotate(body);
  }

  /** Each running node's election timer (start and due time, cluster ms); absent for leaders. */
  timers(): Array<{ id: string; startedAt: number; dueAt: number }> {
    const timers = [];
    for (const agent of this.agents.values()) {
      const timer = agent.electionTimer();
      if (timer !== null) timers.push({ id: agent.id, ...timer });
    }
    return timers;
  }

  subscribe(listener: TargetListener): () => void {
    return this.model.subscribe(listener);
  }

  now(): number {
    return this.clock.now();
  }

  /** Each node's run state and live status (null while down): a cheap view for checkers. */
  states(): Array<{ id: string; state: AgentState; status: NodeStatus | null }> {
    return this.members.map((id) => {
      const agent = this.agents.get(id)!;
      return { id, state: agent.state, status: agent.status() };
    });
  }

  /** Priorities and the rules that move leadership, as in force now. */
  leadership(): LeadershipConfig {
    return this.model.leadership ?? DEFAULT_LEADERSHIP;
  }

  /** The facts a node advertises. */
  capabilities(nodeId: string): Capabilities {
    return this.model.capabilities(nodeId);
  }

  /** Whether any link currently has loss, extra delay or duplication (as opposed to cuts). */
  linksDegraded(): boolean {
    return this.model.rules.degraded();
  }

  /** The loss, delay or duplication fault in force on a link, if any. */
  linkFault(from: string, to: string): LinkFault | undefined {
    return this.model.rules.faultOf(from, to);
  }

  /** Whether a message from one node would get through to another right now (ignoring loss). */
  linkOpen(from: string, to: string): boolean {
    return this.model.linkOpen(from, to);
  }

  /** Everything a node knows, for the detail view; null for an unknown node. */
  inspect(nodeId: string): NodeDetail | null {
    const agent = this.agents.get(nodeId);
    if (agent === undefined) return null;
    return { view: this.model.nodeView(nodeId), internals: agent.inspect(), durable: agent.durable(), inbox: agent.inboxSize };
  }

  execute(command: ClusterCommand): CommandAck {
    return this.model.execute(command);
  }

  snapshot(): ClusterSnapshot {
    return this.model.snapshot();
  }

  history(limit?: number): ClusterEvent[] {
    return this.model.history(limit);
  }
}
