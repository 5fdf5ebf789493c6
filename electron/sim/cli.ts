/**
 * `conclave sim`: run seeds of the deterministic simulator and print a summary table, replay
 * one seed with its trace, or measure failover latency (`sim failover`).
 */
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, type AlgorithmName, type ElectionConfig } from '../../shared/core/election.js';
import { configWarnings, parseElectionConfig } from '../../shared/core/config.js';
import { summarize } from '../../shared/analysis/stats.js';
import { MAX_PRIORITY } from '../../shared/core/leadership.js';
import { parsePreferredLeaderRule } from '../../shared/protocol/leadership.js';
import { ValidationError } from '../../shared/protocol/validate.js';
import { UsageError, integerFlag, readFlags, stringFlag } from '../base/flags.js';
import { DEFAULT_NODE_COUNT, MAX_NODES } from '../targets/embedded/cluster.js';
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { runFailover } from './failover.js';
import { FIGURE16_MODELS, runFigure16, type Figure16Row } from './figure16.js';
import { DEFAULT_FAULTS, FAULT_KINDS, LEADERSHIP_FAULTS, type FaultKind, type FaultProfile } from './faults.js';
import { MUTATIONS, SIMULATED_RULE, type Mutation } from './mutations.js';
import { DEFAULT_DISK_WRITE_MS, describeFailure, runSimulation, violationOf, type SimulationOptions, type SimulationResult } from './simulator.js';

export const SIM_USAGE = `Usage:
  conclave sim [--algorithm raft|bully|paxos|all] [--nodes ${DEFAULT_NODE_COUNT}] [--seeds 100] [--from 1] [--duration-s 180]
               [--faults ${FAULT_KINDS.join(',')}|all|none] [priority flags] [timing flags] [--json]
      runs seeds and prints a summary table; exits 1 if any seed fails (the default faults leave
      out priority and capability; all includes them)
  conclave sim --algorithm raft --seed N [--trace] [same flags]
      replays one seed exactly; --trace prints every event
  conclave sim --mutation NAME [--seeds 100 | --seed N] [--duration-s 60]
      runs a deliberately broken variant (the checkers must catch it): ${MUTATIONS.map((m) => m.name).join(', ')}
  conclave sim failover [--algorithm raft] [--nodes 5] [--trials 1000] [--seed 1] [--crash-hints true|false] [timing flags] [--json]
      crashes the leader at a random moment of its heartbeat interval, many times, and reports
      the time until a new leader is followed by a majority (min/p50/p90/p99/max); with crash
      hints (the default) its peers learn of the crash as real processes' peers do
  conclave sim figure16 [--trials 1000] [--seed 1] [--json]
      the Raft paper's Figure 16: failover time against the election timeout range, next to the
      paper's own figures (progress on stderr)

Timing flags: --timeout-ms 150-300  --heartbeat-ms 50  --latency-ms 2  --jitter-ms 1  --disk-ms ${DEFAULT_DISK_WRITE_MS}
              --pre-vote true|false  --check-quorum true|false  --ranked-timeouts true|false
--disk-ms is how long a durable write takes; the nemesis crashes nodes in the middle of writes.
Priority flags: --priorities random|n1=3,n2=0 (default: all 1)  --takeover-ms N (default: 3 maximal timeouts)
              --preferred-leader CAPABILITY[:lowest|highest[:MARGIN[:STABLE_MS]]] (loadavg: lowest, margin
              ${SIMULATED_RULE.margin}, stable ${SIMULATED_RULE.stableMs} ms, the load the capability fault moves)`;

const COMMON_FLAGS = {
  algorithm: 'string',
  nodes: 'integer',
  seed: 'integer',
  'timeout-ms': 'string',
  'heartbeat-ms': 'integer',
  'latency-ms': 'string',
  'jitter-ms': 'string',
  'disk-ms': 'string',
  'pre-vote': 'string',
  'ranked-timeouts': 'string',
  'check-quorum': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

type Flags = Map<string, string | true>;

function numberFlag(flags: Flags, name: string, fallback: number, min: number, max: number): number {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) throw new UsageError(`--${name} must be a number from ${min} to ${max} (got "${raw}")`);
  return value;
}

function booleanFlag(flags: Flags, name: string, fallback: boolean): boolean {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return fallback;
  if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name} must be true or false (got "${raw}")`);
  return raw === 'true';
}

/** Settings that are valid but behave badly are said on stderr, so that --json output stays clean. */
function warnAbout(config: ElectionConfig, link: { latencyMs: number; jitterMs: number }): void {
  for (const warning of configWarnings(config, 2 * (link.latencyMs + link.jitterMs))) console.error(`warning: ${warning}`);
}

function timing(flags: Flags): { config: ElectionConfig; link: { latencyMs: number; jitterMs: number }; diskWriteMs: number } {
  const range = stringFlag(flags, 'timeout-ms');
  let min = DEFAULT_ELECTION_CONFIG.electionTimeoutMinMs;
  let max = DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs;
  if (range !== undefined) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (!match) throw new UsageError(`--timeout-ms must be like 150-300 or 200 (got "${range}")`);
    min = Number(match[1]);
    max = Number(match[2] ?? match[1]);
  }
  try {
    const config = parseElectionConfig({
      heartbeatMs: integerFlag(flags, 'heartbeat-ms', DEFAULT_ELECTION_CONFIG.heartbeatMs, 1, 60_000),
      electionTimeoutMinMs: min,
      electionTimeoutMaxMs: max,
      preVote: booleanFlag(flags, 'pre-vote', DEFAULT_ELECTION_CONFIG.preVote),
      checkQuorum: booleanFlag(flags, 'check-quorum', DEFAULT_ELECTION_CONFIG.checkQuorum),
      rankedTimeouts: booleanFlag(flags, 'ranked-timeouts', DEFAULT_ELECTION_CONFIG.rankedTimeouts),
    }, 'timing');
    return {
      config,
      link: { latencyMs: numberFlag(flags, 'latency-ms', 2, 0, 10_000), jitterMs: numberFlag(flags, 'jitter-ms', 1, 0, 10_000) },
      diskWriteMs: numberFlag(flags, 'disk-ms', DEFAULT_DISK_WRITE_MS, 0, 10_000),
    };
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.message.replace(/^timing: /, ''));
    throw error;
  }
}

function mutationOf(flags: Flags): Mutation | null {
  const name = stringFlag(flags, 'mutation');
  if (name === undefined) return null;
  const mutation = MUTATIONS.find((candidate) => candidate.name === name);
  if (mutation === undefined) throw new UsageError(`--mutation must be one of ${MUTATIONS.map((m) => m.name).join(', ')} (got "${name}")`);
  for (const flag of ['algorithm', 'timeout-ms', 'heartbeat-ms', 'pre-vote', 'check-quorum']) {
    if (flags.has(flag)) throw new UsageError(`--mutation sets the algorithm and its settings; leave out --${flag}`);
  }
  return mutation;
}

function algorithms(flags: Flags, allowAll: boolean): AlgorithmName[] {
  const raw = stringFlag(flags, 'algorithm') ?? (allowAll ? 'all' : 'raft');
  if (allowAll && raw === 'all') return [...ALGORITHMS];
  if (!(ALGORITHMS as readonly string[]).includes(raw)) {
    throw new UsageError(`--algorithm must be one of ${ALGORITHMS.join(', ')}${allowAll ? ', all' : ''} (got "${raw}")`);
  }
  return [raw as AlgorithmName];
}

function faultProfile(flags: Flags): FaultProfile | null {
  const raw = stringFlag(flags, 'faults');
  if (raw === undefined) return DEFAULT_FAULTS;
  if (raw === 'none') return null;
  if (raw === 'all') return LEADERSHIP_FAULTS;
  const kinds = raw.split(',');
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--faults takes a comma-separated list of ${FAULT_KINDS.join(', ')}, or all, or none (got "${kind}")`);
  }
  return { ...DEFAULT_FAULTS, kinds: kinds as FaultKind[] };
}

/** --priorities, --takeover-ms and --preferred-leader, as simulation options. */
function leadershipOptions(flags: Flags): Pick<SimulationOptions, 'priorities' | 'takeoverAfterMs' | 'preferredLeader'> {
  const options: Pick<SimulationOptions, 'priorities' | 'takeoverAfterMs' | 'preferredLeader'> = {};
  const priorities = stringFlag(flags, 'priorities');
  if (priorities === 'random') options.priorities = 'random';
  else if (priorities !== undefined) {
    options.priorities = Object.fromEntries(
      priorities.split(',').map((entry) => {
        const match = /^(n\d{1,2})=(\d{1,4})$/.exec(entry);
        if (match === null || Number(match[2]) > MAX_PRIORITY) throw new UsageError(`--priorities takes random or a list like n1=3,n2=0 (0 to ${MAX_PRIORITY}; got "${entry}")`);
        return [match[1]!, Number(match[2])];
      }),
    );
  }
  if (flags.has('takeover-ms')) options.takeoverAfterMs = integerFlag(flags, 'takeover-ms', 0, 1, 3_600_000);
  const rule = stringFlag(flags, 'preferred-leader');
  if (rule !== undefined) {
    const [capability, prefer = SIMULATED_RULE.prefer, margin = String(SIMULATED_RULE.margin), stableMs = String(SIMULATED_RULE.stableMs)] = rule.split(':');
    try {
      options.preferredLeader = parsePreferredLeaderRule({ capability, prefer, margin: Number(margin), stableMs: Number(stableMs) }, '--preferred-leader');
    } catch (error) {
      if (error instanceof ValidationError) throw new UsageError(`${error.message} (the flag is CAPABILITY[:lowest|highest[:MARGIN[:STABLE_MS]]])`);
      throw error;
    }
  }
  return options;
}

function format(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
}

function seedsCommand(flags: Flags, write: (line: string) => void): number {
  const nodes = integerFlag(flags, 'nodes', DEFAULT_NODE_COUNT, 1, MAX_NODES);
  const durationMs = integerFlag(flags, 'duration-s', 180, 1, 86_400) * 1_000;
  const mutation = mutationOf(flags);
  const timed = timing(flags);
  const { link, diskWriteMs } = timed;
  const config = mutation?.config ?? timed.config;
  const leadership = leadershipOptions(flags);
  warnAbout(config, link);
  const faults = faultProfile(flags);
  const single = flags.has('seed') ? integerFlag(flags, 'seed', 1, 0, 2 ** 32 - 1) : null;
  const from = integerFlag(flags, 'from', 1, 0, 2 ** 32 - 1);
  const count = single === null ? integerFlag(flags, 'seeds', 100, 1, 1_000_000) : 1;
  const chosen = mutation === null ? algorithms(flags, single === null) : [mutation.algorithm];
  const json = flags.has('json');
  const replay = (algorithm: AlgorithmName, seed: number): string =>
    `npm run sim -- ${mutation === null ? `--algorithm ${algorithm}` : `--mutation ${mutation.name}`} --seed ${seed} --nodes ${nodes} --duration-s ${durationMs / 1000}` +
    (flags.has('faults') ? ` --faults ${stringFlag(flags, 'faults')}` : '') +
    ['timeout-ms', 'heartbeat-ms', 'latency-ms', 'jitter-ms', 'disk-ms', 'pre-vote', 'check-quorum', 'ranked-timeouts', 'priorities', 'takeover-ms', 'preferred-leader']
      .filter((name) => flags.has(name))
      .map((name) => ` --${name} ${stringFlag(flags, name)}`)
      .join('');

  let failures = 0;
  const rows: string[][] = [['algorithm', 'seeds', 'passed', 'failed', 'elections', 'faults', 'recovery p50 ms', 'recovery p99 ms', 'worst ms', 'split-brain s']];
  const summaries: unknown[] = [];
  for (const algorithm of chosen) {
    const results: SimulationResult[] = [];
    for (let seed = single ?? from; seed < (single ?? from) + count; seed++) {
      const options: SimulationOptions = {
        algorithm,
        nodes,
        seed,
        durationMs,
        config,
        link,
        diskWriteMs,
        faults,
        keepTrace: single !== null && flags.has('trace'),
        ...leadership,
        ...(mutation === null ? {} : { variant: mutation.variant, ...mutation.simulation }),
      };
      const result = runSimulation(options);
      results.push(result);
      if (violationOf(result) !== null) {
        failures += 1;
        if (!json) write(describeFailure(result, replay(algorithm, seed)));
      }
    }
    const failed = results.filter((result) => violationOf(result) !== null);
    const worst = summarize(results.map((result) => result.worstRecoveryMs));
    const splitBrainS = results.reduce((sum, result) => sum + result.concurrentLeadersMs, 0) / 1_000;
    const kinds = [...new Set(failed.flatMap((result) => [result.safety?.kind, result.liveness?.kind]).filter((kind) => kind !== undefined))].join(',');
    rows.push([
      algorithm,
      String(results.length),
      String(results.length - failed.length),
      failed.length === 0 ? '0' : `${failed.length} (${kinds})`,
      String(results.reduce((sum, result) => sum + result.elections, 0)),
      String(results.reduce((sum, result) => sum + result.faults, 0)),
      format(worst.p50),
      format(worst.p99),
      format(worst.max),
      format(splitBrainS, 1),
    ]);
    summaries.push({ algorithm, nodes, durationMs, seeds: results.length, failed: failed.map((r) => ({ seed: r.seed, safety: r.safety, liveness: r.liveness })), worstRecoveryMs: worst, splitBrainS });
    if (single !== null && !json) {
      const result = results[0]!;
      if (flags.has('trace')) for (const line of result.trace) write(line);
      write(
        `${algorithm} seed ${single}: ${violationOf(result) === null ? 'passed' : 'FAILED'}; ${result.elections} elections, ${result.faults} fault events, ${result.messages} messages; trace hash ${result.traceHash}`,
      );
    }
  }
  if (json) write(JSON.stringify(single === null ? summaries : summaries[0], null, 2));
  else if (single === null) {
    write(`${count} seeds from ${from}, ${nodes} nodes, ${durationMs / 1000} simulated s each, faults: ${faults === null ? 'none' : faults.kinds.join(', ')}`);
    write(table(rows));
    if (chosen.includes('bully')) write('Bully has no quorum: a coordinator per side of a partition (split brain) is its expected behaviour, not a pass.');
  }
  return failures === 0 ? 0 : 1;
}

function failoverCommand(flags: Flags, write: (line: string) => void): number {
  const [algorithm] = algorithms(flags, false);
  const { config, link, diskWriteMs } = timing(flags);
  warnAbout(config, link);
  const report = runFailover({
    algorithm: algorithm!,
    diskWriteMs,
    crashHints: booleanFlag(flags, 'crash-hints', true),
    nodes: integerFlag(flags, 'nodes', DEFAULT_NODE_COUNT, 2, MAX_NODES),
    config,
    link,
    trials: integerFlag(flags, 'trials', 1000, 1, 1_000_000),
    seed: integerFlag(flags, 'seed', 1, 0, 2 ** 32 - 1),
  });
  if (flags.has('json')) {
    const { trials: _trials, ...rest } = report;
    write(JSON.stringify(rest, null, 2));
    return report.failed === 0 ? 0 : 1;
  }
  const { options, failoverMs: ms, leaseMs: lease, messages, elections } = report;
  write(
    `failover: ${options.algorithm}, ${options.nodes} nodes, election timeout ${config.electionTimeoutMinMs}-${config.electionTimeoutMaxMs} ms, ` +
      `heartbeat ${config.heartbeatMs} ms, latency ${link.latencyMs}±${link.jitterMs} ms, ${options.trials} trials from seed ${options.seed}`,
  );
  write(
    table([
      ['', 'min', 'p50', 'p90', 'p99', 'max', 'mean'],
      ['failover ms', ...[ms.min, ms.p50, ms.p90, ms.p99, ms.max, ms.mean].map((v) => format(v, 1))],
      ...(lease.count === 0 ? [] : [['lease taken ms', ...[lease.min, lease.p50, lease.p90, lease.p99, lease.max, lease.mean].map((v) => format(v, 1))]]),
      ['messages', ...[messages.min, messages.p50, messages.p90, messages.p99, messages.max, messages.mean].map((v) => format(v, 1))],
      ['elections', ...[elections.min, elections.p50, elections.p90, elections.p99, elections.max, elections.mean].map((v) => format(v, 2))],
    ]),
  );
  if (lease.count === 0) write(`${options.algorithm} takes no leader lease: ${String(ALGORITHM_INFO[options.algorithm].leaderLease)}`);
  else write('lease taken: from the crash until the new leader holds the leader lease and answers 200 on /leader (it waits out the old lease)');
  if (report.failed > 0) write(`${report.failed} trials elected no new leader within 60 simulated seconds`);
  return report.failed === 0 ? 0 : 1;
}

/** The Raft paper's Figure 16, next to what the paper says. */
function figure16Command(flags: Flags, write: (line: string) => void): number {
  const trials = integerFlag(flags, 'trials', 1000, 1, 100_000);
  const seed = integerFlag(flags, 'seed', 1, 0, 2 ** 32 - 1);
  const rows: Figure16Row[] = [];
  for (const model of FIGURE16_MODELS) {
    runFigure16({ trials, seed, model, onRow: (row) => {
      rows.push(row);
      if (!flags.has('json')) console.error(`figure 16: ${model.name}, ${row.range.join('-')} ms done`);
    } });
  }
  if (flags.has('json')) {
    write(JSON.stringify(rows, null, 2));
    return 0;
  }
  write(`The Raft paper's Figure 16 on the simulator: 5 servers, heartbeat half the minimum timeout, leader crashed at a random moment, ${trials} trials per range`);
  write(
    table([
      ['model', 'timeouts ms', 'off chart (>10 s)', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean candidacies', 'the paper says'],
      ...rows.map((row) => [
        row.model,
        row.range.join('-'),
        `${row.offChart}/${row.trials}`,
        format(row.failoverMs.p50),
        format(row.failoverMs.p90),
        format(row.failoverMs.p99),
        format(row.failoverMs.max),
        format(row.candidacies.mean, 2),
        row.paperSays ?? '',
      ]),
    ]),
  );
  return 0;
}

export function simCommand(argv: readonly string[], write: (line: string) => void = console.log): number {
  if (argv[0] === 'figure16') {
    const flags = readFlags(argv.slice(1), { trials: 'integer', seed: 'integer', json: 'boolean', help: 'boolean' });
    if (flags.has('help')) {
      write(SIM_USAGE);
      return 0;
    }
    return figure16Command(flags, write);
  }
  const failover = argv[0] === 'failover';
  const flags = readFlags(
    failover ? argv.slice(1) : argv,
    failover
      ? { ...COMMON_FLAGS, trials: 'integer', 'crash-hints': 'string' }
      : {
          ...COMMON_FLAGS,
          seeds: 'integer',
          from: 'integer',
          'duration-s': 'integer',
          faults: 'string',
          trace: 'boolean',
          mutation: 'string',
          priorities: 'string',
          'takeover-ms': 'integer',
          'preferred-leader': 'string',
        },
  );
  if (flags.has('help')) {
    write(SIM_USAGE);
    return 0;
  }
  return failover ? failoverCommand(flags, write) : seedsCommand(flags, write);
}
