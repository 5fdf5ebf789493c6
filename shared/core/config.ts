import { DEFAULT_ELECTION_CONFIG, type ElectionConfig } from './election.js';
import { ValidationError, expectBoolean, expectInteger, expectObject } from '../protocol/validate.js';

export const TIMING_LIMIT_MS = 60_000;
/** The largest cluster Conclave runs (embedded, simulated, configured from the dashboard). */
export const MAX_NODES = 101;

/**
 * Checks an election config, returning it typed, or throwing with an explicit reason
 * (as etcd's raft does: "election tick must be greater than heartbeat tick").
 */
export function parseElectionConfig(value: unknown, path = 'config'): ElectionConfig {
  const input = expectObject(value ?? {}, path, Object.keys(DEFAULT_ELECTION_CONFIG));
  const pick = <K extends keyof ElectionConfig>(key: K): unknown => input[key] ?? DEFAULT_ELECTION_CONFIG[key];
  const config: ElectionConfig = {
    heartbeatMs: expectInteger(pick('heartbeatMs'), `${path}.heartbeatMs`, 1, TIMING_LIMIT_MS),
    electionTimeoutMinMs: expectInteger(pick('electionTimeoutMinMs'), `${path}.electionTimeoutMinMs`, 1, TIMING_LIMIT_MS),
    electionTimeoutMaxMs: expectInteger(pick('electionTimeoutMaxMs'), `${path}.electionTimeoutMaxMs`, 1, TIMING_LIMIT_MS),
    preVote: expectBoolean(pick('preVote'), `${path}.preVote`),
    checkQuorum: expectBoolean(pick('checkQuorum'), `${path}.checkQuorum`),
    rankedTimeouts: expectBoolean(pick('rankedTimeouts'), `${path}.rankedTimeouts`),
  };
  if (config.electionTimeoutMinMs <= config.heartbeatMs) {
    throw new ValidationError(
      `${path}: the election timeout (${config.electionTimeoutMinMs} ms) must be greater than the heartbeat interval (${config.heartbeatMs} ms)`,
    );
  }
  if (config.electionTimeoutMaxMs < config.electionTimeoutMinMs) {
    throw new ValidationError(
      `${path}: the maximum election timeout (${config.electionTimeoutMaxMs} ms) must not be below the minimum (${config.electionTimeoutMinMs} ms)`,
    );
  }
  return config;
}

/** Shape-checks a partial election config; whether it is consistent is checked once merged. */
export function parsePartialConfig(value: unknown, path: string): Partial<ElectionConfig> {
  const input = expectObject(value, path, Object.keys(DEFAULT_ELECTION_CONFIG));
  const config: Partial<ElectionConfig> = {};
  for (const key of ['heartbeatMs', 'electionTimeoutMinMs', 'electionTimeoutMaxMs'] as const) {
    if (input[key] !== undefined) config[key] = expectInteger(input[key], `${path}.${key}`, 1, TIMING_LIMIT_MS);
  }
  for (const key of ['preVote', 'checkQuorum', 'rankedTimeouts'] as const) {
    if (input[key] !== undefined) config[key] = expectBoolean(input[key], `${path}.${key}`);
  }
  return config;
}

/** An election timeout range narrower than this (and than a tenth of the minimum) splits votes often. */
export const NARROW_TIMEOUT_RANGE_MS = 10;

/**
 * Settings that are valid but behave badly, explained in words for the CLI and the settings
 * dialog. They stay possible: the Raft paper's Figure 16 teaches with exactly these.
 * `roundTripMs`, when known, is the network's round trip between nodes.
 */
export function configWarnings(config: ElectionConfig, roundTripMs?: number): string[] {
  const warnings: string[] = [];
  const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = config;
  const spreadMs = max - min;
  if (spreadMs === 0) {
    warnings.push(
      `The minimum and maximum election timeouts are equal (${min} ms): nodes that lose their leader time out together and split ` +
        'the vote again and again, and may never elect one (the livelock of Figure 16 in the Raft paper). Randomize: use a range such as ' +
        `${min}-${2 * min} ms.`,
    );
  } else if (spreadMs < Math.max(NARROW_TIMEOUT_RANGE_MS, min / 10)) {
    warnings.push(
      `The election timeout range ${min}-${max} ms is narrow: nodes often time out within a round trip of each other and split the ` +
        `vote, so elections repeat (Figure 16 in the Raft paper). A range of ${min}-${2 * min} ms avoids most split votes.`,
    );
  }
  if (roundTripMs !== undefined && config.checkQuorum && roundTripMs + config.heartbeatMs >= min) {
    warnings.push(
      `With check-quorum a leader must hear from a majority within ${min} ms, but a heartbeat and its reply take up to ` +
        `${Math.round(roundTripMs + config.heartbeatMs)} ms here: leaders will step down again and again. Lengthen the election timeout or turn check-quorum off.`,
    );
  }
  return warnings;
}
