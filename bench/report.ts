/** docs/benchmarks.md, rendered from whatever bench/results/*.json holds: each section with the context it was measured in. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ELECTION_TIMEOUT_MS, HEARTBEAT_MS, type FailoverResult, type FailoverRow } from './failover.js';
import type { Figure16Result } from './figure16.js';
import type { HubLatencyResult } from './hub.js';
import { ROOT, RESULTS_DIR, markdownTable, ms, ratio, type RunContext } from './lib.js';
import { MAX_EVENTS_KEPT } from '../electron/targets/model/model.js';
import type { IdleMemoryRow, ServeMemoryRow } from './memory.js';
import type { SimSpeedRow } from './sim-speed.js';

interface Stored<T> {
  context: RunContext;
  data: T;
}

function read<T>(section: string): Stored<T> | null {
  const file = join(RESULTS_DIR, `${section}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Stored<T>) : null;
}

/** Fewer samples than this: no p99 (it would be the maximum or next to it). */
const P99_MIN_SAMPLES = 100;
/** Fewer samples than this: a goal's ratio is shown, but no verdict. */
const VERDICT_MIN_SAMPLES = 20;

/** The p99 of `samples` values, or '–' when there are too few for one. */
function p99(value: number, samples: number, digits = 0): string {
  return samples >= P99_MIN_SAMPLES ? ms(value, digits) : '–';
}

function measured(context: RunContext): string {
  return `*Measured ${context.date.slice(0, 16).replace('T', ' ')} UTC on ${context.machine}, Node ${context.node}, commit ${context.commit}, with \`${context.command}\`.*`;
}

/** The issue's goals for failover after a crash, met or not, figure by figure. */
function goals(rows: FailoverRow[]): string {
  const lines: string[][] = [['nodes, pre-vote', 'Conclave', 'p50 / etcd (goal ≤ 0.85×)', 'p90 / etcd (goal ≤ 0.70×)', 'p50 with crash hints (goal < 30 ms)']];
  for (const row of rows) {
    if (row.fault !== 'kill' || !row.system.startsWith('Conclave') || row.system.endsWith('crash hints')) continue;
    const reference = rows.find((other) => other.fault === 'kill' && other.nodes === row.nodes && other.preVote === row.preVote && other.system.startsWith('etcd'));
    const hinted = rows.find((other) => other.fault === 'kill' && other.nodes === row.nodes && other.preVote === row.preVote && other.system === `${row.system}, crash hints`);
    const samples = Math.min(row.samples, reference?.samples ?? 0);
    const verdict = (value: number, met: boolean, text: string, n = samples): string =>
      !Number.isFinite(value) ? '–' : n < VERDICT_MIN_SAMPLES ? `${text} (too few samples to judge)` : `${text} ${met ? 'met' : 'not met'}`;
    const p50 = reference === undefined ? NaN : row.failoverMs.p50 / reference.failoverMs.p50;
    const p90 = reference === undefined ? NaN : row.failoverMs.p90 / reference.failoverMs.p90;
    lines.push([
      `${row.nodes}, ${row.preVote ? 'on' : 'off'}`,
      row.system.replace('Conclave ', ''),
      verdict(p50, p50 <= 0.85, `${p50.toFixed(2)}×`),
      verdict(p90, p90 <= 0.7, `${p90.toFixed(2)}×`),
      hinted === undefined ? '–' : verdict(hinted.failoverMs.p50, hinted.failoverMs.p50 < 30, `${ms(hinted.failoverMs.p50)} ms`, hinted.samples),
    ]);
  }
  const floorP50 = ELECTION_TIMEOUT_MS - HEARTBEAT_MS / 2;
  const floorP90 = ELECTION_TIMEOUT_MS - HEARTBEAT_MS / 10;
  return [
    '### The goals',
    '',
    markdownTable(lines),
    '',
    `What limits the figures without crash hints: a follower may start an election only once it has not heard from its leader for the minimum election timeout (${ELECTION_TIMEOUT_MS} ms); before that it still trusts the leader, and so do its peers, who refuse its pre-vote (Raft's timing rule: a leader that is merely slow or paused must not be deposed). The leader's last heartbeat left at a uniformly random moment of the ${HEARTBEAT_MS} ms before the crash, so even the first follower to time out does so ${ELECTION_TIMEOUT_MS - HEARTBEAT_MS}–${ELECTION_TIMEOUT_MS} ms after it: its median is ${floorP50} ms and its 90th percentile ${floorP90} ms, before the election itself (a pre-vote round, a vote round and two durable writes). Ranked timeouts bring Conclave to that floor, with one election per failover; a p50 of 0.85× etcd's is below it whenever etcd's p50 is under ${Math.ceil(floorP50 / 0.85)} ms, and a p90 of 0.70× etcd's whenever etcd's p90 is under ${Math.ceil(floorP90 / 0.7)} ms. etcd gets under the floor at times because it counts its timeout in whole ticks (one heartbeat interval) from the first tick after the last heartbeat, so it may start an election up to a tick before its nominal minimum: its fastest failovers in the tables below are under the ${ELECTION_TIMEOUT_MS - HEARTBEAT_MS} ms that the minimum allows. Conclave never starts before the minimum. Going faster without a crash signal would mean suspecting a leader before it has been silent for the minimum election timeout, which would depose leaders that are only slow. With the signal (the crashed process's connections close), a successor starts at once: that is what crash hints are for, and why a paused leader (no signal) is replaced no faster than by timeouts. With crash hints the embedded cluster meets the 30 ms goal; agent processes, which run the same core, take longer: every step of the election (the hint, the pre-vote, the vote, the first heartbeat, the status the observer polls) is a hop between processes, and on this machine two cores are shared by the processes of all five systems (all stay up; only the one under test is watched), while each member of the system under test also answers a status request every 3 ms.`,
  ].join('\n');
}

function ablation(rows: FailoverResult['ablation']): string {
  return [
    '### What each change does (simulator)',
    '',
    'The same failover on the deterministic simulator (0.1 ms network, 2 ms durable writes, pre-vote and check-quorum on), so that only the design changes between rows. Before these changes Conclave drew every election timeout uniformly over the range, as etcd and the Raft paper do. Leader changes also reach dashboards at once now, instead of waiting up to 50 ms for the next coalesced snapshot (see Dashboard latency).',
    '',
    markdownTable([
      ['nodes', 'design', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'candidacies (mean)', 'lease taken p50 ms', 'lease taken p90 ms'],
      ...rows.map((row) => [
        String(row.nodes),
        row.variant,
        ms(row.failoverMs.p50),
        ms(row.failoverMs.p90),
        p99(row.failoverMs.p99, row.failoverMs.count),
        ms(row.failoverMs.max),
        ms(row.candidacies, 2),
        row.leaseMs === undefined ? 'not measured' : ms(row.leaseMs.p50),
        row.leaseMs === undefined ? 'not measured' : ms(row.leaseMs.p90),
      ]),
    ]),
    '',
    'Lease taken: from the crash until the new leader holds the leader lease, the moment its /leader answers 200 and --on-elected may start. A new leader cannot take the lease before the old one has surely lapsed (one lease period after the old leader\'s last acknowledged heartbeat, plus the clock-drift margin): that wait is the price of never having two members answer 200 at once (docs/lease.md). Election figures are unchanged by the lease; only the second moment, when clients are told, comes later.',
  ].join('\n');
}

function failover(stored: Stored<FailoverResult>): string {
  const { rows, etcd } = stored.data;
  const groups = new Map<string, FailoverRow[]>();
  for (const row of rows) {
    const key = `${row.nodes} nodes, pre-vote ${row.preVote ? 'on' : 'off'}, leader ${row.fault === 'kill' ? 'killed (SIGKILL)' : `paused (SIGSTOP) for 2 s`}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const tables = [...groups].map(([title, group]) => {
    const reference = group.find((row) => row.system.startsWith('etcd'));
    return [
      `### ${title}`,
      '',
      markdownTable([
        ['system', 'n', 'min', 'p50', 'p90', 'p99', 'max', 'more than one election', 'p50 / etcd', 'p90 / etcd', 'lease taken p50 / p90'],
        ...group.map((row) => [
          row.system,
          `${row.samples}${row.failed > 0 ? ` (+${row.failed} none in 10 s)` : ''}`,
          ms(row.failoverMs.min),
          ms(row.failoverMs.p50),
          ms(row.failoverMs.p90),
          p99(row.failoverMs.p99, row.samples),
          ms(row.failoverMs.max),
          Number.isFinite(row.extraElectionShare) ? `${Math.round(100 * row.extraElectionShare)}%` : '–',
          reference === undefined || row === reference ? '–' : ratio(row.failoverMs.p50, reference.failoverMs.p50),
          reference === undefined || row === reference ? '–' : ratio(row.failoverMs.p90, reference.failoverMs.p90),
          row.leaseMs === undefined ? '–' : `${ms(row.leaseMs.p50)} / ${ms(row.leaseMs.p90)}`,
        ]),
      ]),
    ].join('\n');
  });
  return [
    '## Failover, side by side with etcd',
    '',
    measured(stored.context),
    '',
    `Heartbeat 50 ms, election timeout 250 ms in etcd's sense (each timeout drawn from [250, 500) ms; Conclave 250–499 ms with ranked timeouts), check-quorum on, on 127.0.0.1. Milliseconds from the fault to the first moment a majority follows a new leader, seen from outside: etcd and Conclave's agents by polling every member's status API every 3 ms, the embedded cluster through /control. The systems take turns round by round, in a new seeded order each round (seed ${stored.data.orderSeed ?? '–'}), so that none always runs right after another's fault. "More than one election" reads every member's term again four heartbeats after the new leader is seen (etcd reports the term of its last applied entry, which lags an election). "Crash hints": peers act on the crashed process's closed connections; without them Conclave detects the failure by timeouts alone, as etcd does. "Lease taken": from the fault until another agent holds the leader lease (its /status says so; its /leader answers 200), measured on the agents, which report it; the election figures are unchanged by the lease, which only moves the moment clients are told (docs/lease.md).`,
    ...(etcd === null ? [] : ['', `*${etcd}.*`]),
    '',
    goals(rows),
    '',
    ablation(stored.data.ablation),
    '',
    ...tables.flatMap((table) => [table, '']),
  ].join('\n');
}

function figure16(stored: Stored<Figure16Result>): string {
  const { data } = stored;
  return [
    "## The Raft paper's Figure 16",
    '',
    measured(stored.context),
    '',
    `Five servers, heartbeat half the minimum election timeout, the leader crashed at a uniformly random moment of its heartbeat interval, ${data.trials} trials per range; pre-vote, check-quorum, ranked timeouts and crash hints off, as in the paper (\`npm run sim -- figure16\`). "Off chart" counts trials still without a leader after 10 s, where the paper's chart ends.`,
    '',
    markdownTable([
      ['network and disk', 'timeouts (ms)', 'off chart', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'candidacies (mean)', 'the paper says'],
      ...data.rows.map((row) => [
        row.model,
        row.range.join('–'),
        `${row.offChart}/${row.trials}`,
        ms(row.failoverMs.p50),
        ms(row.failoverMs.p90),
        p99(row.failoverMs.p99, row.failoverMs.count),
        ms(row.failoverMs.max),
        ms(row.candidacies.mean, 2),
        row.paperSays ?? '',
      ]),
    ]),
    '',
    'Why the figures differ from the paper\'s:',
    '',
    "- Equal timeouts never settle here either: the followers of a crashed leader heard its last heartbeat within a network delay of each other, time out together, vote for themselves, and do it again. The paper saw the same (more than 10 s).",
    "- The split-vote window is the time from a candidate's timeout until the others hear its request: a candidate writes its vote durably *before* its requests leave. With a 10 ms write that window (about 12.5 ms) is wider than 5 ms of randomness, so 150–155 ms splits for seconds where the paper's cluster needed one more round; with the faster disk the simulator comes close to the paper's 287 ms median. The paper's 12–24 ms result (35 ms on average) likewise implies elections that finish in about a round trip and a fast write: with 15 ms per broadcast, every election outlasts a 24 ms timeout.",
    '- Every failover here is timed to the moment a majority follows the new leader (a heartbeat after the election), which the paper\'s "time to elect a leader" stops short of.',
  ].join('\n');
}

function simSpeed(stored: Stored<SimSpeedRow[]>): string {
  const baseline = stored.data.find((row) => row.nodes === 5 && row.refused === null);
  return [
    '## Simulator speed and memory',
    '',
    measured(stored.context),
    '',
    'Raft under the CI fault profile (every kind of fault, crashes inside writes, false crash hints), 2 ms writes. The baseline is the 5-node cluster; the heap is what a run holds after a collection, above what the process held before the first run.',
    '',
    markdownTable([
      ['nodes', 'seeds', 'simulated s per seed', 'simulated s per wall s', 'speed / 5 nodes', 'messages per wall s', 'heap held by a run (MiB)'],
      ...stored.data.map((row) =>
        row.refused !== null
          ? [String(row.nodes), '–', '–', '–', '–', '–', row.refused]
          : [String(row.nodes), String(row.seeds), String(row.simulatedSPerSeed), ms(row.speed), ratio(row.speed, baseline?.speed ?? NaN), ms(row.messagesPerWallS), ms(row.heapMiB, 1)],
      ),
    ]),
  ].join('\n');
}

function hub(stored: Stored<HubLatencyResult>): string {
  const { data } = stored;
  const baseline = data.refusedCommandMs as HubLatencyResult['refusedCommandMs'] | undefined;
  // Only a command's round trip compares with the baseline's; a leader change's delivery is one way.
  const row = (name: string, summary: HubLatencyResult['commandAckMs'], command = false) => [
    name,
    String(summary.count),
    ms(summary.p50, 1),
    p99(summary.p99, summary.count, 1),
    ms(summary.max, 1),
    baseline === undefined || !command ? '–' : ratio(summary.p50, baseline.p50),
  ];
  return [
    '## Dashboard latency',
    '',
    measured(stored.context),
    '',
    `\`conclave serve\` with 5 embedded nodes and one /control client on the same machine, ${data.rounds} rounds. The baseline is a command the hub refuses at once (pause an unknown node): one round trip over the socket and nothing else.`,
    '',
    markdownTable([
      ['what', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'p50 / baseline'],
      ...(baseline === undefined ? [] : [row('baseline: a refused command sent → answered', baseline)]),
      row('leader change: hub records it → client receives the event', data.leaderEventDeliveryMs),
      row('leader change: hub records it → client receives a snapshot showing it', data.leaderSnapshotDelayMs),
      row('command sent → acknowledged', data.commandAckMs, true),
      row('command sent → first snapshot reflecting it', data.commandSnapshotMs, true),
    ]),
    '',
    'A leader change is not held back by the 50 ms snapshot coalescing: the snapshot that shows it leaves at once.',
  ].join('\n');
}

function memory(stored: Stored<{ serve: ServeMemoryRow[]; idle: IdleMemoryRow[] }>): string {
  const plain = stored.data.idle.find((row) => row.system.startsWith('plain Node'));
  const etcdMember = stored.data.idle.find((row) => row.system.startsWith('etcd'));
  return [
    '## Memory of `conclave serve`',
    '',
    measured(stored.context),
    '',
    `Resident memory of the serve process while its leader is killed every 2 s and restarted a second later, one dashboard client attached. The hub keeps the run's last ${MAX_EVENTS_KEPT.toLocaleString('en-US')} events for the clients that connect later, so what it holds grows until that many are kept; a larger cluster records more events per kill and gets there sooner.`,
    '',
    markdownTable([
      ['nodes', 'churn (s)', 'kills', 'RSS at start (MiB)', 'RSS at the end (MiB)', 'RSS max (MiB)', 'end / start'],
      ...stored.data.serve.map((row) =>
        row.refused !== null
          ? [String(row.nodes), '–', '–', '–', '–', '–', row.refused]
          : [String(row.nodes), String(row.churnS), String(row.kills), ms(row.rssStartMiB), ms(row.rssEndMiB), ms(row.rssMaxMiB), ratio(row.rssEndMiB, row.rssStartMiB)],
      ),
    ]),
    '',
    'One node as its own process, idle in a 3-node cluster (heartbeat 50 ms):',
    '',
    markdownTable([
      ['process', 'measured', 'RSS per process (MiB)', '/ plain Node', '/ etcd member'],
      ...stored.data.idle.map((row) => [
        row.system,
        String(row.processes),
        ms(row.rssMiB),
        plain === undefined || row === plain ? '–' : ratio(row.rssMiB, plain.rssMiB),
        etcdMember === undefined || row === etcdMember || row === plain ? '–' : ratio(row.rssMiB, etcdMember.rssMiB),
      ]),
    ]),
  ].join('\n');
}

export function writeReport(): string {
  const sections: string[] = [
    '# Benchmarks\n\nWritten by `npm run bench` from `bench/results/*.json`; rerun it (or one section, `npm run bench -- --only hub`) to refresh. Figures are measurements of one machine at one time, with the context under each heading.',
  ];
  const failovers = read<FailoverResult>('failover');
  const figure = read<Figure16Result>('figure16');
  const sim = read<SimSpeedRow[]>('sim');
  const latency = read<HubLatencyResult>('hub');
  const rss = read<{ serve: ServeMemoryRow[]; idle: IdleMemoryRow[] }>('memory');
  if (failovers !== null) sections.push(failover(failovers));
  if (figure !== null) sections.push(figure16(figure));
  if (sim !== null) sections.push(simSpeed(sim));
  if (latency !== null) sections.push(hub(latency));
  if (rss !== null) sections.push(memory(rss));
  const file = join(ROOT, 'docs', 'benchmarks.md');
  writeFileSync(file, `${sections.join('\n\n')}\n`);
  return file;
}
