/**
 * What the dashboard is told about a cluster, whatever runs its nodes: every observable change
 * as an event, the faults in force and the network's rules, who leads and whether a majority
 * follows, when a leader was lost (where a failover starts), and snapshots. The embedded
 * cluster (agents in this process) and an attached cluster (agents on other machines) both
 * drive one ClusterModel: they report what their nodes do, and carry out what it decides
 * through a NodeControl. Where the runtime knows them, it also keeps each node's priority and
 * capabilities and the rules that move leadership (shared/core/leadership.ts) for the snapshot,
 * and records their changes and the transfers a leader started on its own, with why.
 */
import { randomUUID } from 'node:crypto';
import { EventLog } from '../../../shared/analysis/event-log.js';
import { FaultBook, linksNamed, nodeFault } from '../../../shared/analysis/fault-book.js';
import { quorum, sameNodeStatus, type AlgorithmName, type DurableState, type ElectionConfig, type Message, type NodeStatus, type Notice } from '../../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, priorityIn, takeoverDelayMs, type Capabilities, type LeadershipConfig } from '../../../shared/core/leadership.js';
import type { Random } from '../../../shared/core/random.js';
import { TERM_REFUSED_WINDOW_MS } from '../../../shared/core/term-guard.js';
import { ThrottledReport } from '../../../shared/core/throttled-report.js';
import { LinkRules, linksBetween } from '../../../shared/network/link-rules.js';
import { HEALTHY_LINK, PARTITION_PRESET_LABELS, isHealthy, linkKey, type LinkFault, type PartitionPreset } from '../../../shared/protocol/faults.js';
import type {
  ActiveFault,
  ClusterCommand,
  ClusterEvent,
  ClusterEventBody,
  ClusterSnapshot,
  CommandAck,
  LeaderInfo,
  LeaderLossCause,
  LeadershipView,
  NodeRunState,
  NodeView,
  TargetInfo,
} from '../../../shared/protocol/types.js';
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import type { Transit } from '../../runtime/fabric.js';
import type { NodeControl, TargetListener } from '../target.js';

export { MAX_EVENTS_KEPT } from '../../../shared/analysis/event-log.js';
/** Messages sent per kind are recorded as a `traffic` event this often (cluster time). */
export const TRAFFIC_INTERVAL_MS = 1_000;

export interface ModelOptions {
  algorithm: AlgorithmName;
  config: ElectionConfig;
  /** Every node, in rank order. */
  members: readonly string[];
  /** The members that vote and may lead; all of them when left out. */
  voters?: readonly string[];
  clock: Clock;
  /** Randomness of the fault presets (random halves, ring order). */
  random: Random;
  /** What runs the nodes, as snapshots describe it. */
  target: TargetInfo;
  /** Names this run in snapshots; a fresh random id when left out. */
  runId?: string;
  /** Each member's priority and when leadership moves on its own; absent where the runtime does not know them (etcd). */
  leadership?: LeadershipConfig;
  /** Each member's capabilities at the start (none when left out). */
  capabilities?: Readonly<Record<string, Capabilities>>;
}

/** A partition to apply: its label, its groups when it is a split into groups, the links it blocks. */
interface Partition {
  label: string;
  groups: string[][] | null;
  blocked: Set<string>;
}

type Refusal = { ok: false; error: string };

function refuse(error: string): Refusal {
  return { ok: false, error };
}

export class ClusterModel {
  readonly algorithm: AlgorithmName;
  readonly config: ElectionConfig;
  readonly members: readonly string[];
  readonly voters: ReadonlySet<string>;
  readonly target: TargetInfo;
  readonly runId: string;
  /** The network's fault rules: the embedded fabric reads them, attached agents get a copy. */
  readonly rules = new LinkRules();
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly rank: Map<string, number>;
  private readonly listeners = new Set<TargetListener>();
  /** Last status of each node while it ran; what a down node shows (its term and vote are persisted). */
  private readonly lastStatus = new Map<string, NodeStatus>();
  private readonly leaderSince = new Map<string, { t: number; at: number }>();
  /** The faults in force as the recorded events say, kept as the run's analysis keeps them. */
  private readonly faultBook: FaultBook;
  private readonly log = new EventLog({ trimChunk: 1_000 });
  private nextSeq = 1;
  private stopped = false;
  /** The running leader followed by a majority of running voters, as last recorded. */
  private majorityLeader: { id: string; term: number } | null = null;
  /** A fault cut the majority leader off (recorded as leader-lost) and it has not regained a majority. */
  private leaderCutOff = false;
  private traffic = { sent: new Map<string, number>(), dropped: 0 };
  private trafficTimer: TimerHandle | null = null;
  /** Each node's last durable vote, recorded as a `vote` event once written. */
  private readonly durableVote = new Map<string, { term: number; votedFor: string }>();
  /** The run state each node was last recorded in (kill, restart, pause and resume events). */
  private readonly recordedRun = new Map<string, NodeRunState>();
  /** While set (see `at`), events are stamped with this cluster time instead of the clock's. */
  private stampT: number | null = null;
  private lastT = 0;
  /** Priorities and leadership rules, where known (null: etcd). */
  private leadershipConfig: LeadershipConfig | null;
  private readonly capabilityTable = new Map<string, Capabilities>();
  /** Refused terms, recorded at most twice per window per node and sender. */
  private readonly refusedTerms: ThrottledReport<string, { nodeId: string; from: string; term: number; ownTerm: number }>;

  constructor(
    options: ModelOptions,
    private readonly control: NodeControl,
  ) {
    this.algorithm = options.algorithm;
    this.config = options.config;
    this.members = options.members;
    this.voters = new Set(options.voters ?? options.members);
    this.target = options.target;
    this.runId = options.runId ?? randomUUID();
    this.clock = options.clock;
    this.random = options.random;
    this.rank = new Map(options.members.map((id, index) => [id, index]));
    this.leadershipConfig = options.leadership ?? null;
    this.faultBook = new FaultBook(options.members);
    for (const [id, capabilities] of Object.entries(options.capabilities ?? {})) if (this.rank.has(id)) this.capabilityTable.set(id, capabilities);
    this.refusedTerms = new ThrottledReport(
      TERM_REFUSED_WINDOW_MS,
      (delayMs, fire) => this.clock.setTimer(this.clock.now() + delayMs, () => !this.stopped && fire()),
      (_key, latest, refused) => this.record({ type: 'term-refused', ...latest, refused }),
    );
  }

  /**
   * Starts recording traffic (the runtime starts its nodes), and records the priorities,
   * capabilities and rules the run starts with that differ from the defaults, so that a replay
   * knows them.
   */
  start(): void {
    this.scheduleTraffic();
    const leadership = this.leadershipConfig;
    if (leadership === null) return;
    for (const id of this.members) {
      const priority = priorityIn(leadership, id);
      if (priority !== priorityIn(DEFAULT_LEADERSHIP, id)) this.record({ type: 'priority', nodeId: id, priority, previous: priorityIn(DEFAULT_LEADERSHIP, id) });
      const capabilities = this.capabilityTable.get(id);
      if (capabilities !== undefined && Object.keys(capabilities).length > 0) this.record({ type: 'capabilities', nodeId: id, capabilities });
    }
    if (leadership.takeoverAfterMs !== null || leadership.preferredLeader !== null) this.record({ type: 'leadership', ...this.leadershipView(leadership) });
  }

  /** Priorities and leadership rules in force, where known. */
  get leadership(): LeadershipConfig | null {
    return this.leadershipConfig;
  }

  /** The facts a node advertises (none known: empty). */
  capabilities(id: string): Capabilities {
    return this.capabilityTable.get(id) ?? {};
  }

  /** What a remote node says it measures about itself: shown, not recorded as an event (it changes every few seconds). */
  observeCapabilities(id: string, capabilities: Capabilities): void {
    if (!this.rank.has(id) || JSON.stringify(this.capabilityTable.get(id) ?? {}) === JSON.stringify(capabilities)) return;
    this.capabilityTable.set(id, capabilities);
    this.changed();
  }

  /** A node started something on its own (a leader handing over by priority or by the rule): recorded with why. */
  noticed(id: string, notice: Notice): void {
    this.record({ type: 'transfer', from: id, to: notice.to, reason: notice.reason });
  }

  /** A node refused a message whose term was implausibly far ahead of its own (term-guard.ts): an alarm, not a term change. */
  termRefused(nodeId: string, from: string, term: number, ownTerm: number, refused = 1): void {
    if (!this.rank.has(nodeId) || !this.rank.has(from)) return;
    this.refusedTerms.add(`${nodeId}|${from}`, { nodeId, from, term, ownTerm }, refused);
  }

  /** No more events or commands; listeners are dropped. */
  stop(): void {
    this.stopped = true;
    if (this.trafficTimer !== null) this.clock.clearTimer(this.trafficTimer);
    this.listeners.clear();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  subscribe(listener: TargetListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records what the runtime around the cluster did (a scenario started or ended) in this run's events. */
  annotate(body: Extract<ClusterEventBody, { type: 'scenario' }>): void {
    this.record(body);
  }

  /** The most recent events, oldest first. */
  history(limit?: number): ClusterEvent[] {
    return this.log.history(limit);
  }

  isMember(id: string): boolean {
    return this.rank.has(id);
  }

  /** Whether a message from one node would get through to another right now (ignoring loss). */
  linkOpen(from: string, to: string): boolean {
    return this.rules.open(from, to);
  }

  snapshot(): ClusterSnapshot {
    const nodes = this.members.map((id) => this.nodeView(id));
    const partition = this.faultBook.partition;
    return {
      runId: this.runId,
      target: this.target,
      algorithm: this.algorithm,
      config: this.config,
      nodes,
      faults: this.activeFaults(nodes),
      network: {
        partition: partition === null ? null : { label: partition.label, groups: partition.groups },
        blocked: this.rules.blockedLinks(),
        links: this.rules.linkFaults().map(([from, to, fault]) => ({ from, to, fault })),
      },
      leader: this.currentLeader(nodes),
      ...(this.leadershipConfig === null ? {} : { leadership: this.leadershipView(this.leadershipConfig) }),
      clockSpeed: this.clock.speed,
      scenario: null,
      t: this.clock.now(),
      at: this.clock.wallNow(),
      lastEventSeq: this.nextSeq - 1,
    };
  }

  nodeView(id: string): NodeView {
    const live = this.control.status(id);
    const last = this.lastStatus.get(id);
    const view: NodeView =
      live !== null
        ? { id, status: this.control.run(id), ...live }
        : { id, status: 'down', role: null, term: last?.term ?? 0, votedFor: last?.votedFor ?? null, leaderId: null };
    if (this.leadershipConfig === null) return view;
    return { ...view, priority: priorityIn(this.leadershipConfig, id), capabilities: this.capabilities(id) };
  }

  private leadershipView(leadership: LeadershipConfig): LeadershipView {
    return { takeoverAfterMs: takeoverDelayMs(this.config, leadership), preferredLeader: leadership.preferredLeader };
  }

  // ---- What the runtime reports ----

  /**
   * Runs `report` with the events it records stamped at cluster time `t` (what a remote node
   * did, translated to this clock), yet never before the last event: the record stays ordered.
   */
  at<T>(t: number, report: () => T): T {
    this.stampT = Math.min(t, this.clock.now());
    try {
      return report();
    } finally {
      this.stampT = null;
    }
  }

  /** The time events are stamped with now. */
  private now(): number {
    return Math.max(this.lastT, this.stampT ?? this.clock.now());
  }

  /** A node's status after a step or tick; `previous` is null when it just booted. */
  observe(id: string, status: NodeStatus, previous: NodeStatus | null): void {
    this.lastStatus.set(id, status);
    if (previous === null) this.notify((listener) => listener.onBoot?.(id, status));
    if (sameNodeStatus(previous, status)) return;
    this.record({ type: 'status', nodeId: id, ...status });
    if (previous?.role !== status.role) {
      this.record({ type: 'role', nodeId: id, from: previous?.role ?? null, to: status.role, term: status.term });
    }
    const becameLeader = status.role === 'leader' && (previous?.role !== 'leader' || previous.term !== status.term);
    if (becameLeader) {
      this.leaderSince.set(id, { t: this.now(), at: this.wallAt(this.now()) });
      this.record({ type: 'leader', nodeId: id, term: status.term });
    } else if (status.role !== 'leader') {
      this.leaderSince.delete(id);
    }
    this.updateMajorityLeader();
    this.changed();
  }

  /** A vote counts once it is durable: only then may the grant leave the node. */
  persisted(id: string, state: DurableState, status: NodeStatus): void {
    this.notify((listener) => listener.onPersisted?.(id, state, status));
    if (status.votedFor === null) return;
    const last = this.durableVote.get(id);
    if (last?.term === status.term && last.votedFor === status.votedFor) return;
    this.durableVote.set(id, { term: status.term, votedFor: status.votedFor });
    this.record({ type: 'vote', nodeId: id, term: status.term, votedFor: status.votedFor });
  }

  /** A message was sent (and delivered later, or dropped). */
  transit(transit: Transit): void {
    if (transit.dropped === null) this.traffic.sent.set(transit.message.kind, (this.traffic.sent.get(transit.message.kind) ?? 0) + 1);
    else this.traffic.dropped += 1;
    this.notify((listener) => listener.onTransit?.(transit));
  }

  delivered(message: Message): void {
    this.notify((listener) => listener.onDeliver?.(message));
  }

  /**
   * A node's process changed state on its own (a crash nobody asked for, or a supervisor's
   * restart), as a remote runtime reports it: recorded as the command that would have done it.
   */
  reconcile(id: string, run: NodeRunState): void {
    const before = this.majorityLeader;
    const was = this.recordedRun.get(id) ?? 'up';
    if (was === run) return;
    this.recordedRun.set(id, run);
    if (run === 'down') this.nodeWentDown(id);
    else if (run === 'paused') this.nodePaused(id);
    else if (was === 'down') this.nodeRestarted(id);
    else this.nodeResumed(id);
    this.settle(before, { type: run === 'down' ? 'kill' : run === 'paused' ? 'pause' : was === 'down' ? 'restart' : 'resume', nodeId: id });
  }

  // ---- Commands ----

  /** Carries out a validated command; refusals explain themselves and change nothing. */
  execute(command: ClusterCommand): CommandAck {
    if (this.stopped) return refuse('the cluster is stopped');
    const before = this.majorityLeader;
    const result = this.apply(command);
    if (result.ok) this.settle(before, command);
    return result;
  }

  /** After a change: whether the leader was lost or regained, who leads a majority now. */
  private settle(before: { id: string; term: number } | null, command: ClusterCommand): void {
    this.checkLeaderLoss(before, command);
    this.updateMajorityLeader();
    this.changed();
  }

  private apply(command: ClusterCommand): CommandAck {
    switch (command.type) {
      case 'kill':
      case 'restart':
      case 'pause':
      case 'resume':
      case 'transfer':
        if (!this.isMember(command.nodeId)) return refuse(this.unknownNode(command.nodeId));
        return this.applyToNode(command.type, command.nodeId);
      case 'partition':
        return 'preset' in command ? this.partitionPreset(command.preset) : this.partitionGroups(command.groups);
      case 'heal':
        return command.faultId === undefined ? this.healAll() : this.healOne(command.faultId);
      case 'link':
        return this.setLink(command);
      case 'clock':
        if (this.control.setClockSpeed === undefined) return refuse(this.control.clockRefusal ?? 'this cluster has no clock control');
        if (command.speed === this.clock.speed) return { ok: true };
        this.control.setClockSpeed(command.speed);
        this.record({ type: 'clock', speed: command.speed });
        return { ok: true };
      case 'priority':
      case 'capabilities':
      case 'leadership':
        return this.applyLeadership(command);
    }
  }

  /** Priorities, capabilities and the rules that move leadership: every node learns the new table at once. */
  private applyLeadership(command: Extract<ClusterCommand, { type: 'priority' | 'capabilities' | 'leadership' }>): CommandAck {
    const current = this.leadershipConfig;
    const setLeadership = this.control.setLeadership;
    if (current === null || setLeadership === undefined) return refuse(this.control.leadershipRefusal ?? 'this cluster has no priorities to change');
    if (command.type !== 'leadership' && !this.isMember(command.nodeId)) return refuse(this.unknownNode(command.nodeId));
    switch (command.type) {
      case 'priority': {
        const previous = priorityIn(current, command.nodeId);
        if (previous === command.priority) return { ok: true };
        this.leadershipConfig = { ...current, priorities: { ...current.priorities, [command.nodeId]: command.priority } };
        setLeadership(this.leadershipConfig);
        this.record({ type: 'priority', nodeId: command.nodeId, priority: command.priority, previous });
        return { ok: true };
      }
      case 'capabilities':
        if (this.control.setCapabilities === undefined) return refuse(this.control.leadershipRefusal ?? "this cluster's nodes measure their own capabilities");
        this.capabilityTable.set(command.nodeId, command.capabilities);
        this.control.setCapabilities(command.nodeId, command.capabilities);
        this.record({ type: 'capabilities', nodeId: command.nodeId, capabilities: command.capabilities });
        return { ok: true };
      case 'leadership':
        this.leadershipConfig = {
          ...current,
          ...(command.takeoverAfterMs === undefined ? {} : { takeoverAfterMs: command.takeoverAfterMs }),
          ...(command.preferredLeader === undefined ? {} : { preferredLeader: command.preferredLeader }),
        };
        setLeadership(this.leadershipConfig);
        this.record({ type: 'leadership', ...this.leadershipView(this.leadershipConfig) });
        return { ok: true };
    }
  }

  private applyToNode(type: 'kill' | 'restart' | 'pause' | 'resume' | 'transfer', id: string): CommandAck {
    const run = this.control.run(id);
    switch (type) {
      case 'kill':
        if (run === 'down') return refuse(`${id} is already down`);
        this.crash(id);
        this.recordedRun.set(id, 'down');
        this.nodeWentDown(id);
        return { ok: true };
      case 'restart':
        // Restarting a running node reboots it: a crash followed by a start.
        if (run !== 'down') this.crash(id);
        this.recordedRun.set(id, 'up');
        this.nodeRestarted(id);
        this.control.start(id);
        return { ok: true };
      case 'pause':
        if (run === 'down') return refuse(`${id} is down; only a running node can be paused`);
        if (run === 'paused') return refuse(`${id} is already paused`);
        this.control.pause(id);
        this.recordedRun.set(id, 'paused');
        this.nodePaused(id);
        return { ok: true };
      case 'resume':
        if (run !== 'paused') return refuse(`${id} is not paused (it is ${run})`);
        this.recordedRun.set(id, 'up');
        this.nodeResumed(id);
        this.control.resume(id);
        return { ok: true };
      case 'transfer':
        return this.transferTo(id);
    }
  }

  private nodeWentDown(id: string): void {
    this.leaderSince.delete(id);
    this.record({ type: 'kill', nodeId: id });
  }

  private nodeRestarted(id: string): void {
    this.record({ type: 'restart', nodeId: id });
  }

  private nodePaused(id: string): void {
    this.record({ type: 'pause', nodeId: id });
  }

  private nodeResumed(id: string): void {
    this.record({ type: 'resume', nodeId: id });
  }

  private crash(id: string): void {
    const status = this.control.status(id);
    if (status !== null) this.lastStatus.set(id, status);
    this.leaderSince.delete(id);
    this.control.kill(id);
  }

  private transferTo(target: string): CommandAck {
    const leader = this.snapshot().leader;
    if (leader === null) return refuse('there is no leader to hand leadership over from');
    if (leader.id === target) return refuse(`${target} already leads`);
    const run = this.control.run(target);
    if (run !== 'up') return refuse(`${target} is ${run}; leadership can only go to a running node`);
    const result = this.control.transfer(leader.id, target);
    if (result.ok) this.record({ type: 'transfer', from: leader.id, to: target });
    return result;
  }

  private partitionGroups(groups: string[][]): CommandAck {
    const seen = new Map<string, number>();
    for (const [index, group] of groups.entries()) {
      if (group.length === 0) return refuse(`group ${index + 1} of the partition is empty`);
      for (const id of group) {
        if (!this.isMember(id)) return refuse(this.unknownNode(id));
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
    return this.applyPartition({ label, groups: all, blocked: linksBetween(all) });
  }

  private partitionPreset(preset: PartitionPreset): CommandAck {
    if (this.members.length < 2) return refuse('a single-node cluster cannot be partitioned');
    const shuffled = [...this.members];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = this.random.int(0, i);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const name = PARTITION_PRESET_LABELS[preset];
    switch (preset) {
      case 'isolate-leader': {
        const leader = this.snapshot().leader;
        if (leader === null) return refuse('there is no leader to isolate');
        const groups = [[leader.id], this.members.filter((id) => id !== leader.id)];
        return this.applyPartition({ label: `${name} (${leader.id})`, groups, blocked: linksBetween(groups) });
      }
      case 'halves': {
        const half = Math.floor(shuffled.length / 2);
        const groups = [this.byRank(shuffled.slice(0, half)), this.byRank(shuffled.slice(half))];
        return this.applyPartition({ label: `${name}: {${groups[0]!.join(', ')}} | {${groups[1]!.join(', ')}}`, groups, blocked: linksBetween(groups) });
      }
      case 'bridge': {
        if (this.members.length < 3) return refuse('a bridge needs at least three nodes');
        const half = Math.floor((shuffled.length - 1) / 2);
        const left = this.byRank(shuffled.slice(0, half));
        const bridge = shuffled[half]!;
        const right = this.byRank(shuffled.slice(half + 1));
        return this.applyPartition({
          label: `${name} via ${bridge}: {${left.join(', ')}} | {${right.join(', ')}}`,
          groups: null,
          blocked: linksBetween([left, right]),
        });
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
        return this.applyPartition({ label: `${name} (${shuffled.join(' → ')})`, groups: null, blocked });
      }
    }
  }

  private applyPartition(partition: Partition): CommandAck {
    const refusal = this.control.networkRefusal?.({ ...this.rules.toTable(), blocked: [...partition.blocked] }, partition.groups) ?? null;
    if (refusal !== null) return refuse(refusal);
    this.rules.setBlocked(partition.blocked);
    this.record({ type: 'partition', label: partition.label, groups: partition.groups, blocked: [...partition.blocked] });
    return { ok: true };
  }

  private setLink(command: Extract<ClusterCommand, { type: 'link' }>): CommandAck {
    for (const id of [command.from, command.to]) if (id !== undefined && !this.isMember(id)) return refuse(this.unknownNode(id));
    if (command.from !== undefined && command.from === command.to) return refuse('a link joins two different nodes');
    const fault: LinkFault = {
      cut: command.cut ?? HEALTHY_LINK.cut,
      dropProbability: command.dropProbability ?? HEALTHY_LINK.dropProbability,
      latencyMs: command.latencyMs ?? HEALTHY_LINK.latencyMs,
      jitterMs: command.jitterMs ?? HEALTHY_LINK.jitterMs,
      duplicateProbability: command.duplicateProbability ?? HEALTHY_LINK.duplicateProbability,
    };
    const healthy = isHealthy(fault);
    const links = linksNamed(command.from ?? null, command.to ?? null, this.members);
    if (!healthy && this.control.networkRefusal !== undefined) {
      const trial = new LinkRules();
      trial.load(this.rules.toTable());
      for (const [from, to] of links) trial.setLinkFault(from, to, fault);
      const refusal = this.control.networkRefusal(trial.toTable(), this.splitGroups());
      if (refusal !== null) return refuse(refusal);
    }
    for (const [from, to] of links) this.rules.setLinkFault(from, to, healthy ? null : fault);
    this.record({ type: 'link', from: command.from ?? null, to: command.to ?? null, fault: healthy ? null : fault });
    return { ok: true };
  }

  /** The partition's groups, when the partition in force is a split into groups (its blocked links are exactly those between them). */
  splitGroups(): string[][] | null {
    return this.faultBook.partition?.groups ?? null;
  }

  /** Forgets the partition and link faults without touching any node (the agents no longer enforce them), saying why. */
  dropNetworkFaults(label: string): void {
    if (this.faultBook.networkFaults().length === 0) return;
    this.rules.load({ blocked: [], links: [] });
    this.record({ type: 'heal', faultId: null, label });
    this.updateMajorityLeader();
    this.changed();
  }

  private healAll(): CommandAck {
    const faults = this.activeFaults(this.members.map((id) => this.nodeView(id)));
    if (faults.length === 0) return { ok: true };
    for (const fault of faults) if (fault.kind === 'down' || fault.kind === 'paused') this.healNode(fault);
    this.rules.load({ blocked: [], links: [] });
    this.record({ type: 'heal', faultId: null, label: 'every fault' });
    return { ok: true };
  }

  private healOne(faultId: string): CommandAck {
    const fault = this.activeFaults(this.members.map((id) => this.nodeView(id))).find((f) => f.id === faultId);
    if (fault === undefined) return refuse(`no active fault "${faultId.slice(0, 80)}"`);
    if (fault.kind === 'partition') this.rules.setBlocked([]);
    else if (fault.kind === 'link') {
      const { from, to } = this.faultBook.link(faultId)!;
      this.rules.setLinkFault(from, to, null);
    } else this.healNode(fault);
    this.record({ type: 'heal', faultId, label: fault.label });
    return { ok: true };
  }

  /** A down node restarts, a paused one resumes. */
  private healNode(fault: ActiveFault): void {
    this.applyToNode(fault.kind === 'down' ? 'restart' : 'resume', fault.nodes[0]!);
  }

  /** The nodes' faults as their run state says (a node that never came up is down too), then the network's. */
  private activeFaults(nodes: NodeView[]): ActiveFault[] {
    const faults: ActiveFault[] = [];
    for (const node of nodes) {
      if (node.status === 'up') continue;
      const since = this.faultBook.get(`${node.status}:${node.id}`);
      faults.push(nodeFault(node.status, node.id, since?.sinceT ?? 0, since?.sinceAt ?? this.clock.wallNow()));
    }
    return [...faults, ...this.faultBook.networkFaults()];
  }

  private byRank(ids: string[]): string[] {
    return ids.sort((a, b) => this.rank.get(a)! - this.rank.get(b)!);
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

  /** The running leader that a majority of running voters (itself included) follow in its term. */
  private findMajorityLeader(): { id: string; term: number } | null {
    const majority = quorum(this.voters.size);
    const running: Array<{ id: string; status: NodeStatus }> = [];
    for (const id of this.members) {
      const status = this.control.run(id) === 'up' ? this.control.status(id) : null;
      if (status !== null) running.push({ id, status });
    }
    for (const candidate of running) {
      if (candidate.status.role !== 'leader') continue;
      let followers = 0;
      for (const other of running) {
        if (this.voters.has(other.id) && other.status.leaderId === candidate.id && other.status.term === candidate.status.term) followers += 1;
      }
      if (followers >= majority) return { id: candidate.id, term: candidate.status.term };
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
    const run = this.control.run(before.id);
    const rebooted = command.type === 'restart' && command.nodeId === before.id;
    let cause: LeaderLossCause | null = null;
    if (run === 'down' || rebooted) cause = 'killed';
    else if (run === 'paused') cause = 'paused';
    else if (!this.reachesMajority(before.id)) cause = 'cut off';
    if (cause !== null && !this.leaderCutOff) {
      this.leaderCutOff = true;
      this.record({ type: 'leader-lost', leaderId: before.id, term: before.term, cause });
    } else if (cause === null && this.leaderCutOff && this.findMajorityLeader()?.id === before.id) {
      this.leaderCutOff = false;
      this.record({ type: 'quorum', leaderId: before.id, term: before.term });
    }
  }

  /** Whether a node can exchange messages both ways with a majority of running voters (itself included). */
  private reachesMajority(id: string): boolean {
    let reachable = this.voters.has(id) ? 1 : 0;
    for (const other of this.members) {
      if (other !== id && this.voters.has(other) && this.control.run(other) === 'up' && this.linkOpen(id, other) && this.linkOpen(other, id)) reachable += 1;
    }
    return reachable >= quorum(this.voters.size);
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

  /** The wall-clock time of cluster time `t`. */
  private wallAt(t: number): number {
    return this.clock.wallNow() - (this.clock.now() - t);
  }

  private record(body: ClusterEventBody): void {
    const t = this.now();
    this.lastT = t;
    const event = { ...body, seq: this.nextSeq++, t, at: this.wallAt(t) } as ClusterEvent;
    this.faultBook.observe(event);
    this.log.append(event);
    this.notify((listener) => listener.onEvent?.(event));
  }

  /** Something in the snapshot changed (the runtime says so when it learned something the model does not see). */
  changed(): void {
    this.notify((listener) => listener.onChange?.());
  }

  private notify(call: (listener: TargetListener) => void): void {
    for (const listener of this.listeners) call(listener);
  }

  private unknownNode(id: string): string {
    const first = this.members[0];
    const last = this.members[this.members.length - 1];
    const members = this.members.length > 3 ? `${first} to ${last}` : this.members.join(', ');
    return `unknown node "${id.slice(0, 64)}" (nodes are ${members})`;
  }
}
