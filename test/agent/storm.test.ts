/**
 * The kill -9 storm: five real agents, random ones (the leader half the time) killed with SIGKILL
 * at random instants while elections happen, and restarted on their data directories. Over the
 * whole run, every durable state each node was seen to hold (its log's confirmed writes, what it
 * loaded at start, its file after each kill) must never show two votes in one term or a term that
 * went back, and every restart must boot with exactly what its file held.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom } from '../../shared/core/random.js';
import { STATE_FILE, decodeState } from '../../electron/agent/storage.js';
import {
  AgentProcess,
  agreedLeader,
  durableRecordsOf,
  durableViolations,
  makeCluster,
  sleep,
  startAgentProcess,
  stopAll,
  type DurableRecord,
  type TestCluster,
} from './support.js';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const SEED = Number(process.env.STORM_SEED ?? Date.now() % 1_000_000);
const KILLS = 30;
const STORM_MS_MAX = 30_000;
/** At most this many down at once: a majority stays, so that elections can finish between kills. */
const DOWN_MAX = 2;

let cluster: TestCluster;
/** Every process each node ran, in order. */
const runs = new Map<string, AgentProcess[]>();
/** What each node's file held after each kill: index i follows runs[i]. */
const filesAfterKill = new Map<string, Array<DurableRecord | null>>();

function start(id: string, extra: string[] = []): AgentProcess {
  const agent = startAgentProcess({ cluster, id, extra });
  runs.get(id)!.push(agent);
  return agent;
}

function current(id: string): AgentProcess {
  return runs.get(id)!.at(-1)!;
}

function readFileRecord(id: string, source: string): DurableRecord | null {
  const path = join(cluster.dataDir(id), STATE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const durable = decodeState(text, path, id, 'raft') as { term: number; votedFor: string | null };
  return { node: id, term: durable.term, votedFor: durable.votedFor, source };
}

/** The running node whose log last says it became leader (and not since that it stepped down), if any within `timeoutMs`. */
async function knownLeader(down: ReadonlySet<string>, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const leaders = IDS.filter((id) => !down.has(id)).filter((id) => {
      const last = current(id).logged(/^(became leader|now \w+)$/).at(-1);
      return last?.msg === 'became leader';
    });
    if (leaders.length > 0) return leaders.sort((a, b) => Number(current(b).logged('became leader').at(-1)!.term) - Number(current(a).logged('became leader').at(-1)!.term))[0];
    await sleep(20);
  }
  return undefined;
}

/** Each node's history in order: every run's log records, then its file after that run was killed. */
function history(): DurableRecord[] {
  const records: DurableRecord[] = [];
  for (const id of IDS) {
    const files = filesAfterKill.get(id)!;
    runs.get(id)!.forEach((run, index) => {
      records.push(...durableRecordsOf(run, index + 1));
      const file = files[index];
      if (file !== undefined && file !== null) records.push(file);
    });
  }
  return records;
}

beforeAll(async () => {
  cluster = await makeCluster({ ids: IDS, timing: { heartbeatMs: 30, electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300 } });
  for (const id of IDS) {
    runs.set(id, []);
    filesAfterKill.set(id, []);
    start(id);
  }
});

afterAll(async () => {
  await stopAll();
  cluster?.remove();
});

describe(`the kill -9 storm (seed ${SEED}, STORM_SEED=${SEED} replays the choices)`, () => {
  it('never leaves a node that voted twice in a term or whose term went back, and every restart keeps its term and vote', async () => {
    await agreedLeader(cluster.members, 20_000);
    const random = createRandom(SEED);
    const down = new Set<string>();
    const restarts: Array<Promise<void>> = [];
    let kills = 0;
    let leaderKills = 0;
    const began = Date.now();
    while (kills < KILLS && Date.now() - began < STORM_MS_MAX) {
      if (down.size >= DOWN_MAX) {
        await sleep(20);
        continue;
      }
      let victim: string;
      if (random.chance(0.5)) {
        // Kill a leader soon after its election: its followers' votes may still be on their way to disk.
        const leader = await knownLeader(down, 3_000);
        if (leader === undefined) continue;
        await sleep(random.int(0, 300));
        if (down.has(leader)) continue;
        victim = leader;
        leaderKills += 1;
      } else {
        await sleep(random.int(50, 500));
        const up = IDS.filter((id) => !down.has(id));
        victim = up[random.int(0, up.length - 1)]!;
      }
      kills += 1;
      down.add(victim);
      const run = current(victim);
      restarts.push(
        run.kill('SIGKILL').then(async () => {
          filesAfterKill.get(victim)![runs.get(victim)!.length - 1] = readFileRecord(victim, `file after kill ${runs.get(victim)!.length}`);
          await sleep(random.int(20, 400));
          start(victim);
          down.delete(victim);
        }),
      );
    }
    await Promise.all(restarts);
    await agreedLeader(cluster.members, 20_000);

    const records = history();
    const terms = new Set(records.map((record) => record.term));
    const context = `seed ${SEED}: ${kills} kills (${leaderKills} of the leader), ${terms.size} terms`;
    expect(kills, context).toBeGreaterThanOrEqual(15);
    expect(leaderKills, context).toBeGreaterThanOrEqual(5);
    expect(terms.size, context).toBeGreaterThanOrEqual(10);
    expect(durableViolations(records), context).toEqual([]);

    // Each restart booted with what the killed run's file held: the term and the vote intact. A
    // run killed before it started has nothing to compare; every run but the last ended by our SIGKILL.
    for (const id of IDS) {
      const files = filesAfterKill.get(id)!;
      const all = runs.get(id)!;
      for (const run of all.slice(0, -1)) expect(await run.exited, `${context}: ${id}:\n${run.describe()}`).toEqual({ code: null, signal: 'SIGKILL' });
      all.forEach((run, index) => {
        const started = run.logged('started')[0];
        if (index === 0 || started === undefined) return;
        const before = files[index - 1] ?? { term: 0, votedFor: null };
        expect({ node: id, run: index + 1, term: started.term, votedFor: started.votedFor }, context).toEqual({ node: id, run: index + 1, term: before.term, votedFor: before.votedFor });
      });
    }
  }, 150_000);

  it('the same check catches an agent restarted without its state (--reset-state): it can fail', async () => {
    const { leader } = await agreedLeader(cluster.members, 20_000);
    const run = current(leader);
    await run.kill('SIGKILL');
    filesAfterKill.get(leader)![runs.get(leader)!.length - 1] = readFileRecord(leader, 'file after the last kill');
    const reset = start(leader, ['--reset-state']);
    await reset.waitForLog('started');
    await agreedLeader(cluster.members, 20_000);
    expect(reset.logged('durable state discarded (--reset-state)')).toHaveLength(1);
    const violations = durableViolations(history());
    expect(violations.some((violation) => violation.startsWith(`${leader}: durable term went back from`))).toBe(true);
  });
});

describe('durableViolations', () => {
  const record = (term: number, votedFor: string | null, source: string): DurableRecord => ({ node: 'n1', term, votedFor, source });

  it('accepts a history where votes and terms only move forward', () => {
    expect(durableViolations([record(1, 'n1', 'a'), record(1, 'n1', 'b'), record(2, null, 'c'), record(2, 'n3', 'd'), record(5, null, 'e')])).toEqual([]);
  });

  it('names two votes in one term and a term that went back', () => {
    expect(durableViolations([record(3, 'n2', 'write 1'), record(3, 'n4', 'write 2'), record(2, null, 'boot 2')])).toEqual([
      'n1: voted for n2 (write 1) and n4 (write 2) in term 3',
      'n1: durable term went back from 3 (write 1) to 2 (boot 2)',
    ]);
  });
});
