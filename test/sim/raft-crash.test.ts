/**
 * Raft under random crashes and restarts on the deterministic simulator: at most one leader
 * per term, no node votes twice in a term, and a leader that every running node follows
 * within a bound whenever a majority runs. A failure prints its seed and trace.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { describeFailure, runSimulation, type SimulationOptions } from '../../electron/sim/simulator.js';

const BASE: Omit<SimulationOptions, 'seed'> = {
  algorithm: 'raft',
  nodes: 5,
  durationMs: 120_000,
  config: { ...DEFAULT_ELECTION_CONFIG, preVote: false, checkQuorum: false },
  link: { latencyMs: 2, jitterMs: 1 },
  faults: { meanIntervalMs: 2_500, leaderBias: 0.5 },
};
const SEEDS = 100;

describe('raft, crashes and restarts', () => {
  it(`${SEEDS} seeds x ${BASE.durationMs / 1000} simulated seconds: safe and live`, () => {
    let elections = 0;
    let faults = 0;
    let worstRecoveryMs = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const result = runSimulation({ ...BASE, seed });
      if (result.violation !== null) expect.fail(describeFailure(result, `npm run sim -- --algorithm raft --seed ${seed}`));
      elections += result.elections;
      faults += result.faults;
      worstRecoveryMs = Math.max(worstRecoveryMs, result.worstRecoveryMs);
    }
    console.log(`raft/crash: ${SEEDS} seeds, ${faults} faults, ${elections} elections, worst recovery ${worstRecoveryMs.toFixed(0)} ms`);
    // The run must have exercised failover, or passing proves nothing.
    expect(faults).toBeGreaterThan(SEEDS * 20);
    expect(elections).toBeGreaterThan(SEEDS * 5);
  });

  it('an hour-long run stays safe and live', () => {
    const result = runSimulation({ ...BASE, seed: 2026, durationMs: 3_600_000 });
    if (result.violation !== null) expect.fail(describeFailure(result, 'npm run sim -- --algorithm raft --seed 2026'));
    expect(result.faults).toBeGreaterThan(1_000);
  });

  it('the same seed replays byte for byte; another seed differs', () => {
    const first = runSimulation({ ...BASE, seed: 77, keepTrace: true });
    const again = runSimulation({ ...BASE, seed: 77, keepTrace: true });
    const other = runSimulation({ ...BASE, seed: 78, keepTrace: true });
    expect(again.trace.join('\n')).toBe(first.trace.join('\n'));
    expect(again.traceHash).toBe(first.traceHash);
    expect(other.traceHash).not.toBe(first.traceHash);
    expect(first.trace.length).toBeGreaterThan(100);
  });

  it('the checkers catch a node that forgets its persisted vote', () => {
    let caught = 0;
    let report = '';
    for (let seed = 1; seed <= 30; seed++) {
      // Frequent crashes, so that a node often restarts in the middle of an election.
      const result = runSimulation({ ...BASE, seed, broken: 'forget-vote', faults: { meanIntervalMs: 300, leaderBias: 0.3 } });
      if (result.violation !== null) {
        caught += 1;
        expect(['double-vote', 'two-leaders']).toContain(result.violation.kind);
        report ||= describeFailure(result, `replay ${seed}`);
      }
    }
    expect(caught).toBeGreaterThan(15);
    expect(report).toMatch(/seed \d+: (double-vote|two-leaders) at t=/);
    expect(report).toMatch(/VIOLATION/);
  });
});
