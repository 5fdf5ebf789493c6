/** Paxos ballot election: election safety, promise safety and liveness, over the CI's seeds of every fault kind. */
import { describe, it } from 'vitest';
import { CI_SEEDS, expectExercised, runSeeds } from './suite.js';

describe('paxos under faults', () => {
  it(`${CI_SEEDS} seeds`, () => {
    expectExercised(runSeeds('paxos'));
  }, 400_000);
});
