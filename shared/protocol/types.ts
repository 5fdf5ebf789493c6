/**
 * The public contract of the hub's `/control` namespace (docs/protocol.md), typed once and
 * shared by the hub, the dashboard and any other client.
 */
import type { AlgorithmName, ElectionConfig, Role } from '../core/election.js';

export const CONTROL_NAMESPACE = '/control';
export const PROTOCOL_VERSION = 1;

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
}

export interface LeaderInfo {
  id: string;
  term: number;
  /** Cluster time (ms) when it became leader. */
  sinceT: number;
  /** Wall-clock epoch ms when it became leader. */
  sinceAt: number;
}

export interface ClusterSnapshot {
  algorithm: AlgorithmName;
  config: ElectionConfig;
  nodes: NodeView[];
  /** The leader with the highest term among running nodes, or null when there is none. */
  leader: LeaderInfo | null;
  /** Cluster time (ms since the cluster started) and wall-clock epoch ms of this snapshot. */
  t: number;
  at: number;
  /** The sequence number of the last event before this snapshot. */
  lastEventSeq: number;
}

export type ClusterEventBody =
  | { type: 'role'; nodeId: string; from: Role | null; to: Role; term: number }
  | { type: 'leader'; nodeId: string; term: number }
  | { type: 'vote'; nodeId: string; term: number; votedFor: string }
  | { type: 'kill'; nodeId: string }
  | { type: 'restart'; nodeId: string };

export type ClusterEventType = ClusterEventBody['type'];

/** An event as recorded: `seq` increases by one per event; `t` is cluster ms, `at` epoch ms. */
export type ClusterEvent = ClusterEventBody & { seq: number; t: number; at: number };

export type Command = { type: 'kill'; nodeId: string } | { type: 'restart'; nodeId: string };

export type CommandType = Command['type'];

export type CommandAck = { ok: true } | { ok: false; error: string };

export interface ServerToClientEvents {
  /** Recent events (oldest first), sent once on connect before the first snapshot. */
  history: (events: ClusterEvent[]) => void;
  snapshot: (snapshot: ClusterSnapshot) => void;
  event: (event: ClusterEvent) => void;
}

export interface ClientToServerEvents {
  command: (command: Command, ack: (result: CommandAck) => void) => void;
}

export interface ControlAuth {
  token?: string;
}
