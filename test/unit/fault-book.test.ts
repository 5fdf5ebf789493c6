/**
 * The fault book: the live model (what the dashboard lists and heals) and the run's analysis of
 * the same events (the timeline's windows, a replay, an imported file) name the same faults.
 */
import { describe, expect, it } from 'vitest';
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { FaultBook, linksNamed } from '../../shared/analysis/fault-book.js';
import { RunAnalysis } from '../../shared/analysis/run.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { HEALTHY_LINK } from '../../shared/protocol/faults.js';
import type { ActiveFault, ClusterCommand, ClusterEvent, ClusterEventBody, NodeRunState } from '../../shared/protocol/types.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { Cluster } from '../../electron/targets/embedded/cluster.js';
import { ClusterModel } from '../../electron/targets/model/model.js';

function cluster() {
  const clock = new VirtualClock();
  const instance = new Cluster({ algorithm: 'raft', nodeCount: 5, config: DEFAULT_ELECTION_CONFIG, seed: 9, clock });
  instance.start();
  clock.runUntil(2_000);
  return { clock, cluster: instance };
}

/** The run's analysis of every event the cluster recorded so far. */
function analysisOf(c: Cluster): RunAnalysis {
  const analysis = new RunAnalysis({ members: c.members, singleLeaderPerTerm: ALGORITHM_INFO.raft.singleLeaderPerTerm });
  for (const event of c.history()) analysis.observe(event);
  return analysis;
}

const byId = (faults: ActiveFault[]): ActiveFault[] => [...faults].sort((a, b) => (a.id < b.id ? -1 : 1));

/** Runs each command and checks, after each, that the analysis lists exactly the faults the cluster does. */
function expectAgreement(c: Cluster, clock: VirtualClock, commands: ClusterCommand[]): void {
  for (const command of commands) {
    expect(c.execute(command), JSON.stringify(command)).toEqual({ ok: true });
    clock.runUntil(clock.now() + 100);
    expect(byId(analysisOf(c).activeFaults()), `after ${JSON.stringify(command)}`).toEqual(byId(c.snapshot().faults));
  }
}

describe('the model and the run analysis agree on faults', () => {
  it('the all-links fault is one fault, `link:*`, and healing it by id closes its window', () => {
    const { clock, cluster: c } = cluster();
    expectAgreement(c, clock, [{ type: 'link', dropProbability: 0.1 }]);
    expect(c.snapshot().faults.map((fault) => fault.id)).toEqual(['link:*']);
    expectAgreement(c, clock, [{ type: 'heal', faultId: 'link:*' }]);
    const windows = analysisOf(c).faults.filter((fault) => fault.kind === 'link');
    expect(windows.map((window) => [window.id, window.end !== null])).toEqual([['link:*', true]]);
  });

  it('a link command naming only one end is a fault on each of its links, healed one by one', () => {
    const { clock, cluster: c } = cluster();
    expectAgreement(c, clock, [{ type: 'link', from: 'n1', cut: true }]);
    expect(c.snapshot().faults.map((fault) => fault.id)).toEqual(['link:n1->n2', 'link:n1->n3', 'link:n1->n4', 'link:n1->n5']);
    expectAgreement(c, clock, [
      { type: 'heal', faultId: 'link:n1->n3' },
      { type: 'link', to: 'n2', latencyMs: 50 },
      { type: 'link', from: 'n1' },
      { type: 'link', to: 'n2' },
    ]);
    expect(c.snapshot().faults).toEqual([]);
  });

  it('kills, pauses, partitions and heals: the same faults at every step', () => {
    const { clock, cluster: c } = cluster();
    expectAgreement(c, clock, [
      { type: 'pause', nodeId: 'n2' },
      { type: 'kill', nodeId: 'n2' },
      { type: 'partition', groups: [['n3']] },
      { type: 'link', from: 'n4', to: 'n5', cut: true },
      { type: 'partition', preset: 'halves' },
      { type: 'heal', faultId: 'partition' },
      { type: 'kill', nodeId: 'n1' },
      { type: 'link', dropProbability: 0.2 },
      { type: 'heal' },
    ]);
    expect(c.snapshot().faults).toEqual([]);
  });

  it('network faults dropped by the runtime leave a down node down in the analysis too', () => {
    const run = new Map(['a1', 'a2', 'a3'].map((id) => [id, 'up' as NodeRunState]));
    const model = new ClusterModel(
      {
        algorithm: 'raft',
        config: DEFAULT_ELECTION_CONFIG,
        members: [...run.keys()],
        clock: new VirtualClock(),
        random: createRandom(1),
        target: { kind: 'attached', label: 'agents', unavailable: {}, faultLeaseMs: 10_000 },
      },
      {
        run: (id) => run.get(id)!,
        status: (id) => (run.get(id) === 'down' ? null : { role: 'follower', term: 1, votedFor: null, leaderId: null }),
        kill: (id) => run.set(id, 'down'),
        start: (id) => run.set(id, 'up'),
        pause: (id) => run.set(id, 'paused'),
        resume: (id) => run.set(id, 'up'),
        transfer: () => ({ ok: true }),
      },
    );
    expect(model.execute({ type: 'kill', nodeId: 'a1' })).toEqual({ ok: true });
    expect(model.execute({ type: 'link', from: 'a2', to: 'a3', cut: true })).toEqual({ ok: true });
    model.dropNetworkFaults('the agents no longer enforce them');
    expect(model.snapshot().faults.map((fault) => fault.id)).toEqual(['down:a1']);
    const analysis = new RunAnalysis({ members: model.members, singleLeaderPerTerm: true });
    for (const event of model.history()) analysis.observe(event);
    expect(analysis.activeFaults()).toEqual(model.snapshot().faults);
  });
});

describe('the fault book', () => {
  const CUT = { ...HEALTHY_LINK, cut: true };
  const LOSS = { ...HEALTHY_LINK, dropProbability: 0.5 };

  /** A book fed these events at t = 10, 20, ..., with the windows it opened and closed. */
  function book(...bodies: ClusterEventBody[]) {
    const windows: string[] = [];
    const faults = new FaultBook(['n1', 'n2', 'n3'], {
      started: (fault) => windows.push(`+${fault.id}@${fault.sinceT}`),
      ended: (id, t) => windows.push(`-${id}@${t}`),
    });
    bodies.forEach((body, index) => faults.observe({ ...body, seq: index + 1, t: (index + 1) * 10, at: 1_000 + (index + 1) * 10 } as ClusterEvent));
    return { faults, windows };
  }

  it('names the links of a link command: one, each from or to a node, or all of them as one', () => {
    const members = ['n1', 'n2', 'n3'];
    expect(linksNamed('n1', 'n2', members)).toEqual([['n1', 'n2']]);
    expect(linksNamed('n1', null, members)).toEqual([['n1', 'n2'], ['n1', 'n3']]);
    expect(linksNamed(null, 'n3', members)).toEqual([['n1', 'n3'], ['n2', 'n3']]);
    expect(linksNamed(null, null, members)).toEqual([[null, null]]);
  });

  it('a link set anew is a new window in the same place; clearing one end clears each of its links', () => {
    const { faults, windows } = book(
      { type: 'link', from: 'n1', to: 'n2', fault: CUT },
      { type: 'link', from: null, to: null, fault: LOSS },
      { type: 'link', from: 'n1', to: 'n2', fault: LOSS },
      { type: 'link', from: null, to: 'n2', fault: null },
    );
    expect(windows).toEqual(['+link:n1->n2@10', '+link:*@20', '-link:n1->n2@30', '+link:n1->n2@30', '-link:n1->n2@40']);
    expect(faults.active().map((fault) => [fault.id, fault.label, fault.nodes])).toEqual([['link:*', 'all links: 50% loss', []]]);
    expect(faults.link('link:*')).toEqual({ from: null, to: null, fault: LOSS });
  });

  it("healing everything ends the network's faults and leaves the nodes' to their restart and resume", () => {
    const { faults, windows } = book(
      { type: 'pause', nodeId: 'n3' },
      { type: 'kill', nodeId: 'n2' },
      { type: 'partition', label: 'Partition {n3} | {n1, n2}', groups: [['n3'], ['n1', 'n2']], blocked: ['n3->n2', 'n2->n3', 'n3->n1', 'n1->n3'] },
      { type: 'heal', faultId: null, label: 'the agents no longer enforce them' },
    );
    expect(windows).toEqual(['+paused:n3@10', '+down:n2@20', '+partition@30', '-partition@40']);
    expect(faults.active().map((fault) => fault.id)).toEqual(['down:n2', 'paused:n3']);
    expect(faults.partition).toBeNull();
  });

  it('a paused node that is killed is down, no longer paused; a partition names its nodes in member order', () => {
    const { faults } = book(
      { type: 'pause', nodeId: 'n1' },
      { type: 'kill', nodeId: 'n1' },
      { type: 'partition', label: 'p', groups: null, blocked: ['n3->n1', 'n2->n1'] },
    );
    expect(faults.active().map((fault) => [fault.id, fault.nodes, fault.sinceT, fault.sinceAt])).toEqual([
      ['down:n1', ['n1'], 20, 1_020],
      ['partition', ['n1', 'n2', 'n3'], 30, 1_030],
    ]);
  });
});
