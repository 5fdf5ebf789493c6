/**
 * The dashboard's view of the cluster, fed only by the hub's events (through useHub).
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import { ALGORITHM_INFO } from '../../../shared/algorithms.js';
import { leadershipPeriods } from '../../../shared/analysis/leadership.js';
import type { ClusterEvent, ClusterSnapshot } from '../../../shared/protocol/types.js';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'unauthorized';

export interface ConnectionState {
  status: ConnectionStatus;
  /** Why the hub is unreachable or refused us, in words. */
  error: string | null;
}

export const MAX_EVENTS_SHOWN = 5_000;

export const useClusterStore = defineStore('cluster', () => {
  const snapshot = shallowRef<ClusterSnapshot | null>(null);
  /** performance.now() when the snapshot arrived, to extrapolate cluster time between snapshots. */
  const snapshotReceivedAt = ref(0);
  const events = shallowRef<ClusterEvent[]>([]);
  const connection = ref<ConnectionState>({ status: 'connecting', error: null });

  const nodes = computed(() => snapshot.value?.nodes ?? []);
  const leader = computed(() => snapshot.value?.leader ?? null);
  const faults = computed(() => snapshot.value?.faults ?? []);
  const network = computed(() => snapshot.value?.network ?? { partition: null, blocked: [], links: [] });
  const clockSpeed = computed(() => snapshot.value?.clockSpeed ?? 1);
  const algorithm = computed(() => (snapshot.value === null ? null : ALGORITHM_INFO[snapshot.value.algorithm]));
  const leaderChanges = computed(() => leadershipPeriods(events.value).reverse());

  function applyHistory(history: ClusterEvent[]): void {
    events.value = history.slice(-MAX_EVENTS_SHOWN);
  }

  function applyEvent(event: ClusterEvent): void {
    const list = events.value;
    if (list.length > 0 && event.seq <= list[list.length - 1]!.seq) return;
    list.push(event);
    if (list.length > MAX_EVENTS_SHOWN + 500) list.splice(0, list.length - MAX_EVENTS_SHOWN);
    triggerRef(events);
  }

  function applySnapshot(next: ClusterSnapshot, receivedAt: number): void {
    snapshot.value = next;
    snapshotReceivedAt.value = receivedAt;
  }

  function setConnection(status: ConnectionStatus, error: string | null = null): void {
    connection.value = { status, error };
  }

  /** Cluster time now, extrapolated from the last snapshot at the cluster's clock speed. */
  function clusterNow(performanceNow: number): number {
    const current = snapshot.value;
    if (current === null) return 0;
    return current.t + Math.max(0, performanceNow - snapshotReceivedAt.value) * current.clockSpeed;
  }

  return {
    snapshot,
    snapshotReceivedAt,
    events,
    connection,
    nodes,
    leader,
    faults,
    network,
    clockSpeed,
    algorithm,
    leaderChanges,
    applyHistory,
    applyEvent,
    applySnapshot,
    setConnection,
    clusterNow,
  };
});
