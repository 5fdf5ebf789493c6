/**
 * What the simulator checks of priorities, priority takeover and the preferred-leader rule, on
 * top of safety (which they must leave unchanged):
 * - `priority-zero-leader` (safety): a node never becomes leader (coordinator) while its
 *   priority is 0;
 * - `takeover-unreachable` (safety): a leader hands over on its own only to a node it can reach:
 *   running, and with links open both ways, or cut off less than its reachability window ago (a
 *   minimal election timeout, plus a heartbeat and the round trip of the slowest link);
 * - `handover-late` (liveness): a leader whose priority became 0 hands over within
 *   HANDOVER_TIMEOUTS maximal election timeouts when an electable node is running and the network
 *   is clean (no partition, no link fault);
 * - `takeover-late` (liveness): on a clean network, when a running node has a higher priority
 *   than the leader followed by a majority, that leader is replaced within takeoverAfterMs plus
 *   TAKEOVER_SLACK_TIMEOUTS maximal election timeouts (the transfer and the election), counted
 *   from the last disturbance (a fault, a change of priorities, anything the nemesis did);
 * - `flapping` (liveness): on a clean network, between two disturbances, a leader never hands
 *   leadership on its own to a node that itself handed it over on its own since the disturbance
 *   (back and forth), and hands it over at most once per member and twice more. Priority
 *   takeover only moves it up in priority; the rule, with noise below half its margin, only to a
 *   node whose level is lower: so noise alone never moves it back and forth. (Elections right
 *   after a disturbance may pass through a stale leader and back: they are not takeovers.)
 * Raft and Paxos hand over; Bully has no transfer and ignores capabilities, so only the first
 * applies to it (its coordinator by rank is the simulator's liveness check; its coordinators of
 * one election number may briefly alternate, which is Bully, not flapping).
 */
import type { ElectionConfig } from '../../shared/core/election.js';
import { priorityIn, takeoverDelayMs } from '../../shared/core/leadership.js';
import { linkKey } from '../../shared/protocol/faults.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import type { Cluster } from '../targets/embedded/cluster.js';

export type LeadershipSafetyKind = 'priority-zero-leader' | 'takeover-unreachable';
export type LeadershipLivenessKind = 'handover-late' | 'takeover-late' | 'flapping';

export interface LeadershipFinding<Kind extends LeadershipSafetyKind | LeadershipLivenessKind> {
  kind: Kind;
  message: string;
}

/** A leader whose priority became 0 has this many maximal election timeouts to hand over. */
export const HANDOVER_TIMEOUTS = 2;
/** Priority takeover may take takeoverAfterMs and this many maximal election timeouts more. */
export const TAKEOVER_SLACK_TIMEOUTS = 2;
/** Takeovers allowed between two disturbances on a clean network, besides one per member. */
export const CALM_EXTRA_TAKEOVERS = 2;

export interface LeadershipCheckOptions {
  config: ElectionConfig;
  /** Whether leaders hand over on their own (Raft, Paxos). */
  transfers: boolean;
  /** The slowest one-way delay a link fault may add (ms): part of the reachability window. */
  worstOneWayMs: number;
}

export class LeadershipChecks {
  /** When each directed pair (leader -> target) was first seen unable to talk both ways. */
  private readonly unreachableSince = new Map<string, number>();
  private majorityLeader: string | null = null;
  /** The last disturbance: a fault, a change of priorities or rules, an episode of the nemesis. */
  private disturbedAt = 0;
  private clean = true;
  /** Reachability is looked at again after a disturbance (a run state or a link changed). */
  private reachStale = true;
  /** Since the last disturbance (watched only when the network was clean then): who handed leadership over on its own, and how often. */
  private readonly gaveAway = new Set<string>();
  private calmTakeovers = 0;
  private calmCounts = true;
  private flapping: string | null = null;
  /** Since when the handover and takeover requirements have applied, if they do. */
  private handoverDueSince: number | null = null;
  private takeoverDueSince: number | null = null;
  /** Takeovers that were due and happened: how many, and the slowest (ms from when it was due). */
  takeoversTimed = 0;
  worstTakeoverMs = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: LeadershipCheckOptions,
  ) {}

  /** Something changed that may move leadership legitimately: the periods start over. */
  disturbed(now: number): void {
    this.disturbedAt = now;
    this.reachStale = true;
    this.clean = this.networkClean();
    this.gaveAway.clear();
    this.calmTakeovers = 0;
    this.calmCounts = this.clean;
  }

  /** Each recorded event, as it happens; returns a safety finding, if any. */
  event(event: ClusterEvent): LeadershipFinding<LeadershipSafetyKind> | null {
    const priority = (id: string): number => priorityIn(this.cluster.leadership(), id);
    switch (event.type) {
      case 'leader':
        if (priority(event.nodeId) === 0) {
          return { kind: 'priority-zero-leader', message: `${event.nodeId} became leader of term ${event.term} with priority 0` };
        }
        return null;
      case 'quorum':
        this.majorityLeader = event.leaderId;
        return null;
      case 'transfer': {
        if (event.reason === undefined) return null;
        this.calm(event.from, event.to, event.t);
        this.refreshReach(event.t);
        const since = this.unreachableSince.get(linkKey(event.from, event.to));
        if (since === undefined || event.t - since <= this.reachWindowMs()) return null;
        return {
          kind: 'takeover-unreachable',
          message: `${event.from} handed leadership to ${event.to} (${event.reason}), which it could not reach for ${Math.round(event.t - since)} ms`,
        };
      }
      default:
        return null;
    }
  }

  /** Polled every check interval; returns a liveness finding, if any. */
  poll(now: number): LeadershipFinding<LeadershipLivenessKind> | null {
    if (this.reachStale) {
      this.reachStale = false;
      this.refreshReach(now);
    }
    if (this.flapping !== null) {
      const message = this.flapping;
      this.flapping = null;
      return { kind: 'flapping', message };
    }
    // Neither a handover nor a takeover can be due while every priority is the default.
    if (!this.options.transfers || Object.keys(this.cluster.leadership().priorities).length === 0) return null;
    const { electionTimeoutMaxMs } = this.options.config;
    const leader = this.majorityLeader;
    const leadership = this.cluster.leadership();
    const running = this.cluster.states().filter((node) => node.state === 'up').map((node) => node.id);
    const electable = running.filter((id) => priorityIn(leadership, id) > 0 && id !== leader);
    const applies = this.clean && leader !== null && running.includes(leader);

    const handoverDue = applies && priorityIn(leadership, leader) === 0 && electable.length > 0;
    this.handoverDueSince = handoverDue ? (this.handoverDueSince ?? now) : null;
    const handoverFrom = Math.max(this.handoverDueSince ?? now, this.disturbedAt);
    if (handoverDue && now - handoverFrom > HANDOVER_TIMEOUTS * electionTimeoutMaxMs) {
      this.handoverDueSince = null;
      return { kind: 'handover-late', message: `${leader} has led with priority 0 for ${Math.round(now - handoverFrom)} ms while ${electable.join(', ')} could lead` };
    }

    const top = electable.reduce((best, id) => Math.max(best, priorityIn(leadership, id)), 0);
    const takeoverDue = applies && top > priorityIn(leadership, leader);
    const takeoverFrom = Math.max(this.takeoverDueSince ?? now, this.disturbedAt);
    if (!takeoverDue && this.takeoverDueSince !== null && applies) {
      // It was due, and the leader now has the top priority running: timed.
      this.takeoversTimed += 1;
      this.worstTakeoverMs = Math.max(this.worstTakeoverMs, now - takeoverFrom);
    }
    this.takeoverDueSince = takeoverDue ? (this.takeoverDueSince ?? now) : null;
    const boundMs = this.takeoverBoundMs();
    if (takeoverDue && now - takeoverFrom > boundMs) {
      this.takeoverDueSince = null;
      const preferred = electable.filter((id) => priorityIn(leadership, id) === top);
      return {
        kind: 'takeover-late',
        message: `${leader} (priority ${priorityIn(leadership, leader)}) still leads ${Math.round(now - takeoverFrom)} ms after ${preferred.join(', ')} (priority ${top}) could take over (bound ${boundMs} ms)`,
      };
    }
    return null;
  }

  /** A leader handed over on its own, between two disturbances. */
  private calm(from: string, to: string, now: number): void {
    if (!this.calmCounts) return;
    this.calmTakeovers += 1;
    const since = `in ${Math.round(now - this.disturbedAt)} ms of a clean network with nothing disturbing it`;
    if (this.gaveAway.has(to)) this.flapping = `${from} handed leadership back to ${to}, which had handed it over itself ${since}`;
    else if (this.calmTakeovers > this.cluster.members.length + CALM_EXTRA_TAKEOVERS) this.flapping = `leaders handed over ${this.calmTakeovers} times ${since}`;
    this.gaveAway.add(from);
    if (this.flapping !== null) this.calmCounts = false;
  }

  takeoverBoundMs(): number {
    const { config } = this.options;
    return takeoverDelayMs(config, this.cluster.leadership()) + TAKEOVER_SLACK_TIMEOUTS * config.electionTimeoutMaxMs;
  }

  /** How long after a target became unreachable a leader may still count it as reachable. */
  private reachWindowMs(): number {
    const { electionTimeoutMinMs, heartbeatMs } = this.options.config;
    return electionTimeoutMinMs + heartbeatMs + 2 * (this.options.worstOneWayMs + this.cluster.link.latencyMs + this.cluster.link.jitterMs);
  }

  /** Which pairs cannot talk both ways now, and since when. */
  private refreshReach(now: number): void {
    const up = new Set(this.cluster.states().filter((node) => node.state === 'up').map((node) => node.id));
    for (const from of this.cluster.members) {
      for (const to of this.cluster.members) {
        if (from === to) continue;
        const key = linkKey(from, to);
        const reachable = up.has(from) && up.has(to) && this.cluster.linkOpen(from, to) && this.cluster.linkOpen(to, from);
        if (reachable) this.unreachableSince.delete(key);
        else if (!this.unreachableSince.has(key)) this.unreachableSince.set(key, now);
      }
    }
  }

  private networkClean(): boolean {
    if (this.cluster.linksDegraded()) return false;
    return this.cluster.members.every((from) => this.cluster.members.every((to) => from === to || this.cluster.linkOpen(from, to)));
  }
}
