/**
 * What the dashboard is told about a cluster, whatever runs its nodes: every observable change
 * as an event, the faults in force and the network's rules, who leads and whether a majority
 * follows, when a leader was lost (where a failover starts), and snapshots. The embedded
 * cluster (agents in this process) and an attached cluster (agents on other machines) both
 * drive one ClusterModel: they report what their nodes do, and carry out what it decides
 * through a NodeControl. Where the runtime knows them, it also keeps each node's priority and
 * capabilities and the rules that move leadership (shared/core/leadership.ts) for the snapshot,
 * and records their changes and the transfers a leader started on its own, with why.
 *
 * This class is the one face of the model; each concept is a file of its own: the record of
 * events (recorder.ts), each node's life (nodes.ts), the faults (faults.ts, partitions.ts),
 * the majority leader (majority.ts), leadership (leadership.ts) and traffic (traffic.ts).
 */
import { randomUUID } from 'node:crypto';
import type { AlgorithmName, DurableState, ElectionConfig, Message, NodeStatus, Notice } from '../../../shared/core/election.js';
import type { Capabilities, LeadershipConfig } from '../../../shared/core/leadership.js';
import type { Random } from '../../../shared/core/random.js';
import { TERM_REFUSED_WINDOW_MS } from '../../../shared/core/term-guard.js';
import { ThrottledReport } from '../../../shared/core/throttled-report.js';
import type { LinkRules } from '../../../shared/network/link-rules.js';
import type { ClusterCommand, ClusterEvent, ClusterEventBody, ClusterSnapshot, CommandAck, NodeRunState, NodeView, TargetInfo } from '../../../shared/protocol/types.js';
import type { Clock } from '../../runtime/clock.js';
import type { Transit } from '../../runtime/fabric.js';
import type { NodeControl, TargetListener } from '../target.js';
import { ModelFaults } from './faults.js';
import { LeadershipTable } from './leadership.js';
import { MajorityTracker, type MajorityLeader } from './majority.js';
import { NodeRecords } from './nodes.js';
import { EventRecorder } from './recorder.js';
import { refuse, unknownNode } from './refusals.js';
import { TrafficCounter } from './traffic.js';

export { MAX_EVENTS_KEPT } from '../../../shared/analysis/event-log.js';
export { TRAFFIC_INTERVAL_MS } from './traffic.js';

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

export class ClusterModel {
  readonly algorithm: AlgorithmName;
  readonly config: ElectionConfig;
  readonly members: readonly string[];
  readonly voters: ReadonlySet<string>;
  readonly target: TargetInfo;
  readonly runId: string;
  /** The network's fault rules: the embedded fabric reads them, attached agents get a copy. */
  readonly rules: LinkRules;
  private readonly clock: Clock;
  private readonly memberSet: ReadonlySet<string>;
  private readonly listeners = new Set<TargetListener>();
  private readonly recorder: EventRecorder;
  private readonly nodes: NodeRecords;
  private readonly faults: ModelFaults;
  private readonly majority: MajorityTracker;
  private readonly leadershipTable: LeadershipTable;
  private readonly traffic: TrafficCounter;
  private stopped = false;
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
    this.memberSet = new Set(options.members);
    const record = (body: ClusterEventBody): void => this.recorder.record(body);
    this.recorder = new EventRecorder(this.clock, (event) => {
      this.faults.observe(event);
      this.notify((listener) => listener.onEvent?.(event));
    });
    this.nodes = new NodeRecords(this.members, control, this.clock, this.recorder);
    this.faults = new ModelFaults(this.members, control, options.random, record, (type, nodeId) => this.nodes.apply(type, nodeId), () => this.clock.wallNow());
    this.rules = this.faults.rules;
    this.majority = new MajorityTracker(this.members, this.voters, control, (from, to) => this.linkOpen(from, to), record);
    this.leadershipTable = new LeadershipTable(this.config, this.members, control, record, options.leadership ?? null, options.capabilities ?? {});
    this.traffic = new TrafficCounter(this.clock, record);
    this.refusedTerms = new ThrottledReport(
      TERM_REFUSED_WINDOW_MS,
      (delayMs, fire) => this.clock.setTimer(this.clock.now() + delayMs, () => !this.stopped && fire()),
      (_key, latest, refused) => record({ type: 'term-refused', ...latest, refused }),
    );
  }

  /**
   * Starts recording traffic (the runtime starts its nodes), and records the priorities,
   * capabilities and rules the run starts with that differ from the defaults, so that a replay
   * knows them.
   */
  start(): void {
    this.traffic.start();
    this.leadershipTable.start();
  }

  /** Priorities and leadership rules in force, where known. */
  get leadership(): LeadershipConfig | null {
    return this.leadershipTable.current;
  }

  /** The facts a node advertises (none known: empty). */
  capabilities(id: string): Capabilities {
    return this.leadershipTable.capabilities(id);
  }

  /** What a remote node says it measures about itself: shown, not recorded as an event (it changes every few seconds). */
  observeCapabilities(id: string, capabilities: Capabilities): void {
    if (this.leadershipTable.observeCapabilities(id, capabilities)) this.changed();
  }

  /** A node started something on its own (a leader handing over by priority or by the rule): recorded with why. */
  noticed(id: string, notice: Notice): void {
    this.recorder.record({ type: 'transfer', from: id, to: notice.to, reason: notice.reason });
  }

  /** A node refused a message whose term was implausibly far ahead of its own (term-guard.ts): an alarm, not a term change. */
  termRefused(nodeId: string, from: string, term: number, ownTerm: number, refused = 1): void {
    if (!this.isMember(nodeId) || !this.isMember(from)) return;
    this.refusedTerms.add(`${nodeId}|${from}`, { nodeId, from, term, ownTerm }, refused);
  }

  /** No more events or commands; listeners are dropped. */
  stop(): void {
    this.stopped = true;
    this.traffic.stop();
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
    this.recorder.record(body);
  }

  /** The most recent events, oldest first. */
  history(limit?: number): ClusterEvent[] {
    return this.recorder.history(limit);
  }

  isMember(id: string): boolean {
    return this.memberSet.has(id);
  }

  /** Whether a message from one node would get through to another right now (ignoring loss). */
  linkOpen(from: string, to: string): boolean {
    return this.rules.open(from, to);
  }

  snapshot(): ClusterSnapshot {
    const nodes = this.nodeViews();
    const leadership = this.leadershipTable.snapshotView();
    return {
      runId: this.runId,
      target: this.target,
      algorithm: this.algorithm,
      config: this.config,
      nodes,
      faults: this.faults.active(nodes),
      network: this.faults.network(),
      leader: this.nodes.leader(nodes),
      ...(leadership === null ? {} : { leadership }),
      clockSpeed: this.clock.speed,
      scenario: null,
      t: this.clock.now(),
      at: this.clock.wallNow(),
      lastEventSeq: this.recorder.lastSeq,
    };
  }

  nodeView(id: string): NodeView {
    return this.leadershipTable.decorate(this.nodes.view(id));
  }

  // ---- What the runtime reports ----

  /**
   * Runs `report` with the events it records stamped at cluster time `t` (what a remote node
   * did, translated to this clock), yet never before the last event: the record stays ordered.
   */
  at<T>(t: number, report: () => T): T {
    return this.recorder.at(t, report);
  }

  /** A node's status after a step or tick; `previous` is null when it just booted. */
  observe(id: string, status: NodeStatus, previous: NodeStatus | null): void {
    if (previous === null) this.notify((listener) => listener.onBoot?.(id, status));
    if (!this.nodes.observe(id, status, previous)) return;
    this.majority.update();
    this.changed();
  }

  /** A vote counts once it is durable: only then may the grant leave the node. */
  persisted(id: string, state: DurableState, status: NodeStatus): void {
    this.notify((listener) => listener.onPersisted?.(id, state, status));
    this.nodes.persisted(id, status);
  }

  /** A message was sent (and delivered later, or dropped). */
  transit(transit: Transit): void {
    this.traffic.count(transit);
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
    const before = this.majority.leader;
    const command = this.nodes.reconcile(id, run);
    if (command !== null) this.settle(before, command);
  }

  // ---- Commands ----

  /** Carries out a validated command; refusals explain themselves and change nothing. */
  execute(command: ClusterCommand): CommandAck {
    if (this.stopped) return refuse('the cluster is stopped');
    const before = this.majority.leader;
    const result = this.apply(command);
    if (result.ok) this.settle(before, command);
    return result;
  }

  /** The partition's groups, when the partition in force is a split into groups (its blocked links are exactly those between them). */
  splitGroups(): string[][] | null {
    return this.faults.splitGroups();
  }

  /** Forgets the partition and link faults without touching any node (the agents no longer enforce them), saying why. */
  dropNetworkFaults(label: string): void {
    if (!this.faults.dropNetworkFaults(label)) return;
    this.majority.update();
    this.changed();
  }

  /** Something in the snapshot changed (the runtime says so when it learned something the model does not see). */
  changed(): void {
    this.notify((listener) => listener.onChange?.());
  }

  /** After a change: whether the leader was lost or regained, who leads a majority now. */
  private settle(before: MajorityLeader | null, command: ClusterCommand): void {
    this.majority.checkLoss(before, command);
    this.majority.update();
    this.changed();
  }

  private apply(command: ClusterCommand): CommandAck {
    switch (command.type) {
      case 'kill':
      case 'restart':
      case 'pause':
      case 'resume':
      case 'transfer':
        if (!this.isMember(command.nodeId)) return refuse(unknownNode(command.nodeId, this.members));
        return this.nodes.apply(command.type, command.nodeId);
      case 'partition':
        return this.faults.partition(command, this.nodes.leader(this.nodeViews())?.id ?? null);
      case 'heal':
        return this.faults.heal(command.faultId, this.nodeViews());
      case 'link':
        return this.faults.link(command);
      case 'clock':
        if (this.control.setClockSpeed === undefined) return refuse(this.control.clockRefusal ?? 'this cluster has no clock control');
        if (command.speed === this.clock.speed) return { ok: true };
        this.control.setClockSpeed(command.speed);
        this.recorder.record({ type: 'clock', speed: command.speed });
        return { ok: true };
      case 'priority':
      case 'capabilities':
      case 'leadership':
        return this.leadershipTable.apply(command);
    }
  }

  private nodeViews(): NodeView[] {
    return this.members.map((id) => this.nodeView(id));
  }

  private notify(call: (listener: TargetListener) => void): void {
    for (const listener of this.listeners) call(listener);
  }
}
