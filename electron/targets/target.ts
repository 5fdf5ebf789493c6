/**
 * The target contract: what every kind of cluster offers the hub (above this line) and what an
 * adapter supplies to the base that turns its members into a cluster (below it). Everything in
 * electron/targets/ builds on this file and nothing here imports from them: the hub, the switch
 * between targets and the scenario runner see a `Target`; an adapter (embedded, agents, etcd, ...)
 * supplies members, a `NodeControl` and a table of the controls it refuses, with why.
 */
import type { ActionResult, DurableState, Message, NodeStatus } from '../../shared/core/election.js';
import type { Capabilities, LeadershipConfig } from '../../shared/core/leadership.js';
import type { NetworkTable } from '../../shared/network/link-rules.js';
import type {
  ClusterEvent,
  ClusterSnapshot,
  Command,
  CommandAck,
  NodeDetail,
  NodeRunState,
  TargetControl,
  TargetSpec,
} from '../../shared/protocol/types.js';
import type { Transit } from '../runtime/fabric.js';

// ---- What a cluster offers the hub ----

/** What a target tells whoever subscribed: each part is optional. */
export interface TargetListener {
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
  /** A new run is about to start (another cluster, other settings, other members): what came before is history of another run. */
  onReset?: () => void;
}

/** A cluster as the hub serves it, whatever runs its nodes. */
export interface Target {
  snapshot(): ClusterSnapshot;
  /** The most recent events, oldest first. */
  history(limit?: number): ClusterEvent[];
  /** Carries out a validated command; a remote cluster answers once its nodes did (or could not do) it. A refusal changes nothing. */
  execute(command: Command): CommandAck | Promise<CommandAck>;
  /** Everything a node knows, for the detail view; null for an unknown node. */
  inspect(nodeId: string): NodeDetail | null | Promise<NodeDetail | null>;
  /** Each running node's election timer, in cluster ms, where the target knows them. */
  timers(): Array<{ id: string; startedAt: number; dueAt: number }>;
  /** Cluster time, in ms. */
  now(): number;
  subscribe(listener: TargetListener): () => void;
}

/** A target the console runs: started once it is served, stopped when replaced. */
export interface ManagedTarget extends Target {
  /** Begins the run: nodes start (or their telemetry flows), events follow. */
  start(): void;
  /** Stops what this console started; an attached cluster's agents go on without it. */
  stop(): void | Promise<void>;
}

/** Builds (and reaches) the target a spec names, or throws with the reason. */
export type OpenTarget = (spec: TargetSpec) => Promise<ManagedTarget>;

// ---- What an adapter supplies ----

/** How the model acts on nodes: the adapter that runs (or reaches) them carries it out. */
export interface NodeControl {
  run(id: string): NodeRunState;
  /** The live status, or null while down. */
  status(id: string): NodeStatus | null;
  kill(id: string): void;
  /** Boots a node that is down (the model reboots a running node by killing it first). */
  start(id: string): void;
  pause(id: string): void;
  resume(id: string): void;
  /** Asks the leader to hand leadership to `target`. */
  transfer(leaderId: string, target: string): ActionResult;
  /**
   * Why the nodes could not be given this network rule table (real agents: too large to send);
   * null when they can. `groups`: the partition's groups, when it is a split into groups.
   */
  networkRefusal?: (table: NetworkTable, groups: string[][] | null) => string | null;
  /** Changes the speed of cluster time; absent where the nodes keep their own time. */
  setClockSpeed?: (speed: number) => void;
  /** Why the clock cannot be changed, where setClockSpeed is absent. */
  readonly clockRefusal?: string;
  /** Gives every node a new table of priorities and leadership rules; absent where they come from elsewhere (a cluster file). */
  setLeadership?: (leadership: LeadershipConfig) => void;
  /** Sets the facts a node advertises; absent where the nodes measure their own. */
  setCapabilities?: (id: string, capabilities: Capabilities) => void;
  /** Why priorities, capabilities and the rules cannot be changed, where setLeadership is absent. */
  readonly leadershipRefusal?: string;
}

/** The controls a target cannot carry out, each with the reason the dashboard shows; any control not listed works. */
export type Refusals = Partial<Record<TargetControl, string>>;

/** What decides the controls a command needs: its type, and a link fault's loss and duplication (a scenario's step has the same). */
export type ControlledCommand = { type: Command['type']; dropProbability?: number; duplicateProbability?: number };

/** The controls a command needs: a link fault with loss or duplication needs those too, a resume is a pause's undo. */
export function controlsOf(command: ControlledCommand): TargetControl[] {
  switch (command.type) {
    case 'open':
    case 'heal':
      return [];
    case 'resume':
      return ['pause'];
    case 'link': {
      const controls: TargetControl[] = ['link'];
      if ((command.dropProbability ?? 0) > 0) controls.push('loss');
      if ((command.duplicateProbability ?? 0) > 0) controls.push('duplicate');
      return controls;
    }
    default:
      return [command.type];
  }
}

/** Why a target with these refusals cannot carry out `command`, or null when it can. */
export function refusalOf(command: ControlledCommand, refusals: Refusals): string | null {
  for (const control of controlsOf(command)) {
    const reason = refusals[control];
    if (reason !== undefined) return reason;
  }
  return null;
}
