/**
 * A run's events as kept in memory: the latest MAX_EVENTS_KEPT in seq order, the older ones
 * dropped a chunk at a time (so that appending stays O(1) amortized) and, where a base is kept,
 * folded into a RunAnalysis first: the state in force before the oldest kept event, which is
 * where an export's `initial` and a rewind start. The model keeps one (no base), the hub one in
 * step with its target's, the dashboard one for its timeline.
 */
import type { ClusterEvent } from '../protocol/types.js';
import type { RunAnalysis } from './run.js';

/** Events kept in memory for late-joining dashboards, export and rewinding. */
export const MAX_EVENTS_KEPT = 50_000;

export interface EventLogOptions {
  /** How many events past MAX_EVENTS_KEPT wait to be dropped together. */
  trimChunk: number;
  /** A fresh analysis to fold dropped events into; none (or null: the run is not known yet) forgets them. */
  newBase?: () => RunAnalysis | null;
  /** Told how many events left the front (positions in `events` moved by that many). */
  dropped?: (count: number) => void;
}

export class EventLog {
  private kept: ClusterEvent[] = [];
  private baseState: RunAnalysis | null = null;
  private baseEndT = 0;

  constructor(private readonly options: EventLogOptions) {}

  /** The kept events, oldest first: the log's own array, changed in place until `replace`. */
  get events(): ClusterEvent[] {
    return this.kept;
  }

  /** The state the dropped events reached, once one was folded (null before). */
  get base(): RunAnalysis | null {
    return this.baseState;
  }

  /** Cluster time of the last event folded into the base. */
  get baseT(): number {
    return this.baseEndT;
  }

  /** Adds an event after the last; one whose seq is not after the last's is already here (false). */
  append(event: ClusterEvent): boolean {
    const last = this.kept[this.kept.length - 1];
    if (last !== undefined && event.seq <= last.seq) return false;
    this.kept.push(event);
    if (this.kept.length >= MAX_EVENTS_KEPT + this.options.trimChunk) this.drop(this.kept.length - MAX_EVENTS_KEPT);
    return true;
  }

  /** The most recent events, oldest first. */
  history(limit = MAX_EVENTS_KEPT): ClusterEvent[] {
    return this.kept.slice(-Math.min(limit, MAX_EVENTS_KEPT));
  }

  /** Starts over from these events (a new run, or a history that replaces the kept one), in a new array, with no base. */
  replace(events: readonly ClusterEvent[]): void {
    this.kept = events.slice(-MAX_EVENTS_KEPT);
    this.forgetBase();
  }

  /** Drops (folding them) the kept events older than `seq`: what another log this one follows no longer keeps. */
  dropBefore(seq: number): void {
    let count = 0;
    while (count < this.kept.length && this.kept[count]!.seq < seq) count += 1;
    if (count > 0) this.drop(count);
  }

  /** The base no longer describes this run (its members or algorithm changed): events dropped from now on start a new one. */
  forgetBase(): void {
    this.baseState = null;
    this.baseEndT = 0;
  }

  private drop(count: number): void {
    const dropped = this.kept.splice(0, count);
    this.baseState ??= this.options.newBase?.() ?? null;
    if (this.baseState !== null) {
      for (const event of dropped) this.baseState.observe(event);
      this.baseEndT = dropped[dropped.length - 1]!.t;
    }
    this.options.dropped?.(count);
  }
}
