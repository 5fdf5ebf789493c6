/**
 * Who should lead, beyond "whoever times out first" (MongoDB's member priority, Kafka's preferred
 * leader, SOFAJRaft's election priority):
 * - every member has a priority, known to every node: 0 never leads (it still votes), higher
 *   priorities stand for election first, and a leader hands over to a reachable member of higher
 *   priority (takeover.ts);
 * - every member advertises capabilities, facts about itself ("loadavg", "zone", ...);
 * - an optional preferred-leader rule over one numeric capability ("lowest loadavg") moves
 *   leadership among the members of the top priority present, with hysteresis.
 * Pure data and the orders derived from it; the runtime hands a new table to every node at once.
 */
import type { ElectionConfig } from './election.js';

/** What a member has unless told otherwise. */
export const DEFAULT_PRIORITY = 1;
/** Priorities run from 0 (never leads) to this, as MongoDB's do. */
export const MAX_PRIORITY = 1_000;
/** Priority takeover waits this many maximal election timeouts unless configured. */
export const TAKEOVER_AFTER_TIMEOUTS = 3;

export type CapabilityValue = string | number | boolean;
/** Facts a node advertises about itself: a small map (see shared/protocol/leadership.ts for the bounds). */
export type Capabilities = Readonly<Record<string, CapabilityValue>>;

/**
 * Prefer the member with the lowest (or highest) value of one numeric capability, among the
 * reachable members of the top priority present. A follower takes over only when its value beats
 * the leader's by more than `margin`, continuously for `stableMs`: noise smaller than the margin,
 * or shorter than the stable period, never moves leadership.
 */
export interface PreferredLeaderRule {
  capability: string;
  prefer: 'lowest' | 'highest';
  margin: number;
  stableMs: number;
}

/** What every node must agree on: each member's priority, and when leadership moves on its own. */
export interface LeadershipConfig {
  /** Priority per member id; a member left out has DEFAULT_PRIORITY. */
  priorities: Readonly<Record<string, number>>;
  /** How long a higher-priority member must be reachable before the leader hands over; null: TAKEOVER_AFTER_TIMEOUTS × the maximal election timeout. */
  takeoverAfterMs: number | null;
  /** Off (null) by default: every handover is a short leaderless gap. */
  preferredLeader: PreferredLeaderRule | null;
}

export const DEFAULT_LEADERSHIP: LeadershipConfig = { priorities: {}, takeoverAfterMs: null, preferredLeader: null };

export function priorityIn(leadership: LeadershipConfig, id: string): number {
  return leadership.priorities[id] ?? DEFAULT_PRIORITY;
}

export function takeoverDelayMs(config: ElectionConfig, leadership: LeadershipConfig): number {
  return leadership.takeoverAfterMs ?? TAKEOVER_AFTER_TIMEOUTS * config.electionTimeoutMaxMs;
}

/** The number a rule reads from a node's capabilities, or null when it has none (or not a number). */
export function ruleValue(rule: PreferredLeaderRule | null, capabilities: Capabilities): number | null {
  if (rule === null) return null;
  const value = capabilities[rule.capability];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * Whether `candidate` beats `incumbent` under the rule by more than its margin. A value beats a
 * missing one (a leader that does not report the capability yields to one that does); a missing
 * value never beats anything.
 */
export function beatsByMargin(rule: PreferredLeaderRule, candidate: number | null, incumbent: number | null): boolean {
  if (candidate === null) return false;
  if (incumbent === null) return true;
  return rule.prefer === 'lowest' ? candidate < incumbent - rule.margin : candidate > incumbent + rule.margin;
}

/**
 * Members in the order they should lead: priority first (highest first), then member order.
 * Priority-0 members and `excluded` are left out.
 */
export function byPriority(members: readonly string[], priority: (id: string) => number, excluded: (id: string) => boolean = () => false): string[] {
  const order = new Map(members.map((id, index) => [id, index]));
  return members
    .filter((id) => priority(id) > 0 && !excluded(id))
    .sort((a, b) => priority(b) - priority(a) || order.get(a)! - order.get(b)!);
}

/** "n1 (priority 3)" */
export function withPriority(id: string, priority: number): string {
  return `${id} (priority ${priority})`;
}
