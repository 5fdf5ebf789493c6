/**
 * The simulation suite's driver: many seeds of one algorithm under every kind of fault. The
 * first failing seed fails the test with its report (seed, replay command, trace).
 */
import { expect } from 'vitest';
import { DEFAULT_ELECTION_CONFIG, type AlgorithmName } from '../../shared/core/election.js';
import { DEFAULT_FAULTS } from '../../electron/sim/faults.js';
import { DEFAULT_DISK_WRITE_MS, describeFailure, runSimulation, violationOf, type SimulationOptions } from '../../electron/sim/simulator.js';

/** The CI budget: seeds per algorithm and simulated time per seed. */
export const CI_SEEDS = 2_000;
export const CI_DURATION_MS = 240_000;

export function baseOptions(algorithm: AlgorithmName): Omit<SimulationOptions, 'seed'> {
  return {
    algorithm,
    nodes: 5,
    durationMs: CI_DURATION_MS,
    config: DEFAULT_ELECTION_CONFIG,
    link: { latencyMs: 2, jitterMs: 1 },
    diskWriteMs: DEFAULT_DISK_WRITE_MS,
    faults: DEFAULT_FAULTS,
  };
}

export interface SuiteTotals {
  seeds: number;
  elections: number;
  faults: number;
  recoveries: number;
  worstRecoveryMs: number;
  checkedMs: number;
  checkedDegradedMs: number;
  concurrentLeadersMs: number;
  /** Leader leases taken: how much the lease checker (no two holders at one instant) had to watch. */
  leaseAcquisitions: number;
}

export function runSeeds(algorithm: AlgorithmName, seeds = CI_SEEDS, overrides: Partial<SimulationOptions> = {}): SuiteTotals {
  const totals: SuiteTotals = { seeds, elections: 0, faults: 0, recoveries: 0, worstRecoveryMs: 0, checkedMs: 0, checkedDegradedMs: 0, concurrentLeadersMs: 0, leaseAcquisitions: 0 };
  for (let seed = 1; seed <= seeds; seed++) {
    const result = runSimulation({ ...baseOptions(algorithm), ...overrides, seed });
    if (violationOf(result) !== null) {
      expect.fail(describeFailure(result, `npm run sim -- --algorithm ${algorithm} --seed ${seed} --duration-s ${result.durationMs / 1000}`));
    }
    totals.elections += result.elections;
    totals.faults += result.faults;
    totals.recoveries += result.recoveries;
    totals.worstRecoveryMs = Math.max(totals.worstRecoveryMs, result.worstRecoveryMs);
    totals.checkedMs += result.checkedMs;
    totals.checkedDegradedMs += result.checkedDegradedMs;
    totals.concurrentLeadersMs += result.concurrentLeadersMs;
    totals.leaseAcquisitions += result.leaseAcquisitions;
  }
  const simulatedMs = seeds * (overrides.durationMs ?? CI_DURATION_MS);
  console.log(
    `${algorithm}: ${seeds} seeds x ${(overrides.durationMs ?? CI_DURATION_MS) / 1000} s, ${totals.faults} fault events, ` +
      `${totals.elections} elections, liveness checked ${((100 * totals.checkedMs) / simulatedMs).toFixed(0)}% of the time ` +
      `(${((100 * totals.checkedDegradedMs) / simulatedMs).toFixed(0)}% with loss or delay in force), ` +
      `worst recovery ${totals.worstRecoveryMs.toFixed(0)} ms (bound ${10 * DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs} ms), ` +
      `${(totals.concurrentLeadersMs / 1000).toFixed(1)} s with two or more leaders, ${totals.leaseAcquisitions} leader leases taken (never two held at once)`,
  );
  return totals;
}

/** Passing proves something only if the run exercised failover and the checkers had work. */
export function expectExercised(totals: SuiteTotals): void {
  expect(totals.faults).toBeGreaterThan(totals.seeds * 50);
  expect(totals.elections).toBeGreaterThan(totals.seeds * 5);
  expect(totals.recoveries).toBeGreaterThan(totals.seeds * 5);
  expect(totals.checkedMs).toBeGreaterThan(totals.seeds * CI_DURATION_MS * 0.3);
  expect(totals.checkedDegradedMs).toBeGreaterThan(totals.seeds * CI_DURATION_MS * 0.05);
}

/** Raft and Paxos: the lease checker saw leases taken again and again, through the faults (Bully has no lease: docs/lease.md). */
export function expectLeasesChecked(totals: SuiteTotals): void {
  expect(totals.leaseAcquisitions).toBeGreaterThan(totals.seeds * 5);
}
