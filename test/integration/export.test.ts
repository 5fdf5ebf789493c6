/**
 * The recorded run as exported: a long run's export keeps only its latest events, so it carries
 * the state in force before the first of them (`initial`), and a replay of it starts from there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { RunAnalysis } from '../../shared/analysis/run.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { parseRun } from '../../shared/protocol/run-file.js';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import { startHub, type Hub } from '../../electron/hub/hub.js';
import type { Target } from '../../electron/targets/target.js';
import { EmbeddedTarget } from '../../electron/targets/embedded/embedded.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** The embedded runtime, keeping only its `kept` latest events as a long run would. */
async function hubKeeping(kept: number): Promise<{ hub: Hub; runtime: EmbeddedTarget }> {
  const runtime = new EmbeddedTarget({ algorithm: 'raft', nodes: 5, config: DEFAULT_ELECTION_CONFIG, seed: 11 });
  const target: Target = {
    snapshot: () => runtime.snapshot(),
    history: (limit) => runtime.history(limit).slice(-kept),
    execute: (command) => runtime.execute(command),
    inspect: (nodeId) => runtime.inspect(nodeId),
    timers: () => runtime.timers(),
    now: () => runtime.now(),
    subscribe: (listener) => runtime.subscribe(listener),
  };
  const hub = await startHub({ host: '127.0.0.1', port: 0, token: null, dashboardDir: null, target });
  runtime.start();
  stops.push(async () => {
    runtime.stop();
    await hub.close();
  });
  return { hub, runtime };
}

const until = async (what: string, check: () => boolean): Promise<void> => {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('exported runs', () => {
  it('carry the state before their first event when the oldest events are gone, and replay from it', async () => {
    const { hub, runtime } = await hubKeeping(12);
    await until('a leader', () => runtime.snapshot().leader !== null);
    const first = runtime.snapshot().leader!.id;
    expect(runtime.execute({ type: 'kill', nodeId: first })).toEqual({ ok: true });
    await until('another leader', () => (runtime.snapshot().leader?.id ?? first) !== first);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(runtime.execute({ type: 'clock', speed: 0 })).toEqual({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 100));

    const run = parseRun(await (await fetch(new URL('/export.jsonl', hub.url))).text());
    expect(run.events).toHaveLength(12);
    expect(run.events[0]!.seq).toBeGreaterThan(1);
    const initial = run.header.initial!;
    expect(initial.filter((body) => body.type === 'status').map((body) => 'nodeId' in body && body.nodeId)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(initial).toContainEqual({ type: 'kill', nodeId: first });

    const replayed = new RunAnalysis({ members: run.header.members, singleLeaderPerTerm: ALGORITHM_INFO.raft.singleLeaderPerTerm });
    const at = run.events[0]!;
    for (const body of initial) replayed.observe({ ...body, seq: 0, t: at.t, at: at.at } as ClusterEvent);
    for (const event of run.events) replayed.observe(event);
    const live = runtime.snapshot().nodes.map(({ id, status, role, term }) => ({ id, status, role, term }));
    expect(replayed.nodeViews().map(({ id, status, role, term }) => ({ id, status, role, term }))).toEqual(live);
  });

  it('a run whose every event is kept has no initial state', async () => {
    const { hub, runtime } = await hubKeeping(100_000);
    await until('a leader', () => runtime.snapshot().leader !== null);
    const run = parseRun(await (await fetch(new URL('/export.jsonl', hub.url))).text());
    expect(run.events[0]!.seq).toBe(1);
    expect(run.header.initial).toBeUndefined();
  });
});
