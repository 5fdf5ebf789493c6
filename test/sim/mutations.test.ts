/**
 * The mutation suite (electron/sim/mutations.ts): each deliberate break must be caught by the
 * checkers within the CI seed budget, under the CI fault profile; the output names each one,
 * the seed that caught it and what caught it.
 */
import { describe, expect, it } from 'vitest';
import { MUTATIONS } from '../../electron/sim/mutations.js';
import { runSimulation, violationOf } from '../../electron/sim/simulator.js';
import { baseOptions } from './suite.js';

/** Seeds tried per mutation at most, each this long. */
const SEED_BUDGET = 100;
const DURATION_MS = 60_000;

describe('every deliberate break is caught', () => {
  it.each(MUTATIONS.map((mutation) => [mutation.name, mutation] as const))('%s', (name, mutation) => {
    let caught: string | null = null;
    for (let seed = 1; seed <= SEED_BUDGET && caught === null; seed++) {
      const result = runSimulation({ ...baseOptions(mutation.algorithm), config: mutation.config, durationMs: DURATION_MS, seed, variant: mutation.variant, ...mutation.simulation });
      const violation = violationOf(result);
      if (violation !== null) caught = `seed ${seed}: ${violation.kind} at t=${violation.t.toFixed(1)} ms: ${violation.message}`;
    }
    console.log(`mutation ${name} (${mutation.description}): ${caught === null ? `NOT caught in ${SEED_BUDGET} seeds` : `caught, ${caught}`}`);
    expect(caught, `${name} escaped ${SEED_BUDGET} seeds of ${DURATION_MS / 1000} s`).not.toBeNull();
  });
});
