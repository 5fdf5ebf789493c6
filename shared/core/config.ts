import { DEFAULT_ELECTION_CONFIG, type ElectionConfig } from './election.js';
import { ValidationError, expectBoolean, expectInteger, expectObject } from '../protocol/validate.js';

export const TIMING_LIMIT_MS = 60_000;

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
  for (const key of ['preVote', 'checkQuorum'] as const) {
    if (input[key] !== undefined) config[key] = expectBoolean(input[key], `${path}.${key}`);
  }
  return config;
}
