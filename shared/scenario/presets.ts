/** Bundled scenarios, offered by the dashboard and `conclave scenario --preset <id>`. */
import type { Scenario } from './format.js';

export const SCENARIO_PRESETS: Record<string, Scenario> = {
  'leader-crash': {
    name: 'Crash the leader every 10 s',
    description: 'Kill whoever leads every 10 seconds and bring it back 4 seconds later. A new leader must take over within a second each time.',
    durationMs: 60_000,
    steps: [{ every: 10_000, from: 5_000, do: { type: 'kill', node: 'leader' }, undoAfter: 4_000 }],
    assertions: [
      { type: 'no-safety-violation' },
      { type: 'leader-within', after: 'fault', withinMs: 1_000 },
      { type: 'leader-within', after: 'heal', withinMs: 1_000 },
    ],
  },
  'flapping-halves': {
    name: 'Random halves every 10 s for 4 s',
    description: 'Partition the cluster into two random halves every 10 seconds, heal after 4. The majority side keeps or elects a leader; after each heal one leader must lead everyone within a second.',
    durationMs: 60_000,
    steps: [{ every: 10_000, from: 5_000, do: { type: 'partition', preset: 'halves' }, undoAfter: 4_000 }],
    assertions: [
      { type: 'no-safety-violation' },
      { type: 'leader-within', after: 'heal', withinMs: 1_000 },
    ],
  },
  'paused-leader': {
    name: 'Pause the leader for 2 s',
    description: 'Freeze the leader (like SIGSTOP) for 2 seconds every 8 seconds. The others elect a new leader; the frozen one must step down when it wakes up.',
    durationMs: 50_000,
    steps: [{ every: 8_000, from: 4_000, do: { type: 'pause', node: 'leader' }, undoAfter: 2_000 }],
    assertions: [
      { type: 'no-safety-violation' },
      { type: 'leader-within', after: 'fault', withinMs: 1_000 },
      { type: 'failover-p99-below', ms: 1_000 },
    ],
  },
  'isolate-leader': {
    name: 'Isolate the leader, then heal',
    description: 'Cut the leader off from everyone for 5 seconds, twice. The majority elects a new leader; after the heal the old leader follows it.',
    durationMs: 30_000,
    steps: [
      { at: 5_000, do: { type: 'partition', preset: 'isolate-leader' }, undoAfter: 5_000 },
      { at: 18_000, do: { type: 'partition', preset: 'isolate-leader' }, undoAfter: 5_000 },
    ],
    assertions: [
      { type: 'no-safety-violation' },
      { type: 'leader-within', after: 'fault', withinMs: 1_000 },
      { type: 'leader-within', after: 'heal', withinMs: 1_000 },
    ],
  },
  'lossy-network': {
    name: 'Lossy, slow network with crashes',
    description: '20% loss and 30±20 ms delay on every link for 30 seconds, while the leader crashes twice. The cluster must stay available most of the time.',
    durationMs: 40_000,
    steps: [
      { at: 5_000, do: { type: 'link', dropProbability: 0.2, latencyMs: 30, jitterMs: 20 }, undoAfter: 30_000 },
      { at: 12_000, do: { type: 'kill', node: 'leader' }, undoAfter: 5_000 },
      { at: 24_000, do: { type: 'kill', node: 'leader' }, undoAfter: 5_000 },
    ],
    assertions: [
      { type: 'no-safety-violation' },
      { type: 'availability-above', ratio: 0.85 },
    ],
  },
  'preferred-leader': {
    name: 'Prefer n1, never n5',
    description:
      'n1 gets priority 3 and n5 priority 0 (it votes, never leads). The leader is killed every 10 seconds and comes back 4 seconds later: ' +
      'another node leads meanwhile, n5 never, and n1 takes leadership back within 2.5 seconds of its return (priority takeover waits 3 election timeouts).',
    durationMs: 60_000,
    steps: [
      { at: 0, do: { type: 'priority', node: 'n1', priority: 3 } },
      { at: 0, do: { type: 'priority', node: 'n5', priority: 0 } },
      { every: 10_000, from: 5_000, do: { type: 'kill', node: 'leader' }, undoAfter: 4_000 },
    ],
    assertions: [
      { type: 'no-safety-violation' },
      { type: 'leader-within', after: 'fault', withinMs: 1_000 },
      { type: 'priority-leader-within', withinMs: 2_500 },
    ],
  },
};
