/** The recorded-run format: it round-trips, and a bad file is refused at its first bad line. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { parseRun, serializeRunLines, type RunRecord } from '../../shared/protocol/run-file.js';
import { simulateScenario } from '../../electron/scenario/simulate.js';
import { SCENARIO_PRESETS } from '../../shared/scenario/presets.js';

function recorded(): RunRecord {
  const { events } = simulateScenario(SCENARIO_PRESETS['isolate-leader']!, 2);
  return {
    header: {
      format: 'conclave-run',
      version: 1,
      algorithm: 'raft',
      config: DEFAULT_ELECTION_CONFIG,
      members: ['n1', 'n2', 'n3', 'n4', 'n5'],
      exportedAt: 1_800_000_000_000,
      messageDetailFromT: 10,
      initial: [
        { type: 'status', nodeId: 'n1', role: 'follower', term: 0, votedFor: null, leaderId: null },
        { type: 'link', from: 'n1', to: 'n2', fault: { cut: true, dropProbability: 0, latencyMs: 2, jitterMs: 1, duplicateProbability: 0 } },
      ],
    },
    events,
    messages: [{ from: 'n1', to: 'n2', kind: 'Heartbeat', category: 'heartbeat', sentT: 10, deliverT: 12, duplicate: false }],
    aggregates: [{ fromT: 0, toT: 1_000, from: 'n1', to: 'n2', category: 'heartbeat', sent: 20, dropped: 1 }],
  };
}

const text = (record: RunRecord): string => [...serializeRunLines(record)].join('\n');

describe('run files', () => {
  it('round-trip every event kind the simulator produced, a scenario report included', () => {
    const record = recorded();
    expect(new Set(record.events.map((event) => event.type))).toEqual(
      new Set(['status', 'role', 'vote', 'leader', 'quorum', 'traffic', 'partition', 'leader-lost', 'heal', 'scenario']),
    );
    expect(parseRun(text(record))).toEqual(record);
  });

  it.each([
    ['', 'the file is empty'],
    ['{"hello": 1}', 'this is not a Conclave run'],
    ['not json', 'line 1: not valid JSON'],
  ])('refuses %j: %s', (content, error) => {
    expect(() => parseRun(content)).toThrow(error);
  });

  it('names the first bad line and field', () => {
    const lines = text(recorded()).split('\n');
    const corrupt = (index: number, change: (value: Record<string, unknown>) => void): string => {
      const copy = [...lines];
      const value = JSON.parse(copy[index]!);
      change(value);
      copy[index] = JSON.stringify(value);
      return copy.join('\n');
    };
    expect(() => parseRun(corrupt(3, (v) => ((v.event as Record<string, unknown>).term = -1)))).toThrow(/^line 4: event\.term must be between 0/);
    expect(() => parseRun(corrupt(5, (v) => ((v.event as Record<string, unknown>).type = 'explode')))).toThrow(/^line 6: event\.type must be one of/);
    expect(() => parseRun(corrupt(0, (v) => (v.version = 9)))).toThrow('header.version 9 is not supported');
    expect(() => parseRun(corrupt(2, (v) => ((v.event as Record<string, unknown>).seq = 1)))).toThrow(/^line 3: event 1 is out of order/);
    expect(() => parseRun(corrupt(lines.length - 1, (v) => ((v.message as Record<string, unknown>).deliverT = 1)))).toThrow(
      `line ${lines.length}: message.deliverT must not be before sentT`,
    );
    expect(() => parseRun(corrupt(4, (v) => ((v.event as Record<string, unknown>).nodeId = 'n9')))).toThrow('which is not a member');
  });
});
