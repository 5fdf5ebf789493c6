/**
 * Replaying a recorded run: the record, a cursor in cluster time, and playback. The analysis at
 * the cursor is advanced incrementally while playing forward and rebuilt when seeking back.
 */
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import { ALGORITHM_INFO } from '../../../shared/algorithms.js';
import { RunAnalysis } from '../../../shared/analysis/run.js';
import type { MessageRecord } from '../../../shared/protocol/messages.js';
import type { RunRecord } from '../../../shared/protocol/run-file.js';
import type { ClusterSnapshot, LeaderInfo } from '../../../shared/protocol/types.js';

export const REPLAY_SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10] as const;

function newAnalysis(record: RunRecord): RunAnalysis {
  return new RunAnalysis({ members: record.header.members, singleLeaderPerTerm: ALGORITHM_INFO[record.header.algorithm].singleLeaderPerTerm });
}

export const useReplayStore = defineStore('replay', () => {
  const record = shallowRef<RunRecord | null>(null);
  const name = ref('');
  const cursorT = ref(0);
  const playing = ref(false);
  const speed = ref<number>(1);
  /** Bumped whenever the analysis at the cursor changed in place. */
  const version = ref(0);
  const fullAnalysis = shallowRef<RunAnalysis | null>(null);
  const analysis = shallowRef<RunAnalysis | null>(null);
  /** Index of the next event the analysis at the cursor has not seen. */
  let applied = 0;
  let frame: number | null = null;
  let lastFrameAt = 0;

  const startT = computed(() => record.value?.events[0]?.t ?? 0);
  const endT = computed(() => record.value?.events.at(-1)?.t ?? 0);

  const messages = computed<readonly MessageRecord[]>(() => record.value?.messages ?? []);

  const snapshot = computed<ClusterSnapshot | null>(() => {
    void version.value;
    const run = record.value;
    const current = analysis.value;
    if (run === null || current === null) return null;
    const nodes = current.nodeViews();
    let leader: LeaderInfo | null = null;
    for (const node of nodes) {
      if (node.status !== 'up' || node.role !== 'leader' || (leader !== null && node.term <= leader.term)) continue;
      const period = current.leadership.findLast((p) => p.nodeId === node.id && p.endT === null);
      leader = { id: node.id, term: node.term, sinceT: period?.startT ?? cursorT.value, sinceAt: period?.startAt ?? current.lastAt };
    }
    return {
      target: { kind: 'embedded', label: `a recorded run of ${run.header.members.length} nodes`, unavailable: {}, faultLeaseMs: null },
      algorithm: run.header.algorithm,
      config: run.header.config,
      nodes,
      faults: current.activeFaults(),
      network: current.network(),
      leader,
      clockSpeed: current.clockSpeed,
      scenario: null,
      t: cursorT.value,
      at: current.lastAt + (cursorT.value - current.lastT),
      lastEventSeq: record.value?.events[applied - 1]?.seq ?? 0,
    };
  });

  function load(run: RunRecord, fileName: string): void {
    stop();
    record.value = markRaw(run);
    name.value = fileName;
    const full = newAnalysis(run);
    for (const event of run.events) full.observe(event);
    fullAnalysis.value = markRaw(full);
    analysis.value = markRaw(newAnalysis(run));
    applied = 0;
    seek(startT.value);
  }

  function exit(): void {
    stop();
    record.value = null;
    fullAnalysis.value = null;
    analysis.value = null;
  }

  /** Moves the cursor: forward by feeding the next events, backward by replaying from the start. */
  function seek(t: number): void {
    const run = record.value;
    if (run === null) return;
    const target = Math.min(Math.max(t, startT.value), endT.value);
    if (target < cursorT.value || analysis.value === null) {
      analysis.value = markRaw(newAnalysis(run));
      applied = 0;
    }
    const current = analysis.value!;
    while (applied < run.events.length && run.events[applied]!.t <= target) current.observe(run.events[applied++]!);
    cursorT.value = target;
    version.value += 1;
  }

  function tick(now: number): void {
    const elapsed = now - lastFrameAt;
    lastFrameAt = now;
    seek(cursorT.value + elapsed * speed.value);
    if (cursorT.value >= endT.value) {
      stop();
      return;
    }
    frame = requestAnimationFrame(tick);
  }

  function play(): void {
    if (record.value === null || playing.value) return;
    if (cursorT.value >= endT.value) seek(startT.value);
    playing.value = true;
    lastFrameAt = performance.now();
    frame = requestAnimationFrame(tick);
  }

  function stop(): void {
    playing.value = false;
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
  }

  return { record, name, cursorT, playing, speed, version, fullAnalysis, analysis, startT, endT, messages, snapshot, load, exit, seek, play, pause: stop };
});
