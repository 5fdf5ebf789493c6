/**
 * Replaying a recorded run: the record, a cursor in cluster time, and playback. The analysis at
 * the cursor is advanced incrementally while playing forward and rebuilt when seeking back.
 */
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import type { RunAnalysis } from '../../../shared/analysis/run.js';
import type { MessageAggregate, MessageRecord } from '../../../shared/protocol/messages.js';
import type { RunRecord } from '../../../shared/protocol/run-file.js';
import type { ClusterSnapshot } from '../../../shared/protocol/types.js';
import { RunCursor, newAnalysis, recordsPriorities, snapshotAt, stamp } from './cursor.js';

export const REPLAY_SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10] as const;
/** A run's nodes boot one after another in its first moments: the first frame shows them all booted. */
const BOOT_WINDOW_MS = 1_000;

/**
 * Where a record starts showing: once every member has appeared, if they all did within the
 * boot window of the first event (a run recorded from its start); else at the first event.
 */
function openingT(run: RunRecord): number {
  const first = run.events[0]?.t ?? 0;
  // A record with its initial state knows every node from its first moment.
  if (run.header.initial !== undefined) return first;
  const seen = new Set<string>();
  for (const event of run.events) {
    if (event.t > first + BOOT_WINDOW_MS) break;
    if ('nodeId' in event) seen.add(event.nodeId);
    if (seen.size === run.header.members.length) return event.t;
  }
  return first;
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
  const cursor = shallowRef<RunCursor | null>(null);
  const startT = ref(0);
  let frame: number | null = null;
  let lastFrameAt = 0;

  const endT = computed(() => record.value?.events.at(-1)?.t ?? 0);
  const analysis = computed(() => {
    void version.value;
    return cursor.value?.analysis ?? null;
  });
  const messages = computed<readonly MessageRecord[]>(() => record.value?.messages ?? []);
  const aggregates = computed<readonly MessageAggregate[]>(() => record.value?.aggregates ?? []);
  /** From when the record holds whole messages; before it only counts per link (null: all whole). */
  const detailFromT = computed(() => {
    const run = record.value;
    if (run === null) return null;
    const declared = run.header.messageDetailFromT ?? null;
    if (declared !== null) return declared > startT.value ? declared : null;
    // Older files say nothing: their messages may start well after the events.
    const first = run.messages[0]?.sentT;
    return first !== undefined && first > startT.value + 1_000 ? first : run.messages.length === 0 ? startT.value : null;
  });

  const hasPriorities = computed(() => record.value !== null && recordsPriorities(record.value.events));
  const snapshot = computed<ClusterSnapshot | null>(() => {
    void version.value;
    const run = record.value;
    const current = cursor.value;
    if (run === null || current === null) return null;
    const { header } = run;
    return snapshotAt(
      current.analysis,
      {
        runId: `replay:${name.value}:${header.exportedAt}`,
        target: { kind: 'embedded', label: `a recorded run of ${header.members.length} nodes`, unavailable: {}, faultLeaseMs: null },
        algorithm: header.algorithm,
        config: header.config,
        members: header.members,
        hasPriorities: hasPriorities.value,
      },
      cursorT.value,
      current.criteria,
    );
  });

  function load(run: RunRecord, fileName: string): void {
    stop();
    record.value = markRaw(run);
    name.value = fileName;
    const first = run.events[0];
    const initial = run.header.initial === undefined || first === undefined ? [] : stamp(run.header.initial, first.t, first.at);
    const full = newAnalysis(run.header.members, run.header.algorithm);
    for (const event of [...initial, ...run.events]) full.observe(event);
    fullAnalysis.value = markRaw(full);
    cursor.value = markRaw(new RunCursor(run.header.members, run.header.algorithm, () => run.events, () => initial));
    startT.value = openingT(run);
    seek(startT.value);
  }

  function exit(): void {
    stop();
    record.value = null;
    fullAnalysis.value = null;
    cursor.value = null;
  }

  /** Moves the cursor: forward by feeding the next events, backward by replaying from the start. */
  function seek(t: number): void {
    if (record.value === null || cursor.value === null) return;
    const target = Math.min(Math.max(t, startT.value), endT.value);
    cursor.value.seek(target);
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

  return { record, name, cursorT, playing, speed, version, fullAnalysis, analysis, startT, endT, messages, aggregates, detailFromT, snapshot, load, exit, seek, play, pause: stop };
});
