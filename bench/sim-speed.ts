/**
 * How fast the simulator runs (simulated cluster-seconds per wall second) and how much memory a run
 * holds, at 5, 25 and 101 nodes, under the CI fault profile.
 */
import { DEFAULT_ELECTION_CONFIG } from '../shared/core/election.js';
import { DEFAULT_FAULTS } from '../electron/sim/faults.js';
import { DEFAULT_DISK_WRITE_MS, runSimulation } from '../electron/sim/simulator.js';
import { progress } from './lib.js';

export interface SimSpeedRow {
  nodes: number;
  seeds: number;
  simulatedSPerSeed: number;
  /** Simulated seconds per wall second. */
  speed: number;
  messagesPerWallS: number;
  /** Heap held after a run (after a collection), above the heap held before the first run, MiB. */
  heapMiB: number;
  refused: string | null;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** The heap in use after a collection, MiB (without --expose-gc, whatever is in use). */
function heapInUseMiB(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

export function benchSimSpeed(nodeCounts: readonly number[], budgetS: number): SimSpeedRow[] {
  const baselineHeapMiB = heapInUseMiB();
  return nodeCounts.map((nodes) => {
    const simulatedS = nodes > 50 ? 30 : 120;
    let seeds = 0;
    let messages = 0;
    let heapMiB = 0;
    const started = performance.now();
    try {
      while ((performance.now() - started) / 1000 < budgetS || seeds === 0) {
        seeds += 1;
        const result = runSimulation({
          algorithm: 'raft',
          nodes,
          seed: seeds,
          durationMs: simulatedS * 1000,
          config: DEFAULT_ELECTION_CONFIG,
          link: { latencyMs: 2, jitterMs: 1 },
          diskWriteMs: DEFAULT_DISK_WRITE_MS,
          faults: DEFAULT_FAULTS,
        });
        messages += result.messages;
        heapMiB = Math.max(heapMiB, heapInUseMiB() - baselineHeapMiB);
      }
    } catch (error) {
      return { nodes, seeds: 0, simulatedSPerSeed: simulatedS, speed: NaN, messagesPerWallS: NaN, heapMiB: NaN, refused: error instanceof Error ? error.message : String(error) };
    }
    const wallS = (performance.now() - started) / 1000;
    const row = { nodes, seeds, simulatedSPerSeed: simulatedS, speed: (seeds * simulatedS) / wallS, messagesPerWallS: messages / wallS, heapMiB, refused: null };
    progress(`simulator, ${nodes} nodes: ${row.speed.toFixed(0)} simulated s per wall s over ${seeds} seeds`);
    return row;
  });
}
