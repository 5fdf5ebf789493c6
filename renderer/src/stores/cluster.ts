/**
 * The dashboard's view of the cluster. Live, it is fed only by the hub (through useHub); while a
 * recorded run is replayed (useReplayStore), the same getters answer from the record, so every
 * component draws live and replayed runs alike.
 */
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef, triggerRef } from 'vue';
import { ALGORITHM_INFO } from '../../../shared/algorithms.js';
import { RunAnalysis } from '../../../shared/analysis/run.js';
import type { MessageBatch, MessageRecord } from '../../../shared/protocol/messages.js';
import type { ClusterEvent, ClusterSnapshot } from '../../../shared/protocol/types.js';
import { useReplayStore } from './replay.js';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'unauthorized';

export interface ConnectionState {
  status: ConnectionStatus;
  /** Why the hub is unreachable or refused us, in words. */
  error: string | null;
}

export const MAX_EVENTS_SHOWN = 5_000;
/** Messages kept for the animation: those sent within this much cluster time. */
export const FLIGHT_WINDOW_MS = 5_000;
const MAX_FLIGHTS = 5_000;

export interface Timer {
  startedAt: number;
  dueAt: number;
}

export const useClusterStore = defineStore('cluster', () => {
  const replay = useReplayStore();
  const liveSnapshot = shallowRef<ClusterSnapshot | null>(null);
  const events = shallowRef<ClusterEvent[]>([]);
  const connection = ref<ConnectionState>({ status: 'connecting', error: null });
  /** The live run's analysis; mutated in place, so `version` says when it changed. */
  const liveAnalysis = shallowRef<RunAnalysis | null>(null);
  /** Which run the live analysis describes: algorithm and members. */
  let analysisKey = '';
  const version = ref(0);
  /** Cluster time at a moment of performance.now(), to extrapolate between updates. */
  let timeBase = { t: 0, receivedAt: 0 };
  /** Messages and timers for the animation; read each frame, deliberately not reactive. */
  const flights: MessageRecord[] = markRaw([]);
  const timers = markRaw(new Map<string, Timer>());
  const omitted = ref(0);

  const replaying = computed(() => replay.record !== null);
  const snapshot = computed(() => (replaying.value ? replay.snapshot : liveSnapshot.value));
  /**
   * The run's analysis at the moment shown. It is mutated in place, so this is a function that
   * reads the version counters: a computed that calls it re-runs whenever the analysis changes.
   */
  function analysis(): RunAnalysis | null {
    void version.value;
    void replay.version;
    return replaying.value ? replay.analysis : liveAnalysis.value;
  }
  /** The whole run for the timeline: live, what has happened; in replay, the whole record. */
  function fullAnalysis(): RunAnalysis | null {
    void version.value;
    return replaying.value ? replay.fullAnalysis : liveAnalysis.value;
  }

  const nodes = computed(() => snapshot.value?.nodes ?? []);
  const leader = computed(() => snapshot.value?.leader ?? null);
  const faults = computed(() => snapshot.value?.faults ?? []);
  const network = computed(() => snapshot.value?.network ?? { partition: null, blocked: [], links: [] });
  const clockSpeed = computed(() => snapshot.value?.clockSpeed ?? 1);
  const algorithm = computed(() => (snapshot.value === null ? null : ALGORITHM_INFO[snapshot.value.algorithm]));
  const leaderChanges = computed(() => [...(analysis()?.leadership ?? [])].reverse());
  const alarms = computed(() => [...(analysis()?.alarms ?? [])]);

  /** (Re)builds the live analysis when the run it describes changes. */
  function ensureAnalysis(force = false): void {
    const current = liveSnapshot.value;
    if (current === null) return;
    const members = current.nodes.map((node) => node.id);
    const key = `${current.algorithm}:${members.join()}`;
    if (!force && liveAnalysis.value !== null && key === analysisKey) return;
    const rebuilt = new RunAnalysis({ members, singleLeaderPerTerm: ALGORITHM_INFO[current.algorithm].singleLeaderPerTerm });
    for (const event of events.value) rebuilt.observe(event);
    liveAnalysis.value = markRaw(rebuilt);
    analysisKey = key;
    version.value += 1;
  }

  function applyHistory(history: ClusterEvent[]): void {
    events.value = history.slice(-MAX_EVENTS_SHOWN);
    flights.length = 0;
    timers.clear();
    liveAnalysis.value = null;
    ensureAnalysis(true);
  }

  function applyEvent(event: ClusterEvent): void {
    const list = events.value;
    if (list.length > 0 && event.seq <= list[list.length - 1]!.seq) return;
    list.push(event);
    if (list.length > MAX_EVENTS_SHOWN + 500) {
      // Keep memory bounded in long sessions: drop the oldest events and re-derive from the rest.
      list.splice(0, list.length - MAX_EVENTS_SHOWN);
      ensureAnalysis(true);
    } else {
      liveAnalysis.value?.observe(event);
      version.value += 1;
    }
    triggerRef(events);
  }

  function applySnapshot(next: ClusterSnapshot, receivedAt: number): void {
    liveSnapshot.value = next;
    timeBase = { t: next.t, receivedAt };
    ensureAnalysis();
  }

  function applyMessages(batch: MessageBatch, receivedAt: number): void {
    timeBase = { t: batch.t, receivedAt };
    for (const message of batch.messages) flights.push(message);
    const oldest = batch.t - FLIGHT_WINDOW_MS;
    let drop = 0;
    while (drop < flights.length && (flights.length - drop > MAX_FLIGHTS || flights[drop]!.sentT < oldest)) drop += 1;
    if (drop > 0) flights.splice(0, drop);
    timers.clear();
    for (const timer of batch.timers) timers.set(timer.id, { startedAt: timer.startedAt, dueAt: timer.dueAt });
    omitted.value = batch.omitted;
  }

  function setConnection(status: ConnectionStatus, error: string | null = null): void {
    connection.value = { status, error };
  }

  /** Cluster time now: extrapolated from the last update at the clock's speed, or the replay cursor. */
  function clusterNow(performanceNow: number): number {
    if (replaying.value) return replay.cursorT;
    const current = liveSnapshot.value;
    if (current === null) return 0;
    return timeBase.t + Math.max(0, performanceNow - timeBase.receivedAt) * current.clockSpeed;
  }

  /** Messages to draw: live, those streamed; in replay, the record's. */
  function messagesInFlight(): readonly MessageRecord[] {
    return replaying.value ? replay.messages : flights;
  }

  function runningTimers(): ReadonlyMap<string, Timer> {
    return replaying.value ? new Map() : timers;
  }

  return {
    liveSnapshot,
    snapshot,
    events,
    connection,
    analysis,
    fullAnalysis,
    version,
    replaying,
    omitted,
    nodes,
    leader,
    faults,
    network,
    clockSpeed,
    algorithm,
    leaderChanges,
    alarms,
    applyHistory,
    applyEvent,
    applySnapshot,
    applyMessages,
    setConnection,
    clusterNow,
    messagesInFlight,
    runningTimers,
  };
});
