/**
 * The Raft paper's Figure 16 (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", extended version, section 9.3) on the simulator: a five-server cluster, the leader
 * crashed at a uniformly random moment within its heartbeat interval (half the minimum election
 * timeout), the time until a new leader, for several election timeout ranges, 1,000 trials each;
 * pre-vote and check-quorum off, timeouts uniform over the range and no crash hints, as in the
 * paper. Its cluster's "broadcast time" of about 15 ms included the vote's fsync: the model here
 * is a 2.5 ± 1 ms one-way network and a 10 ms durable write (a second, faster-disk model is run
 * beside it). Servers boot at different moments, as machines do, so that even equal timeouts
 * elect a first leader. A trial is cut off past the end of the paper's chart.
 */
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import type { LinkSettings } from '../../shared/network/link-rules.js';
import { summarize, type Summary } from '../../shared/analysis/stats.js';
import { runFailoverTrial } from './failover.js';

export const FIGURE16_RANGES_MS: ReadonlyArray<readonly [number, number]> = [
  [150, 150],
  [150, 151],
  [150, 155],
  [150, 175],
  [150, 200],
  [150, 300],
  [12, 24],
];
/** A network and disk: what an election's messages and writes cost. */
export interface Figure16Model {
  name: string;
  link: LinkSettings;
  diskWriteMs: number;
}

export const FIGURE16_MODELS: readonly Figure16Model[] = [
  { name: 'broadcast ~15 ms (2.5 ms network, 10 ms fsync)', link: { latencyMs: 2.5, jitterMs: 1 }, diskWriteMs: 10 },
  { name: 'broadcast ~5 ms (0.5 ms network, 4 ms fsync)', link: { latencyMs: 0.5, jitterMs: 0.2 }, diskWriteMs: 4 },
];
export const FIGURE16_BOOT_SPREAD_MS = 100;
/** Where the paper's graph ends: a trial still without a leader after this long is off its chart. */
export const FIGURE16_CHART_LIMIT_MS = 10_000;

/** What the paper reports in its text for each range, where it says something. */
export const PAPER_SAYS: Record<string, string> = {
  '150-150': 'consistently longer than 10 s, due to many split votes',
  '150-155': 'median 287 ms',
  '150-200': 'worst of 1,000 trials 513 ms',
  '12-24': 'mean 35 ms, longest trial 152 ms',
};

export interface Figure16Row {
  model: string;
  range: readonly [number, number];
  heartbeatMs: number;
  trials: number;
  /** Trials still without a leader after 10 s (off the paper's chart). */
  offChart: number;
  /** Failover times of the others. */
  failoverMs: Summary;
  /** Candidacies per failover: more than one means the vote split. */
  candidacies: Summary;
  paperSays: string | null;
}

export function runFigure16(options: {
  trials: number;
  seed: number;
  model: Figure16Model;
  ranges?: ReadonlyArray<readonly [number, number]>;
  /** Called after each range, for progress. */
  onRow?: (row: Figure16Row) => void;
}): Figure16Row[] {
  return (options.ranges ?? FIGURE16_RANGES_MS).map((range) => {
    const [min, max] = range;
    const heartbeatMs = Math.max(1, Math.floor(min / 2));
    const config = { ...DEFAULT_ELECTION_CONFIG, heartbeatMs, electionTimeoutMinMs: min, electionTimeoutMaxMs: max, preVote: false, checkQuorum: false, rankedTimeouts: false };
    const finished = [];
    for (let trial = 0; trial < options.trials; trial++) {
      const result = runFailoverTrial(
        {
          algorithm: 'raft',
          nodes: 5,
          config,
          link: options.model.link,
          diskWriteMs: options.model.diskWriteMs,
          crashHints: false,
          bootSpreadMs: FIGURE16_BOOT_SPREAD_MS,
          limitMs: FIGURE16_CHART_LIMIT_MS,
          trials: options.trials,
          seed: options.seed,
        },
        (options.seed + trial) >>> 0,
      );
      if (result !== null) finished.push(result);
    }
    const row: Figure16Row = {
      model: options.model.name,
      range,
      heartbeatMs,
      trials: options.trials,
      offChart: options.trials - finished.length,
      failoverMs: summarize(finished.map((trial) => trial.failoverMs)),
      candidacies: summarize(finished.map((trial) => trial.candidacies)),
      paperSays: PAPER_SAYS[`${min}-${max}`] ?? null,
    };
    options.onRow?.(row);
    return row;
  });
}
