/**
 * The public contract of the hub's `/control` namespace (docs/protocol.md), typed once and
 * shared by the hub, the dashboard and any other client.
 */
import type { AlgorithmName, ElectionConfig, Role } from '../core/election.js';
import type { Capabilities, PreferredLeaderRule } from '../core/leadership.js';
import type { EtcdPlaygroundSpec, EtcdWatchSpec } from './etcd.js';
import type { LeadershipChange } from './leadership.js';
import type { LinkFault, PartitionPreset } from './faults.js';
import type { MessageBatch } from './messages.js';
import type { Scenario, ScenarioReport } from '../scenario/format.js';

export const CONTROL_NAMESPACE = '/control';

export type NodeRunState = 'up' | 'paused' | 'down';

export interface NodeView {
  id: string;
  status: NodeRunState;
  /** null while the node is down. */
  role: Role | null;
  /** Live term; for a down node, the term it persisted. */
  term: number;
  votedFor: string | null;
  leaderId: string | null;
  /** Real nodes: where the process runs ("10.0.0.5:7400") and its pid while up. */
  host?: string;
  pid?: number | null;
  /** false for a member that follows but never votes or leads (etcd's learners); absent means it votes. */
  voting?: boolean;
  /** Real nodes: false while the console cannot reach the agent (what it shows is what it last said). */
  reachable?: boolean;
  /** Real nodes the console cannot reach: for how long, and whether their peers still hear them, in words. */
  reachability?: string;
  /** 0 (never leads) to 1000; absent where the runtime does not know priorities (etcd). */
  priority?: number;
  /** The facts the node advertises (agents: the cluster file's, plus loadavg, freememMb, uptimeS, version); absent where unknown. */
  capabilities?: Capabilities;
}

/** When leadership moves on its own: after how long a higher-priority node takes over, and the preferred-leader rule. */
export interface LeadershipView {
  /** In force (the default resolved: 3 × the maximal election timeout). */
  takeoverAfterMs: number;
  preferredLeader: PreferredLeaderRule | null;
}

/** What runs the cluster the hub serves. */
export const TARGET_KINDS = ['embedded', 'processes', 'attached', 'etcd', 'etcd-playground'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Controls that may not apply to every kind of cluster; `loss` and `duplicate` are the link faults' dropProbability and duplicateProbability. */
export const TARGET_CONTROLS = [
  'configure',
  'clock',
  'scenario',
  'transfer',
  'kill',
  'restart',
  'pause',
  'partition',
  'link',
  'loss',
  'duplicate',
  'priority',
  'capabilities',
  'leadership',
] as const;
export type TargetControl = (typeof TARGET_CONTROLS)[number];

export interface TargetInfo {
  kind: TargetKind;
  /**
   * In words: "embedded 5-node Raft cluster", "5 agent processes on this machine", "3 agents attached via 10.0.0.5:7400",
   * "etcd cluster via http://10.0.0.5:2379 (3 members)", "etcd 3.4.23 playground: 3 members on 127.0.0.1".
   */
  label: string;
  /** Controls that cannot act on this cluster, each with the reason to show; any control not listed works. */
  unavailable: Partial<Record<TargetControl, string>>;
  /**
   * Real nodes drop a fault a console set unless it is renewed within this long, so a console
   * that goes away never leaves the cluster broken; null where faults do not expire.
   */
  faultLeaseMs: number | null;
}

export interface LeaderInfo {
  id: string;
  term: number;
  /** Cluster time (ms) when it became leader. */
  sinceT: number;
  /** Wall-clock epoch ms when it became leader. */
  sinceAt: number;
}

export type ActiveFaultKind = 'down' | 'paused' | 'partition' | 'link';

/** A fault in force, as listed in the dashboard; `heal` with its `id` undoes it. */
export interface ActiveFault {
  id: string;
  kind: ActiveFaultKind;
  label: string;
  /** The nodes it concerns (for a link fault: its endpoints; empty for all links). */
  nodes: string[];
  sinceT: number;
  sinceAt: number;
}

export interface NetworkView {
  /** The partition in force, if any: its description and, when it is a split into groups, the groups. */
  partition: { label: string; groups: string[][] | null } | null;
  /** Directed links the partition blocks, as "from->to". */
  blocked: string[];
  /** Link faults set explicitly; from/to null means every link. */
  links: Array<{ from: string | null; to: string | null; fault: LinkFault }>;
}

export interface ClusterSnapshot {
  /** A random id per run, new whenever the cluster is replaced (configure, open): a client that reconnects can tell whether it is still the run it showed. */
  runId: string;
  target: TargetInfo;
  algorithm: AlgorithmName;
  config: ElectionConfig;
  nodes: NodeView[];
  faults: ActiveFault[];
  network: NetworkView;
  /** The leader with the highest term among running nodes, or null when there is none. */
  leader: LeaderInfo | null;
  /** Priority takeover and the preferred-leader rule in force; absent where the runtime has none (etcd). */
  leadership?: LeadershipView;
  /** How fast cluster time runs against wall time: 1 normal, below 1 slow motion, 0 frozen. */
  clockSpeed: number;
  /** The scenario being run, if any: progress is (t - startedT) / durationMs. */
  scenario: { name: string; startedT: number; durationMs: number } | null;
  /** Cluster time (ms since the cluster started) and wall-clock epoch ms of this snapshot. */
  t: number;
  at: number;
  /** The sequence number of the last event before this snapshot. */
  lastEventSeq: number;
}

export type LeaderLossCause = 'killed' | 'paused' | 'cut off';

export type ClusterEventBody =
  | { type: 'status'; nodeId: string; role: Role; term: number; votedFor: string | null; leaderId: string | null }
  | { type: 'role'; nodeId: string; from: Role | null; to: Role; term: number }
  | { type: 'leader'; nodeId: string; term: number }
  | { type: 'vote'; nodeId: string; term: number; votedFor: string }
  | { type: 'kill'; nodeId: string }
  | { type: 'restart'; nodeId: string }
  | { type: 'pause'; nodeId: string }
  | { type: 'resume'; nodeId: string }
  | { type: 'partition'; label: string; groups: string[][] | null; blocked: string[] }
  | { type: 'link'; from: string | null; to: string | null; fault: LinkFault | null }
  | { type: 'heal'; faultId: string | null; label: string }
  /** `reason`: set when the leader started it on its own ("priority takeover: n1 (priority 3) over n4 (priority 1)"). */
  | { type: 'transfer'; from: string; to: string; reason?: string }
  | { type: 'priority'; nodeId: string; priority: number; previous: number }
  | { type: 'capabilities'; nodeId: string; capabilities: Capabilities }
  | { type: 'leadership'; takeoverAfterMs: number; preferredLeader: PreferredLeaderRule | null }
  | { type: 'clock'; speed: number }
  | { type: 'quorum'; leaderId: string | null; term: number | null }
  | { type: 'leader-lost'; leaderId: string; term: number; cause: LeaderLossCause }
  | { type: 'traffic'; intervalMs: number; sent: Record<string, number>; dropped: number }
  /** `nodeId` refused `refused` messages from `from` (since the last such event) whose term was implausibly far ahead of its own (term-guard.ts). */
  | { type: 'term-refused'; nodeId: string; from: string; term: number; ownTerm: number; refused: number }
  | { type: 'scenario'; name: string; status: 'started' | 'finished' | 'stopped'; durationMs: number; report: ScenarioReport | null };

export type ClusterEventType = ClusterEventBody['type'];

/** An event as recorded: `seq` increases by one per event; `t` is cluster ms, `at` epoch ms. */
export type ClusterEvent = ClusterEventBody & { seq: number; t: number; at: number };

export type NodeCommandType = 'kill' | 'restart' | 'pause' | 'resume' | 'transfer';

/** Commands the cluster supervisor carries out. */
export type ClusterCommand =
  | { type: NodeCommandType; nodeId: string }
  | { type: 'partition'; groups: string[][] }
  | { type: 'partition'; preset: PartitionPreset }
  | { type: 'heal'; faultId?: string }
  | ({ type: 'link'; from?: string; to?: string } & Partial<LinkFault>)
  | { type: 'clock'; speed: number }
  | { type: 'priority'; nodeId: string; priority: number }
  | { type: 'capabilities'; nodeId: string; capabilities: Capabilities }
  /** Fields left out stay as they are; null: the default delay, no rule. */
  | ({ type: 'leadership' } & LeadershipChange);

/** Which cluster the hub should serve instead of the current one. */
export type TargetSpec =
  | { kind: 'embedded'; algorithm?: AlgorithmName; nodes?: number; config?: Partial<ElectionConfig> }
  | { kind: 'processes'; nodes: number; algorithm?: AlgorithmName; config?: Partial<ElectionConfig> }
  | { kind: 'attached'; addresses: string[]; token: string }
  | EtcdWatchSpec
  | EtcdPlaygroundSpec;

/**
 * Replacing the cluster with one of other settings, or with another cluster altogether, and
 * running scenarios: the runtime around the cluster does it.
 */
export type RuntimeCommand =
  | { type: 'configure'; algorithm?: AlgorithmName; nodes?: number; config?: Partial<ElectionConfig> }
  | { type: 'open'; target: TargetSpec }
  | { type: 'scenario'; action: 'run'; scenario: Scenario }
  | { type: 'scenario'; action: 'stop'; keepFaults?: boolean };

export type Command = ClusterCommand | RuntimeCommand;

export type CommandType = Command['type'];

export type CommandAck = { ok: true } | { ok: false; error: string };

/** Everything a node knows, for the detail view. */
export interface NodeDetail {
  view: NodeView;
  /** The state machine's internals (timers, votes, last contact with each peer); null while down. */
  internals: Record<string, unknown> | null;
  /** What it persisted, as the runtime stores it. */
  durable: Record<string, string | number | null> | null;
  /** Messages waiting for it while paused. */
  inbox: number;
  /** Real nodes: how far its clock is from the hub's (its minus ours, ms) and the round trip it was measured over. */
  clock?: { offsetMs: number; roundTripMs: number } | null;
}

export type InspectAck = { ok: true; node: NodeDetail } | { ok: false; error: string };

/** Why the hub is about to disconnect a client (docs/protocol.md, "Limits"). */
export interface ClosingNotice {
  /** `flood`: too many requests; `slow`: the client did not read what the hub sent. */
  reason: 'flood' | 'slow';
  message: string;
}

export interface ServerToClientEvents {
  /** Recent events (oldest first), sent once on connect before the first snapshot. */
  history: (events: ClusterEvent[]) => void;
  snapshot: (snapshot: ClusterSnapshot) => void;
  event: (event: ClusterEvent) => void;
  /** Messages on the wire and running election timers, every 100 ms while there are any. */
  messages: (batch: MessageBatch) => void;
  /** Sent just before the hub disconnects the client, saying why. */
  closing: (notice: ClosingNotice) => void;
}

export interface ClientToServerEvents {
  command: (command: Command, ack: (result: CommandAck) => void) => void;
  inspect: (nodeId: string, ack: (result: InspectAck) => void) => void;
}

