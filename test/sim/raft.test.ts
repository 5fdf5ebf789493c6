/** Raft: election safety, vote safety and liveness, over the CI's seeds of every fault kind. */
import { describe, it } from 'vitest';
import { CI_SEEDS, expectExercised, runSeeds } from './suite.js';

describe('raft under faults', () => {
  it(`${CI_SEEDS} seeds`, () => {
    expectExercised(runSeeds('raft'));
  }, 400_000);
});
