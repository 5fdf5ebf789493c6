/** Bully: convergence to the highest-ranked running node under full connectivity; split brain measured, over the CI's seeds of every fault kind. */
import { describe, it } from 'vitest';
import { CI_SEEDS, expectExercised, runSeeds } from './suite.js';

describe('bully under faults', () => {
  it(`${CI_SEEDS} seeds`, () => {
    expectExercised(runSeeds('bully'));
  }, 900_000); // a guard against a hang: about 5 minutes each on two shared cores
});
