/**
 * The dashboard's view of the cluster. Live, it is fed only by the hub (through useHub); while a
 * recorded run is replayed (useReplayStore) or the live run is rewound to a past moment, the same
 * getters answer from the events up to that moment, so every component draws them alike.
 * Offline, it keeps the last known state, stops the clocks, and says since when.
 */
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef, triggerRef } from 'vue';
import { ALGORITHM_INFO } from '../../../shared/algorithms.js';
import { EventLog } from '../../../shared/analysis/event-log.js';
import type { RunAnalysis } from '../../../shared/analysis/run.js';
import type { MessageBatch, MessageRecord } from '../../../shared/protocol/messages.js';
import { RUN_FORMAT, RUN_FORMAT_VERSION, type RunRecord } from '../../../shared/protocol/run-file.js';
import type { ClusterEvent, ClusterSnapshot, TargetControl } from '../../../shared/protocol/types.js';
import { formatClock, formatDuration } from '../format.js';
import { RunCursor, leadersAmong, newAnalysis, seedEvents, snapshotAt } from './cursor.js';
import { useReplayStore } from './replay.js';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'unauthorized';

export interface ConnectionState {
  status: ConnectionStatus;
  /** Why the hub is unreachable or refused us, in words. */
  error: string | null;
}

/** Messages kept for the animation: those sent within this much cluster time. */
export const FLIGHT_WINDOW_MS = 5_000;
const MAX_FLIGHTS = 5_000;

export interface Timer {
  startedAt: number;
  dueAt: number;
}

/** The hub began serving another run than the one shown (it restarted, or another console replaced the cluster). */
export interface RunChange {
  previousLabel: string;
  /** The previous run as far as this dashboard saw it, to keep as a recording. */
  previous: RunRecord | null;
  at: number;
}

export const useClusterStore = defineStore('cluster', () => {
  const replay = useReplayStore();
  const liveSnapshot = shallowRef<ClusterSnapshot | null>(null);
  /**
   * Events kept for the timeline and rewinding. Bounded memory in long sessions: the oldest are
   * folded into a base state that rewinding starts from; the live analysis has seen them and
   * prunes itself.
   */
  const log = new EventLog({
    trimChunk: 5_000,
    newBase: () => {
      const current = liveSnapshot.value;
      return current === null ? null : markRaw(newAnalysis(current.nodes.map((node) => node.id), current.algorithm));
    },
    dropped: (count) => rewindCursor?.shifted(count),
  });
  const events = shallowRef<ClusterEvent[]>(log.events);
  const connection = ref<ConnectionState>({ status: 'connecting', error: null });
  /** Wall-clock ms when the last snapshot arrived: what "last known at" refers to while offline. */
  const lastSnapshotAt = ref<number | null>(null);
  /** The live run's analysis; mutated in place, so `version` says when it changed. */
  const liveAnalysis = shallowRef<RunAnalysis | null>(null);
  let analysisKey = '';
  const version = ref(0);
  /** Cluster time at a moment of performance.now(), to extrapolate between updates. */
  let timeBase = { t: 0, receivedAt: 0 };
  /** Messages and timers for the animation; read each frame, deliberately not reactive. */
  const flights: MessageRecord[] = markRaw([]);
  const timers = markRaw(new Map<string, Timer>());
  const omitted = ref(0);
  /** Events received but not yet applied: they are applied together, at most once a frame. */
  let pendingEvents: ClusterEvent[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | null = null;

  /** The live run rewound to a past moment (cluster ms), or null when showing the present. */
  const rewindT = ref<number | null>(null);
  const rewindVersion = ref(0);
  let rewindCursor: RunCursor | null = null;

  /** The run changed under us; shown until dismissed. */
  const runChange = shallowRef<RunChange | null>(null);
  /** A new run this dashboard asked for (configure, open, a scenario with cluster settings) is not news. */
  let expectingNewRun = false;
  /** The run shown before the last history, kept until the next snapshot tells whether the run changed. */
  let previousRun: { snapshot: ClusterSnapshot; events: ClusterEvent[]; messages: MessageRecord[] } | null = null;

  const replaying = computed(() => replay.record !== null);
  const rewinding = computed(() => !replaying.value && rewindT.value !== null);
  /** Looking at another moment than the live present. */
  const inPast = computed(() => replaying.value || rewinding.value);
  const offline = computed(() => connection.value.status !== 'connected' && liveSnapshot.value !== null);

  const rewindSnapshot = computed<ClusterSnapshot | null>(() => {
    void rewindVersion.value;
    const live = liveSnapshot.value;
    if (rewindCursor === null || live === null || rewindT.value === null) return null;
    const hasPriorities = live.nodes.some((node) => node.priority !== undefined);
    return snapshotAt(rewindCursor.analysis, { ...live, members: live.nodes.map((node) => node.id), hasPriorities }, rewindT.value, rewindCursor.criteria);
  });

  const snapshot = computed(() => (replaying.value ? replay.snapshot : rewinding.value ? rewindSnapshot.value : liveSnapshot.value));

  /**
   * The run's analysis at the moment shown. It is mutated in place, so this is a function that
   * reads the version counters: a computed that calls it re-runs whenever the analysis changes.
   */
  function analysis(): RunAnalysis | null {
    void version.value;
    void replay.version;
    void rewindVersion.value;
    if (replaying.value) return replay.analysis;
    if (rewinding.value) return rewindCursor?.analysis ?? null;
    return liveAnalysis.value;
  }
  /** The whole run for the timeline: live (rewound or not), what has happened; in replay, the whole record. */
  function fullAnalysis(): RunAnalysis | null {
    void version.value;
    return replaying.value ? replay.fullAnalysis : liveAnalysis.value;
  }

  const nodes = computed(() => snapshot.value?.nodes ?? []);
  const leader = computed(() => snapshot.value?.leader ?? null);
  /** Every running node that believes it leads, the highest term first: more than one is news. */
  const leaders = computed(() => leadersAmong(nodes.value));
  const faults = computed(() => snapshot.value?.faults ?? []);
  const network = computed(() => snapshot.value?.network ?? { partition: null, blocked: [], links: [] });
  const clockSpeed = computed(() => snapshot.value?.clockSpeed ?? 1);
  const algorithm = computed(() => (snapshot.value === null ? null : ALGORITHM_INFO[snapshot.value.algorithm]));
  const target = computed(() => snapshot.value?.target ?? null);
  const leaderChanges = computed(() => [...(analysis()?.leadership ?? [])].reverse());
  const alarms = computed(() => [...(analysis()?.alarms ?? [])]);

  /**
   * Why no command can be sent now, or null: offline, replaying, looking at the past, not
   * connected yet; with a control, also when this cluster cannot do it (its target says why).
   */
  function blockedReason(control?: TargetControl): string | null {
    if (replaying.value) return 'Replaying a recorded run: go back to live first';
    if (offline.value) return `Offline: the hub cannot be reached (last known at ${lastSnapshotAt.value === null ? '—' : formatClock(lastSnapshotAt.value)})`;
    if (liveSnapshot.value === null) return 'Not connected to a cluster yet';
    if (rewinding.value) return `Showing the run as it was ${formatDuration(clusterNow(performance.now(), true) - rewindT.value!)} ago: go back to live first`;
    if (control !== undefined) return liveSnapshot.value.target.unavailable[control] ?? null;
    return null;
  }

  /** (Re)builds the live analysis when the run it describes changes. */
  function ensureAnalysis(force = false): void {
    const current = liveSnapshot.value;
    if (current === null) return;
    const members = current.nodes.map((node) => node.id);
    const key = `${current.runId}:${current.algorithm}:${members.join()}`;
    if (!force && liveAnalysis.value !== null && key === analysisKey) return;
    const rebuilt = newAnalysis(members, current.algorithm);
    for (const event of events.value) rebuilt.observe(event);
    liveAnalysis.value = markRaw(rebuilt);
    log.forgetBase();
    analysisKey = key;
    version.value += 1;
    if (rewindT.value !== null) backToLive();
  }

  function applyHistory(history: ClusterEvent[]): void {
    flushEvents();
    const shown = liveSnapshot.value;
    if (shown !== null && events.value.length > 0) previousRun = { snapshot: shown, events: events.value, messages: flights.slice() };
    log.replace(history);
    events.value = log.events;
    flights.length = 0;
    timers.clear();
    liveAnalysis.value = null;
    rewindT.value = null;
    rewindCursor = null;
    ensureAnalysis(true);
  }

  function applyEvent(event: ClusterEvent): void {
    pendingEvents.push(event);
    flushTimer ??= setTimeout(flushEvents, 16);
  }

  /** Applies the events received since the last flush, all at once: one redraw for a burst of them. */
  function flushEvents(): void {
    if (flushTimer !== null) clearTimeout(flushTimer);
    flushTimer = null;
    if (pendingEvents.length === 0) return;
    const batch = pendingEvents;
    pendingEvents = [];
    for (const event of batch) if (log.append(event)) liveAnalysis.value?.observe(event);
    version.value += 1;
    triggerRef(events);
  }

  function applySnapshot(next: ClusterSnapshot, receivedAt: number): void {
    flushEvents();
    const shown = previousRun;
    previousRun = null;
    if (shown !== null && shown.snapshot.runId !== next.runId) {
      if (!expectingNewRun) announceRunChange(shown);
      expectingNewRun = false;
    }
    liveSnapshot.value = next;
    lastSnapshotAt.value = Date.now();
    timeBase = { t: next.t, receivedAt };
    ensureAnalysis();
  }

  function announceRunChange(shown: { snapshot: ClusterSnapshot; events: ClusterEvent[]; messages: MessageRecord[] }): void {
    const { snapshot: before } = shown;
    runChange.value = markRaw<RunChange>({
      previousLabel: `${before.target.label} (${ALGORITHM_INFO[before.algorithm].label}, ${before.nodes.length} nodes)`,
      previous: {
        header: {
          format: RUN_FORMAT,
          version: RUN_FORMAT_VERSION,
          algorithm: before.algorithm,
          config: before.config,
          members: before.nodes.map((node) => node.id),
          exportedAt: before.at,
          messageDetailFromT: shown.messages[0]?.sentT ?? before.t,
        },
        events: shown.events,
        messages: shown.messages,
        aggregates: [],
      },
      at: Date.now(),
    });
  }

  function dismissRunChange(): void {
    runChange.value = null;
  }

  /** The next new run is this dashboard's own doing (it asked for it). */
  function expectNewRun(): void {
    expectingNewRun = true;
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

  /**
   * Cluster time now: extrapolated from the last update at the clock's speed (not while offline:
   * the last known time stands), the rewound moment, or the replay cursor. `live` asks for the
   * live present even while rewound.
   */
  function clusterNow(performanceNow: number, live = false): number {
    if (!live && replaying.value) return replay.cursorT;
    if (!live && rewindT.value !== null) return rewindT.value;
    const current = liveSnapshot.value;
    if (current === null) return 0;
    if (offline.value) return timeBase.t;
    return timeBase.t + Math.max(0, performanceNow - timeBase.receivedAt) * current.clockSpeed;
  }

  /** Shows the live run as it was at cluster time `t`; at (or past) the present, back to live. */
  function rewindTo(t: number): void {
    const live = liveSnapshot.value;
    if (live === null || replaying.value) return;
    flushEvents();
    const now = clusterNow(performance.now(), true);
    const earliest = rewindFloor(live.nodes.filter((node) => node.status !== 'down').map((node) => node.id)) ?? now;
    if (t >= now) {
      backToLive();
      return;
    }
    if (rewindCursor === null) {
      const seed = log.base;
      const seedT = log.baseT;
      rewindCursor = new RunCursor(
        live.nodes.map((node) => node.id),
        live.algorithm,
        () => events.value,
        () => (seed === null ? [] : seedEvents(seed, seedT)),
      );
    }
    const target = Math.max(earliest, t);
    rewindCursor.seek(target);
    rewindT.value = target;
    rewindVersion.value += 1;
  }

  /**
   * How far back a rewind can go: the first kept event when the kept events start at the run's
   * start or a base state is known; otherwise (a dashboard that joined late got only the latest
   * events) the first moment at which every node running now has been seen, so that none shows
   * as down for want of news.
   */
  function rewindFloor(running: readonly string[]): number | null {
    const list = events.value;
    const first = list[0];
    if (first === undefined) return null;
    if (first.seq === 1 || log.base !== null) return first.t;
    const unseen = new Set(running);
    for (const event of list) {
      if ('nodeId' in event) unseen.delete(event.nodeId);
      if (unseen.size === 0) return event.t;
    }
    return list.at(-1)!.t;
  }

  function backToLive(): void {
    rewindT.value = null;
    rewindCursor = null;
    rewindVersion.value += 1;
  }

  /** Messages to draw: live, those streamed; in replay, the record's; rewound, none are kept that far. */
  function messagesInFlight(): readonly MessageRecord[] {
    if (replaying.value) return replay.messages;
    return rewindT.value === null ? flights : [];
  }

  function runningTimers(): ReadonlyMap<string, Timer> {
    return inPast.value || offline.value ? new Map() : timers;
  }

  return {
    liveSnapshot,
    snapshot,
    events,
    connection,
    lastSnapshotAt,
    analysis,
    fullAnalysis,
    version,
    replaying,
    rewinding,
    rewindT,
    inPast,
    offline,
    runChange,
    omitted,
    nodes,
    leader,
    leaders,
    faults,
    network,
    clockSpeed,
    algorithm,
    target,
    leaderChanges,
    alarms,
    blockedReason,
    applyHistory,
    applyEvent,
    flushEvents,
    applySnapshot,
    applyMessages,
    setConnection,
    clusterNow,
    rewindTo,
    backToLive,
    dismissRunChange,
    expectNewRun,
    messagesInFlight,
    runningTimers,
  };
});
