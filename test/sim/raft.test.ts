/** Raft: election safety, vote safety and liveness, over the CI's seeds of every fault kind. */
import { describe, it } from 'vitest';
import { CI_SEEDS, expectExercised, expectLeasesChecked, runSeeds } from './suite.js';

describe('raft under faults', () => {
  it(`${CI_SEEDS} seeds, never two lease holders at once`, () => {
    const totals = runSeeds('raft');
    expectExercised(totals);
    expectLeasesChecked(totals);
  }, 900_000); // a guard against a hang: about 5 minutes each on two shared cores
});
