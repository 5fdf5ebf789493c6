/**
 * Looking at another moment of a run: the cursor over its events, the base state a rewind
 * starts from when the oldest events are gone, a replay's first frame, and the scenario
 * editor's drafts (every preset survives the round trip through the form).
 */
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import type { ClusterEvent, ClusterEventBody } from '../../shared/protocol/types.js';
import { parseScenario } from '../../shared/scenario/format.js';
import { SCENARIO_PRESETS } from '../../shared/scenario/presets.js';
import { blankDraft, toDraft, toScenarioJson } from '../../renderer/src/components/scenario/scenario-draft.js';
import { RunCursor, newAnalysis, seedEvents, snapshotAt } from '../../renderer/src/stores/cursor.js';
import { useReplayStore } from '../../renderer/src/stores/replay.js';

const MEMBERS = ['n1', 'n2', 'n3'];

function run(bodies: Array<[number, ClusterEventBody]>): ClusterEvent[] {
  return bodies.map(([t, body], index) => ({ ...body, seq: index + 1, t, at: 1_000_000 + t }) as ClusterEvent);
}

const EVENTS = run([
  [1, { type: 'status', nodeId: 'n1', role: 'follower', term: 0, votedFor: null, leaderId: null }],
  [2, { type: 'status', nodeId: 'n2', role: 'follower', term: 0, votedFor: null, leaderId: null }],
  [3, { type: 'status', nodeId: 'n3', role: 'follower', term: 0, votedFor: null, leaderId: null }],
  [200, { type: 'status', nodeId: 'n1', role: 'leader', term: 1, votedFor: 'n1', leaderId: 'n1' }],
  [200, { type: 'leader', nodeId: 'n1', term: 1 }],
  [210, { type: 'quorum', leaderId: 'n1', term: 1 }],
  [1_000, { type: 'kill', nodeId: 'n1' }],
  [1_000, { type: 'leader-lost', leaderId: 'n1', term: 1, cause: 'killed' }],
  [1_300, { type: 'status', nodeId: 'n2', role: 'leader', term: 2, votedFor: 'n2', leaderId: 'n2' }],
  [1_300, { type: 'leader', nodeId: 'n2', term: 2 }],
  [1_310, { type: 'quorum', leaderId: 'n2', term: 2 }],
]);
const IDENTITY = { runId: 'r', target: { kind: 'embedded' as const, label: 'test', unavailable: {}, faultLeaseMs: null }, algorithm: 'raft' as const, config: DEFAULT_ELECTION_CONFIG, members: MEMBERS };

describe('a cursor over a run', () => {
  it('shows each moment as it was, going forward and back', () => {
    const cursor = new RunCursor(MEMBERS, 'raft', () => EVENTS);
    cursor.seek(500);
    expect(snapshotAt(cursor.analysis, IDENTITY, 500)).toMatchObject({ leader: { id: 'n1', term: 1 }, faults: [] });
    cursor.seek(1_500);
    const after = snapshotAt(cursor.analysis, IDENTITY, 1_500);
    expect(after.leader).toMatchObject({ id: 'n2', term: 2 });
    expect(after.faults.map((fault) => fault.label)).toEqual(['n1 down']);
    expect(cursor.analysis.metrics(1_500)).toMatchObject({ failovers: 1, lastFailoverMs: 310 });
    cursor.seek(500);
    expect(snapshotAt(cursor.analysis, IDENTITY, 500).leader?.id).toBe('n1');
  });

  it('starts from a base state when the oldest events are gone', () => {
    const base = newAnalysis(MEMBERS, 'raft');
    for (const event of EVENTS.slice(0, 8)) base.observe(event);
    const kept = EVENTS.slice(8);
    const cursor = new RunCursor(MEMBERS, 'raft', () => kept, () => seedEvents(base, 1_000));
    cursor.seek(1_100);
    const at = snapshotAt(cursor.analysis, IDENTITY, 1_100);
    expect(at.nodes.map((node) => `${node.id} ${node.status}`)).toEqual(['n1 down', 'n2 up', 'n3 up']);
    expect(at.leader).toBeNull();
    cursor.seek(1_400);
    expect(snapshotAt(cursor.analysis, IDENTITY, 1_400).leader?.id).toBe('n2');
  });
});

describe('a replay', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('opens on every node booted, not on the first one alone', () => {
    const replay = useReplayStore();
    replay.load({ header: { format: 'conclave-run', version: 1, algorithm: 'raft', config: DEFAULT_ELECTION_CONFIG, members: MEMBERS, exportedAt: 0 }, events: EVENTS, messages: [], aggregates: [] }, 'run.jsonl');
    expect(replay.startT).toBe(3);
    expect(replay.snapshot?.nodes.map((node) => node.status)).toEqual(['up', 'up', 'up']);
    // No message at all in the record: the whole of it lacks message detail, and says so.
    expect(replay.detailFromT).toBe(3);
  });

  it('a record that lost its oldest events starts from the state it carries', () => {
    const replay = useReplayStore();
    const late = EVENTS.slice(8);
    replay.load(
      {
        header: {
          format: 'conclave-run',
          version: 1,
          algorithm: 'raft',
          config: DEFAULT_ELECTION_CONFIG,
          members: MEMBERS,
          exportedAt: 0,
          initial: [
            { type: 'status', nodeId: 'n1', role: 'leader', term: 1, votedFor: 'n1', leaderId: 'n1' },
            { type: 'kill', nodeId: 'n1' },
            { type: 'status', nodeId: 'n2', role: 'candidate', term: 2, votedFor: 'n2', leaderId: null },
            { type: 'status', nodeId: 'n3', role: 'follower', term: 1, votedFor: 'n1', leaderId: null },
          ],
        },
        events: late,
        messages: [],
        aggregates: [],
      },
      'late.jsonl',
    );
    expect(replay.startT).toBe(1_300);
    expect(replay.snapshot?.nodes.map((node) => `${node.id} ${node.status} ${node.role ?? ''}`)).toEqual(['n1 down ', 'n2 up leader', 'n3 up follower']);
    expect(replay.snapshot?.faults.map((fault) => fault.label)).toEqual(['n1 down']);
  });

  it('knows from when its messages are whole', () => {
    const replay = useReplayStore();
    const message = { from: 'n1', to: 'n2', kind: 'Heartbeat', category: 'heartbeat' as const, sentT: 900, deliverT: 902, duplicate: false };
    replay.load(
      {
        header: { format: 'conclave-run', version: 1, algorithm: 'raft', config: DEFAULT_ELECTION_CONFIG, members: MEMBERS, exportedAt: 0, messageDetailFromT: 900 },
        events: EVENTS,
        messages: [message],
        aggregates: [{ fromT: 0, toT: 1_000, from: 'n1', to: 'n2', category: 'heartbeat', sent: 18, dropped: 0 }],
      },
      'run.jsonl',
    );
    expect(replay.detailFromT).toBe(900);
  });
});

describe('the scenario editor\'s drafts', () => {
  it.each(Object.entries(SCENARIO_PRESETS))('%s survives the round trip through the form', (_id, preset) => {
    expect(parseScenario(toScenarioJson(toDraft(preset)))).toEqual(preset);
  });

  it('a blank draft is a valid scenario; a bad field is refused by the format\'s validator, naming it', () => {
    const draft = blankDraft();
    expect(parseScenario(toScenarioJson(draft)).steps).toEqual([{ at: 1_000, do: { type: 'kill', node: 'leader' } }]);
    draft.steps[0]!.undoAfter = 40_000;
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].undoAfter must be between 1 and 30000');
    draft.steps[0]!.undoAfter = '';
    draft.keepFaults = true;
    expect(parseScenario(toScenarioJson(draft)).keepFaults).toBe(true);
  });
});
