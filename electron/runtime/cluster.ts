/**
 * The supervisor of an embedded cluster: it owns the agents and the fabric between them,
 * carries out commands (kill, restart, pause, partition, link faults, transfer...), records
 * every observable change as an event, and answers snapshots. It only sees a Clock, so the app
 * and the simulator share it.
 */
import {
  quorum,
  type AlgorithmName,
  type DurableState,
  type ElectionConfig,
  type ElectionNode,
  type Message,
  type NodeOptions,
  type NodeStatus,
} from '../../shared/core/election.js';
import { createRandom, type Random } from '../../shared/core/random.js';
import {
  HEALTHY_LINK,
  PARTITION_PRESET_LABELS,
  describeLinkFault,
  isHealthy,
  linkKey,
  type LinkFault,
  type PartitionPreset,
} from '../../shared/protocol/faults.js';
import type {
  ActiveFault,
  ClusterEvent,
  ClusterEventBody,
  ClusterCommand,
  ClusterSnapshot,
  CommandAck,
  LeaderInfo,
  LeaderLossCause,
  NodeDetail,
  NodeView,
} from '../../shared/protocol/types.js';
import { Agent, MemoryStorage, type AgentOptions, type AgentState, type DurableStorage } from './agent.js';
import type { Clock, TimerHandle } from './clock.js';
import { Fabric, type LinkSettings, type Transit } from './fabric.js';

export const MAX_NODES = 25;
export const DEFAULT_NODE_COUNT = 5;
/** Loopback-like defaults: a couple of milliseconds each way, with jitter to reorder. */
export const DEFAULT_LINK: LinkSettings = { latencyMs: 2, jitterMs: 1 };
/** Events kept in memory for late-joining dashboards and export. */
export const MAX_EVENTS_KEPT = 50_000;
/** Messages sent per kind are recorded as a `traffic` event this often (cluster time). */
export const TRAFFIC_INTERVAL_MS = 1_000;
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
  /** Builds each state machine; the registry's by default (the mutation suite swaps in broken ones). */
  createMachine?: (options: NodeOptions) => ElectionNode;
  /** Builds each agent; a plain Agent by default (the mutation suite swaps in one that sends before saving). */
  createAgent?: (options: AgentOptions) => Agent;
}

export interface ClusterListener {
  onEvent?: (event: ClusterEvent) => void;
  /** Something in the snapshot changed. */
  onChange?: () => void;
  onTransit?: (transit: Transit) => void;
  /** A message reached a running (or frozen) node's process. */
  onDeliver?: (message: Message) => void;
  /** A node booted (started or restarted) with this status, read from its durable state. */
  onBoot?: (nodeId: string, status: NodeStatus) => void;
  /** A node's durable state was confirmed written; `status` is what it means. */
  onPersisted?: (nodeId: string, state: DurableState, status: NodeStatus) => void;
}

interface Partition {
  label: string;
  groups: string[][] | null;
  blocked: Set<string>;
}

type Refusal = { ok: false; error: string };

export function memberIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `n${index + 1}`);
}

function refuse(error: string): Refusal {
  return { ok: false, error };
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
  /** Randomness of the fault presets (random halves, ring order), seeded like everything else. */
  private readonly nemesis: Random;
  private readonly listeners = new Set<ClusterListener>();
  /** Last status of each node while it ran; what a down node shows (its term and vote are persisted). */
  private readonly lastStatus = new Map<string, NodeStatus>();
  private readonly leaderSince = new Map<string, { t: number; at: number }>();
  private readonly faultSince = new Map<string, { t: number; at: number }>();
  private partition: Partition | null = null;
  private readonly events: ClusterEvent[] = [];
  private nextSeq = 1;
  private stopped = false;
  /** The running leader followed by a majority of running nodes, as last recorded. */
  private majorityLeader: { id: string; term: number } | null = null;
  /** A fault cut the majority leader off (recorded as leader-lost) and it has not regained a majority. */
  private leaderCutOff = false;
  private traffic = { sent: new Map<string, number>(), dropped: 0 };
  /** Each node's last durable vote, recorded as a `vote` event once written. */
  private readonly durableVote = new Map<string, { term: number; votedFor: string }>();
  private trafficTimer: TimerHandle | null = null;

  constructor(options: ClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > MAX_NODES) {
      throw new RangeError(`a cluster has 1 to ${MAX_NODES} nodes (got ${options.nodeCount})`);
    }
    this.algorithm = options.algorithm;
    this.config = options.config;
    this.clock = options.clock;
    this.members = memberIds(options.nodeCount);
    this.link = options.link ?? DEFAULT_LINK;
    const random = createRandom(options.seed);
    this.nemesis = random.fork('nemesis');
    this.fabric = new Fabric({
      clock: this.clock,
      random: random.fork('fabric'),
      link: this.link,
      deliver: (message) => {
        const agent = this.agents.get(message.to);
        if (agent === undefined || agent.state === 'down') return;
        this.notify((listener) => listener.onDeliver?.(message));
        agent.receive(message);
      },
      onTransit: (transit) => {
        if (transit.dropped === null) this.traffic.sent.set(transit.message.kind, (this.traffic.sent.get(transit.message.kind) ?? 0) + 1);
        else this.traffic.dropped += 1;
        this.notify((listener) => listener.onTransit?.(transit));
      },
    });
    const createAgent = options.createAgent ?? ((agentOptions: AgentOptions) => new Agent(agentOptions));
    for (const id of this.members) {
      this.agents.set(
        id,
        createAgent({
          id,
          members: this.members,
          algorithm: this.algorithm,
          config: this.config,
          clock: this.clock,
          random: random.fork(`node:${id}`),
          storage: options.storage?.(id) ?? new MemoryStorage(),
          ...(options.createMachine === undefined ? {} : { createMachine: options.createMachine }),
          send: (message: Message) => this.fabric.send(message),
          onUpdate: (agent, previous) => this.observe(agent, previous),
          onPersisted: (agent, state, status) => this.persisted(agent.id, state, status),
        }),
      );
    }
  }

  start(): void {
    for (const agent of this.agents.values()) agent.start();
    this.scheduleTraffic();
  }

  /** Crashes every node without recording events; the cluster is inert afterwards. */
  stop(): void {
    this.stopped = true;
    for (const agent of this.agents.values()) agent.crash();
    if (this.trafficTimer !== null) this.clock.clearTimer(this.trafficTimer);
    this.listeners.clear();
  }

  /** Records what the runtime around the cluster did (a scenario started or ended) in this run's events. */
  annotate(body: Extract<ClusterEventBody, { type: 'scenario' }>): void {
    this.record(body);
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

  subscribe(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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

  /** Whether any link currently has loss, extra delay or duplication (as opposed to cuts). */
  linksDegraded(): boolean {
    return this.fabric.linkFaults().some(([, , fault]) => !fault.cut);
  }

  /** Everything a node knows, for the detail view; null for an unknown node. */
  inspect(nodeId: string): NodeDetail | null {
    const agent = this.agents.get(nodeId);
    if (agent === undefined) return null;
    return { view: this.nodeView(nodeId), internals: agent.inspect(), durable: agent.durable(), inbox: agent.inboxSize };
  }

  /** Carries out a validated command; refusals explain themselves and change nothing. */
  execute(command: ClusterCommand): CommandAck {
    if (this.stopped) return refuse('the cluster is stopped');
    const before = this.majorityLeader;
    const result = this.apply(command);
    if (result.ok) {
      this.checkLeaderLoss(before, command);
      this.updateMajorityLeader();
      this.changed();
    }
    return result;
  }

  snapshot(): ClusterSnapshot {
    const nodes = this.members.map((id) => this.nodeView(id));
    return {
      algorithm: this.algorithm,
      config: this.config,
      nodes,
      faults: this.activeFaults(nodes),
      network: {
        partition: this.partition === null ? null : { label: this.partition.label, groups: this.partition.groups },
        blocked: this.partition === null ? [] : [...this.partition.blocked],
        links: this.fabric.linkFaults().map(([from, to, fault]) => ({ from, to, fault })),
      },
      leader: this.currentLeader(nodes),
      clockSpeed: this.clock.speed,
      scenario: null,
      t: this.clock.now(),
      at: this.clock.wallNow(),
      lastEventSeq: this.nextSeq - 1,
    };
  }

  /** The most recent events, oldest first. */
  history(limit = MAX_EVENTS_KEPT): ClusterEvent[] {
    return this.events.slice(-Math.min(limit, MAX_EVENTS_KEPT));
  }

  /** The loss, delay or duplication fault in force on a link, if any. */
  linkFault(from: string, to: string): LinkFault | undefined {
    return this.fabric.faultOf(from, to);
  }

  /** Whether a message from one node would get through to another right now (ignoring loss). */
  linkOpen(from: string, to: string): boolean {
    return !this.fabric.isBlocked(from, to) && !(this.fabric.faultOf(from, to)?.cut ?? false);
  }

  private apply(command: ClusterCommand): CommandAck {
    switch (command.type) {
      case 'kill':
      case 'restart':
      case 'pause':
      case 'resume':
      case 'transfer': {
        const agent = this.agents.get(command.nodeId);
        if (agent === undefined) return refuse(this.unknownNode(command.nodeId));
        return this.applyToNode(command.type, agent);
      }
      case 'partition':
        return 'preset' in command ? this.partitionPreset(command.preset) : this.partitionGroups(command.groups);
      case 'heal':
        return command.faultId === undefined ? this.healAll() : this.healOne(command.faultId);
      case 'link':
        return this.setLink(command);
      case 'clock':
        if (this.clock.setSpeed === undefined) return refuse('this cluster runs on a virtual clock, which has no speed');
        if (command.speed === this.clock.speed) return { ok: true };
        this.clock.setSpeed(command.speed);
        this.record({ type: 'clock', speed: command.speed });
        return { ok: true };
    }
  }

  private applyToNode(type: 'kill' | 'restart' | 'pause' | 'resume' | 'transfer', agent: Agent): CommandAck {
    const id = agent.id;
    switch (type) {
      case 'kill':
        if (agent.state === 'down') return refuse(`${id} is already down`);
        this.crash(agent);
        this.record({ type: 'kill', nodeId: id });
        this.faultStarted(`down:${id}`);
        return { ok: true };
      case 'restart':
        // Restarting a running node reboots it: a crash followed by a start.
        if (agent.state !== 'down') this.crash(agent);
        this.record({ type: 'restart', nodeId: id });
        this.faultEnded(`down:${id}`);
        this.faultEnded(`paused:${id}`);
        agent.start();
        return { ok: true };
      case 'pause':
        if (agent.state === 'down') return refuse(`${id} is down; only a running node can be paused`);
        if (agent.state === 'paused') return refuse(`${id} is already paused`);
        agent.pause();
        this.record({ type: 'pause', nodeId: id });
        this.faultStarted(`paused:${id}`);
        return { ok: true };
      case 'resume':
        if (agent.state !== 'paused') return refuse(`${id} is not paused (it is ${agent.state})`);
        this.record({ type: 'resume', nodeId: id });
        this.faultEnded(`paused:${id}`);
        agent.resume();
        return { ok: true };
      case 'transfer':
        return this.transferTo(agent);
    }
  }

  private transferTo(target: Agent): CommandAck {
    const leader = this.snapshot().leader;
    if (leader === null) return refuse('there is no leader to hand leadership over from');
    if (leader.id === target.id) return refuse(`${target.id} already leads`);
    if (target.state !== 'up') return refuse(`${target.id} is ${target.state}; leadership can only go to a running node`);
    const result = this.agents.get(leader.id)!.transferLeadership(target.id);
    if (result.ok) this.record({ type: 'transfer', from: leader.id, to: target.id });
    return result;
  }

  private partitionGroups(groups: string[][]): CommandAck {
    const seen = new Map<string, number>();
    for (const [index, group] of groups.entries()) {
      if (group.length === 0) return refuse(`group ${index + 1} of the partition is empty`);
      for (const id of group) {
        if (!this.agents.has(id)) return refuse(this.unknownNode(id));
        const other = seen.get(id);
        if (other !== undefined) return refuse(`${id} is in two groups (${other + 1} and ${index + 1}); a node belongs to one side`);
        seen.set(id, index);
      }
    }
    // Nodes left out form one more group together: { groups: [["n1"]] } isolates n1.
    const rest = this.members.filter((id) => !seen.has(id));
    const all = rest.length > 0 ? [...groups.map((group) => [...group]), rest] : groups.map((group) => [...group]);
    if (all.length < 2) return refuse('a partition needs at least two groups');
    const label = `Partition ${all.map((group) => `{${group.join(', ')}}`).join(' | ')}`;
    this.applyPartition({ label, groups: all, blocked: this.blockBetween(all) });
    return { ok: true };
  }

  private partitionPreset(preset: PartitionPreset): CommandAck {
    if (this.members.length < 2) return refuse('a single-node cluster cannot be partitioned');
    const shuffled = [...this.members];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = this.nemesis.int(0, i);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const name = PARTITION_PRESET_LABELS[preset];
    switch (preset) {
      case 'isolate-leader': {
        const leader = this.snapshot().leader;
        if (leader === null) return refuse('there is no leader to isolate');
        const groups = [[leader.id], this.members.filter((id) => id !== leader.id)];
        this.applyPartition({ label: `${name} (${leader.id})`, groups, blocked: this.blockBetween(groups) });
        return { ok: true };
      }
      case 'halves': {
        const half = Math.floor(shuffled.length / 2);
        const groups = [shuffled.slice(0, half).sort(byRank), shuffled.slice(half).sort(byRank)];
        this.applyPartition({ label: `${name}: {${groups[0]!.join(', ')}} | {${groups[1]!.join(', ')}}`, groups, blocked: this.blockBetween(groups) });
        return { ok: true };
      }
      case 'bridge': {
        if (this.members.length < 3) return refuse('a bridge needs at least three nodes');
        const half = Math.floor((shuffled.length - 1) / 2);
        const left = shuffled.slice(0, half).sort(byRank);
        const bridge = shuffled[half]!;
        const right = shuffled.slice(half + 1).sort(byRank);
        this.applyPartition({
          label: `${name} via ${bridge}: {${left.join(', ')}} | {${right.join(', ')}}`,
          groups: null,
          blocked: this.blockBetween([left, right]),
        });
        return { ok: true };
      }
      case 'majorities-ring': {
        if (this.members.length < 3) return refuse('a majorities ring needs at least three nodes');
        // Each node hears only from the nodes in a window of majority size around it on a shuffled
        // ring: every node sees a majority, no two see the same one (Jepsen's majorities-ring).
        const size = shuffled.length;
        const window = Math.floor(size / 2) + 1;
        const back = Math.floor((window - 1) / 2);
        const blocked = new Set<string>();
        for (let position = 0; position < size; position++) {
          const visible = new Set(Array.from({ length: window }, (_, k) => shuffled[(position - back + k + size) % size]!));
          for (const from of this.members) if (!visible.has(from)) blocked.add(linkKey(from, shuffled[position]!));
        }
        this.applyPartition({ label: `${name} (${shuffled.join(' → ')})`, groups: null, blocked });
        return { ok: true };
      }
    }
  }

  private applyPartition(partition: Partition): void {
    if (this.partition !== null) this.faultEnded('partition');
    this.partition = partition;
    this.fabric.setBlocked(partition.blocked);
    this.record({ type: 'partition', label: partition.label, groups: partition.groups, blocked: [...partition.blocked] });
    this.faultStarted('partition');
  }

  private setLink(command: Extract<ClusterCommand, { type: 'link' }>): CommandAck {
    for (const id of [command.from, command.to]) if (id !== undefined && !this.agents.has(id)) return refuse(this.unknownNode(id));
    if (command.from !== undefined && command.from === command.to) return refuse('a link joins two different nodes');
    const fault: LinkFault = {
      cut: command.cut ?? HEALTHY_LINK.cut,
      dropProbability: command.dropProbability ?? HEALTHY_LINK.dropProbability,
      latencyMs: command.latencyMs ?? HEALTHY_LINK.latencyMs,
      jitterMs: command.jitterMs ?? HEALTHY_LINK.jitterMs,
      duplicateProbability: command.duplicateProbability ?? HEALTHY_LINK.duplicateProbability,
    };
    const healthy = isHealthy(fault);
    const pairs: Array<[string | null, string | null]> = [];
    if (command.from === undefined && command.to === undefined) pairs.push([null, null]);
    else {
      for (const from of command.from === undefined ? this.members : [command.from]) {
        for (const to of command.to === undefined ? this.members : [command.to]) if (from !== to) pairs.push([from, to]);
      }
    }
    for (const [from, to] of pairs) {
      this.fabric.setLinkFault(from, to, healthy ? null : fault);
      const id = linkFaultId(from, to);
      if (healthy) this.faultEnded(id);
      else this.faultStarted(id);
    }
    this.record({ type: 'link', from: command.from ?? null, to: command.to ?? null, fault: healthy ? null : fault });
    return { ok: true };
  }

  private healAll(): CommandAck {
    const faults = this.activeFaults(this.members.map((id) => this.nodeView(id)));
    if (faults.length === 0) return { ok: true };
    for (const fault of faults) this.healOne(fault.id, false);
    this.record({ type: 'heal', faultId: null, label: 'every fault' });
    return { ok: true };
  }

  private healOne(faultId: string, announce = true): CommandAck {
    const fault = this.activeFaults(this.members.map((id) => this.nodeView(id))).find((f) => f.id === faultId);
    if (fault === undefined) return refuse(`no active fault "${faultId.slice(0, 80)}"`);
    switch (fault.kind) {
      case 'down':
        this.applyToNode('restart', this.agents.get(fault.nodes[0]!)!);
        break;
      case 'paused':
        this.applyToNode('resume', this.agents.get(fault.nodes[0]!)!);
        break;
      case 'partition':
        this.partition = null;
        this.fabric.setBlocked(new Set());
        this.faultEnded('partition');
        break;
      case 'link': {
        const [from, to] = fault.nodes.length === 2 ? [fault.nodes[0]!, fault.nodes[1]!] : [null, null];
        this.fabric.setLinkFault(from, to, null);
        this.faultEnded(fault.id);
        break;
      }
    }
    if (announce) this.record({ type: 'heal', faultId, label: fault.label });
    return { ok: true };
  }

  private activeFaults(nodes: NodeView[]): ActiveFault[] {
    const faults: ActiveFault[] = [];
    const since = (id: string): { sinceT: number; sinceAt: number } => {
      const at = this.faultSince.get(id);
      return { sinceT: at?.t ?? 0, sinceAt: at?.at ?? this.clock.wallNow() };
    };
    for (const node of nodes) {
      if (node.status === 'up') continue;
      const id = `${node.status}:${node.id}`;
      faults.push({ id, kind: node.status, label: `${node.id} ${node.status}`, nodes: [node.id], ...since(id) });
    }
    if (this.partition !== null) {
      const nodesCut = new Set([...this.partition.blocked].flatMap((key) => key.split('->')));
      faults.push({ id: 'partition', kind: 'partition', label: this.partition.label, nodes: [...nodesCut].sort(byRank), ...since('partition') });
    }
    for (const [from, to, fault] of this.fabric.linkFaults()) {
      const id = linkFaultId(from, to);
      const where = from === null ? 'all links' : `${from} → ${to}`;
      faults.push({ id, kind: 'link', label: `${where}: ${describeLinkFault(fault)}`, nodes: from === null ? [] : [from, to!], ...since(id) });
    }
    return faults;
  }

  private faultStarted(id: string): void {
    this.faultSince.set(id, { t: this.clock.now(), at: this.clock.wallNow() });
  }

  private faultEnded(id: string): void {
    this.faultSince.delete(id);
  }

  private blockBetween(groups: string[][]): Set<string> {
    const blocked = new Set<string>();
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) blocked.add(linkKey(from, to));
      }
    }
    return blocked;
  }

  private nodeView(id: string): NodeView {
    const agent = this.agents.get(id)!;
    const live = agent.status();
    if (live !== null) return { id, status: agent.state, ...live };
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
    if (previous === null) this.notify((listener) => listener.onBoot?.(agent.id, status));
    const changed =
      previous === null ||
      previous.role !== status.role ||
      previous.term !== status.term ||
      previous.votedFor !== status.votedFor ||
      previous.leaderId !== status.leaderId;
    if (!changed) return;
    this.record({ type: 'status', nodeId: agent.id, ...status });
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
    this.updateMajorityLeader();
    this.changed();
  }

  /** A vote counts once it is durable: only then may the grant leave the node. */
  private persisted(nodeId: string, state: DurableState, status: NodeStatus): void {
    this.notify((listener) => listener.onPersisted?.(nodeId, state, status));
    if (status.votedFor === null) return;
    const last = this.durableVote.get(nodeId);
    if (last?.term === status.term && last.votedFor === status.votedFor) return;
    this.durableVote.set(nodeId, { term: status.term, votedFor: status.votedFor });
    this.record({ type: 'vote', nodeId, term: status.term, votedFor: status.votedFor });
  }

  /** The running leader that a majority of running nodes (itself included) follow in its term. */
  private findMajorityLeader(): { id: string; term: number } | null {
    const majority = quorum(this.members.length);
    const running = [...this.agents.values()].filter((agent) => agent.state === 'up');
    for (const candidate of running) {
      const status = candidate.status()!;
      if (status.role !== 'leader') continue;
      let followers = 0;
      for (const agent of running) {
        const other = agent.status()!;
        if (other.leaderId === candidate.id && other.term === status.term) followers += 1;
      }
      if (followers >= majority) return { id: candidate.id, term: status.term };
    }
    return null;
  }

  private updateMajorityLeader(): void {
    const current = this.findMajorityLeader();
    const previous = this.majorityLeader;
    if (current?.id === previous?.id && current?.term === previous?.term) return;
    this.majorityLeader = current;
    this.leaderCutOff = false;
    this.record({ type: 'quorum', leaderId: current?.id ?? null, term: current?.term ?? null });
  }

  /**
   * After a fault: if it cut the majority leader off (crashed, froze, or left it unable to reach
   * a majority both ways), record when; that is where a failover starts. If the network heals
   * before anyone else leads, record that the same leader has its majority again.
   */
  private checkLeaderLoss(before: { id: string; term: number } | null, command: ClusterCommand): void {
    if (before === null) return;
    const agent = this.agents.get(before.id)!;
    const rebooted = command.type === 'restart' && command.nodeId === before.id;
    let cause: LeaderLossCause | null = null;
    if (agent.state === 'down' || rebooted) cause = 'killed';
    else if (agent.state === 'paused') cause = 'paused';
    else if (!this.reachesMajority(before.id)) cause = 'cut off';
    if (cause !== null && !this.leaderCutOff) {
      this.leaderCutOff = true;
      this.record({ type: 'leader-lost', leaderId: before.id, term: before.term, cause });
    } else if (cause === null && this.leaderCutOff && this.findMajorityLeader()?.id === before.id) {
      this.leaderCutOff = false;
      this.record({ type: 'quorum', leaderId: before.id, term: before.term });
    }
  }

  /** Whether a node can exchange messages both ways with a majority of running nodes (itself included). */
  private reachesMajority(id: string): boolean {
    let reachable = 1;
    for (const agent of this.agents.values()) {
      if (agent.id !== id && agent.state === 'up' && this.linkOpen(id, agent.id) && this.linkOpen(agent.id, id)) reachable += 1;
    }
    return reachable >= quorum(this.members.length);
  }

  private scheduleTraffic(): void {
    this.trafficTimer = this.clock.setTimer(this.clock.now() + TRAFFIC_INTERVAL_MS, () => {
      const { sent, dropped } = this.traffic;
      if (sent.size > 0 || dropped > 0) {
        this.record({ type: 'traffic', intervalMs: TRAFFIC_INTERVAL_MS, sent: Object.fromEntries([...sent].sort()), dropped });
        this.traffic = { sent: new Map(), dropped: 0 };
      }
      this.scheduleTraffic();
    });
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

  private unknownNode(id: string): string {
    const first = this.members[0];
    const last = this.members[this.members.length - 1];
    const members = this.members.length > 3 ? `${first} to ${last}` : this.members.join(', ');
    return `unknown node "${id.slice(0, 64)}" (nodes are ${members})`;
  }
}

function linkFaultId(from: string | null, to: string | null): string {
  return from === null || to === null ? 'link:*' : `link:${linkKey(from, to)}`;
}

function byRank(a: string, b: string): number {
  return Number(a.slice(1)) - Number(b.slice(1));
}
