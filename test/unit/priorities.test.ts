/**
 * Leaders chosen by predefined criteria (shared/core/leadership.ts, takeover.ts), rule by rule,
 * in every algorithm: priorities (0 never leads; higher priorities time out sooner; priority
 * takeover, MongoDB's), the preferred-leader rule over a capability with its hysteresis, and
 * Bully's rank by priority first.
 */
import { describe, expect, it } from 'vitest';
import { createElectionNode } from '../../shared/algorithms.js';
import { DEFAULT_ELECTION_CONFIG, type AlgorithmName, type ElectionConfig, type ElectionNode, type Message } from '../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, type Capabilities, type LeadershipConfig, type PreferredLeaderRule } from '../../shared/core/leadership.js';
import { createRandom } from '../../shared/core/random.js';

const MEMBERS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const CONFIG: ElectionConfig = { ...DEFAULT_ELECTION_CONFIG, preVote: false, checkQuorum: false };
const TAKEOVER_MS = 3 * CONFIG.electionTimeoutMaxMs;
const RULE: PreferredLeaderRule = { capability: 'loadavg', prefer: 'lowest', margin: 0.5, stableMs: 2_000 };

function leadership(priorities: Record<string, number>, extra: Partial<LeadershipConfig> = {}): LeadershipConfig {
  return { ...DEFAULT_LEADERSHIP, priorities, ...extra };
}

function node(algorithm: AlgorithmName, id: string, options: { leadership?: LeadershipConfig; capabilities?: Capabilities; seed?: number; config?: ElectionConfig } = {}): ElectionNode {
  const created = createElectionNode(algorithm, {
    id,
    members: MEMBERS,
    config: options.config ?? CONFIG,
    random: createRandom(options.seed ?? 11),
    durable: null,
    now: 0,
    ...(options.leadership === undefined ? {} : { leadership: options.leadership }),
    ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
  });
  created.ready();
  return created;
}

/** Grants the node's campaign from n2 and n3 (votes or promises): it leads. */
function elect(algorithm: 'raft' | 'paxos', candidate: ElectionNode, now = CONFIG.electionTimeoutMaxMs + 1): number {
  candidate.tick(now);
  const term = candidate.status().term;
  const grantors = MEMBERS.filter((id) => id !== candidate.id).slice(0, 2);
  for (const from of grantors) {
    const grant = algorithm === 'raft' ? { kind: 'RequestVoteResp', granted: true } : { kind: 'Promise' };
    candidate.step({ ...grant, from, to: candidate.id, term } as Message, now);
  }
  expect(candidate.status().role).toBe('leader');
  candidate.ready();
  return term;
}

function answer(algorithm: 'raft' | 'paxos', from: string, to: string, term: number, metric?: number): Message {
  return { kind: algorithm === 'raft' ? 'HeartbeatResp' : 'HeartbeatAck', from, to, term, round: 1, fresh: true, ...(metric === undefined ? {} : { metric }) } as Message;
}

/** Runs a leader for `ms` from `start`, its followers `answering` every heartbeat; returns what it sent and noticed. */
function runLeader(
  algorithm: 'raft' | 'paxos',
  leader: ElectionNode,
  start: number,
  ms: number,
  answering: (now: number) => Array<{ from: string; metric?: number }>,
): { timeoutNow: Array<{ to: string; at: number }>; notices: Array<{ to: string; reason: string; at: number }> } {
  const timeoutNow: Array<{ to: string; at: number }> = [];
  const notices: Array<{ to: string; reason: string; at: number }> = [];
  for (let now = start; now <= start + ms; now += 10) {
    leader.tick(now);
    for (const reply of answering(now)) leader.step(answer(algorithm, reply.from, leader.id, leader.status().term, reply.metric), now);
    const ready = leader.ready();
    for (const m of ready.messages) if (m.kind === 'TimeoutNow') timeoutNow.push({ to: m.to, at: now });
    for (const n of ready.notices) notices.push({ to: n.to, reason: n.reason, at: now });
  }
  return { timeoutNow, notices };
}

const everyone = (except: string, metrics: Record<string, number> = {}) => () =>
  MEMBERS.filter((id) => id !== except).map((from) => ({ from, ...(metrics[from] === undefined ? {} : { metric: metrics[from] }) }));

describe.each(['raft', 'paxos'] as const)('%s: priorities', (algorithm) => {
  it('a priority-0 voter never campaigns, however long it hears nothing, yet still votes', () => {
    const zero = node(algorithm, 'n2', { leadership: leadership({ n2: 0 }) });
    for (let now = 0; now <= 60_000; now += 100) zero.tick(now);
    expect(zero.status().role).toBe('follower');
    expect(zero.electionTimer()).toBeNull();
    expect(zero.ready()).toMatchObject({ messages: [], wakeAt: Infinity });
    const request = algorithm === 'raft' ? { kind: 'RequestVote', transfer: false, term: 1 } : { kind: 'Prepare', transfer: false, term: 5 };
    zero.step({ ...request, from: 'n1', to: 'n2' } as Message, 60_001);
    const reply = zero.ready().messages[0]!;
    expect(algorithm === 'raft' ? (reply as unknown as { granted: boolean }).granted : reply.kind === 'Promise').toBe(true);
  });

  it('with no leader known, a higher priority always times out sooner, and equal priorities draw over their band at random', () => {
    const table = leadership({ n1: 3, n2: 3, n3: 1, n4: 1, n5: 2 });
    const due = (id: string, seed: number) => node(algorithm, id, { leadership: table, seed }).ready().wakeAt;
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = CONFIG;
    const band = (max - min) / 3;
    const top = new Set<number>();
    for (let seed = 0; seed < 100; seed++) {
      const [n1, n5, n3] = [due('n1', seed), due('n5', seed), due('n3', seed)];
      expect(n1).toBeGreaterThanOrEqual(min);
      expect(n1).toBeLessThanOrEqual(min + band);
      expect(n5).toBeGreaterThanOrEqual(min + band);
      expect(n5).toBeLessThanOrEqual(min + 2 * band);
      expect(n3).toBeGreaterThanOrEqual(min + 2 * band);
      expect(n3).toBeLessThanOrEqual(max);
      top.add(n1);
    }
    expect(top.size).toBeGreaterThan(50);
  });

  it('with every priority equal the whole range is drawn from, as without priorities', () => {
    for (let seed = 0; seed < 50; seed++) {
      expect(node(algorithm, 'n3', { leadership: leadership({ n1: 4, n2: 4, n3: 4, n4: 4, n5: 4 }), seed }).ready().wakeAt).toBe(node(algorithm, 'n3', { seed }).ready().wakeAt);
    }
  });

  it("a leader's successors time out in priority order (ranked timeouts), priority-0 nodes not at all", () => {
    const table = leadership({ n2: 1, n3: 5, n4: 0, n5: 2 });
    const ranked = { ...CONFIG, rankedTimeouts: true };
    const heartbeat = (id: string) => {
      const follower = node(algorithm, id, { leadership: table, config: ranked });
      const term = algorithm === 'raft' ? 1 : 5;
      follower.step({ kind: 'Heartbeat', from: 'n1', to: id, term, round: 1 } as Message, 1_000);
      return follower.ready().wakeAt;
    };
    const [n3, n5, n2, n4] = ['n3', 'n5', 'n2', 'n4'].map(heartbeat) as [number, number, number, number];
    expect(n3).toBeLessThan(n5);
    expect(n5).toBeLessThan(n2);
    expect(n4).toBe(Infinity);
  });

  it(`priority takeover: a follower of higher priority that answers every round for takeoverAfterMs (${TAKEOVER_MS} ms) gets leadership, saying why`, () => {
    const table = leadership({ n1: 1, n2: 1, n3: 1, n4: 5, n5: 3 });
    const leader = node(algorithm, 'n1', { leadership: table });
    elect(algorithm, leader, 301);
    const { timeoutNow, notices } = runLeader(algorithm, leader, 301, TAKEOVER_MS + 200, everyone('n1'));
    expect(timeoutNow[0]?.to).toBe('n4');
    expect(timeoutNow[0]!.at).toBeGreaterThanOrEqual(301 + TAKEOVER_MS);
    expect(timeoutNow[0]!.at).toBeLessThanOrEqual(301 + TAKEOVER_MS + CONFIG.heartbeatMs + 10);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ to: 'n4', reason: 'priority takeover: n4 (priority 5) over n1 (priority 1)' });
  });

  it('never hands over to a follower that stopped answering, and waits a whole period again when it comes back', () => {
    const table = leadership({ n1: 1, n4: 5 });
    const leader = node(algorithm, 'n1', { leadership: table });
    elect(algorithm, leader, 301);
    // n4 answers, falls silent for longer than a minimal election timeout, answers again.
    const silentFrom = 700;
    const silentUntil = 1_200;
    const { timeoutNow } = runLeader(algorithm, leader, 301, 3_000, (now) =>
      MEMBERS.filter((id) => id !== 'n1' && (id !== 'n4' || now < silentFrom || now >= silentUntil)).map((from) => ({ from })),
    );
    expect(timeoutNow[0]?.to).toBe('n4');
    expect(timeoutNow[0]!.at).toBeGreaterThanOrEqual(silentUntil + TAKEOVER_MS);
  });

  it('a follower raised above the leader takes over a whole period after the change, however long it answered before', () => {
    const leader = node(algorithm, 'n1');
    elect(algorithm, leader, 301);
    runLeader(algorithm, leader, 301, 5_000, everyone('n1'));
    leader.setLeadership(leadership({ n3: 2 }), 5_311);
    const { timeoutNow } = runLeader(algorithm, leader, 5_311, TAKEOVER_MS + 200, everyone('n1'));
    expect(timeoutNow[0]?.to).toBe('n3');
    expect(timeoutNow[0]!.at).toBeGreaterThanOrEqual(5_311 + TAKEOVER_MS);
  });

  it('followers of equal or lower priority never take over', () => {
    const leader = node(algorithm, 'n3', { leadership: leadership({ n3: 4, n1: 4, n2: 2 }) });
    elect(algorithm, leader, 200);
    expect(runLeader(algorithm, leader, 200, 10_000, everyone('n3')).timeoutNow).toEqual([]);
  });

  it('a leader whose priority becomes 0 hands over at once to the best reachable follower', () => {
    const leader = node(algorithm, 'n1', { leadership: leadership({ n2: 2, n3: 7 }) });
    elect(algorithm, leader, 301);
    runLeader(algorithm, leader, 301, 200, () => [{ from: 'n2' }, { from: 'n4' }]); // n3 never answers: unreachable
    leader.setLeadership(leadership({ n1: 0, n2: 2, n3: 7 }), 510);
    const ready = leader.ready();
    expect(ready.messages.filter((m) => m.kind === 'TimeoutNow').map((m) => m.to)).toEqual(['n2']);
    expect(ready.notices).toEqual([{ kind: 'transfer', to: 'n2', reason: 'n1 has priority 0: hands over to n2 (priority 2)' }]);
  });

  it('a transfer that expires without effect is retried only after another whole period', () => {
    const leader = node(algorithm, 'n1', { leadership: leadership({ n4: 5 }) });
    elect(algorithm, leader, 301);
    const { notices } = runLeader(algorithm, leader, 301, 2 * TAKEOVER_MS + 2 * CONFIG.electionTimeoutMaxMs, everyone('n1'));
    expect(notices.map((n) => n.to)).toEqual(['n4', 'n4']);
    expect(notices[1]!.at - notices[0]!.at).toBeGreaterThanOrEqual(CONFIG.electionTimeoutMaxMs + TAKEOVER_MS);
  });

  it('a candidate whose priority becomes 0 abandons its campaign; a node raised from 0 starts its timer then', () => {
    const candidate = node(algorithm, 'n2');
    candidate.tick(301);
    expect(candidate.status().role).toBe('candidate');
    candidate.setLeadership(leadership({ n2: 0 }), 302);
    expect(candidate.status().role).toBe('follower');
    expect(candidate.ready().wakeAt).toBe(Infinity);
    candidate.setLeadership(leadership({ n2: 2 }), 10_000);
    const due = candidate.ready().wakeAt;
    expect(due).toBeGreaterThanOrEqual(10_000 + CONFIG.electionTimeoutMinMs);
    expect(due).toBeLessThanOrEqual(10_000 + CONFIG.electionTimeoutMaxMs);
  });

  it('leadership cannot be handed to a priority-0 node, and a priority-0 node ignores a TimeoutNow', () => {
    const leader = node(algorithm, 'n1', { leadership: leadership({ n5: 0 }) });
    elect(algorithm, leader, 301);
    expect(leader.transferLeadership('n5', 400)).toEqual({ ok: false, error: 'n5 has priority 0, so it never leads' });
    const zero = node(algorithm, 'n5', { leadership: leadership({ n5: 0 }) });
    const term = leader.status().term;
    zero.step({ kind: 'Heartbeat', from: 'n1', to: 'n5', term, round: 1 } as Message, 400);
    zero.step({ kind: 'TimeoutNow', from: 'n1', to: 'n5', term, deadline: 1_000 } as Message, 401);
    expect(zero.status().role).toBe('follower');
    expect(zero.ready().messages.map((m) => m.kind)).toEqual([algorithm === 'raft' ? 'HeartbeatResp' : 'HeartbeatAck']);
  });
});

describe('raft: crash hints with priorities', () => {
  it("a priority-0 voter stops trusting a leader whose connection closed, granting a successor's pre-vote, and does not stand itself", () => {
    const sticky = { ...DEFAULT_ELECTION_CONFIG, preVote: true, checkQuorum: true };
    const zero = node('raft', 'n2', { leadership: leadership({ n2: 0 }), config: sticky });
    zero.step({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 1, round: 1 } as Message, 100);
    zero.ready();
    const preVote = { kind: 'PreVote', from: 'n3', to: 'n2', term: 2 } as Message;
    zero.step(preVote, 105);
    expect((zero.ready().messages[0] as unknown as { granted: boolean }).granted).toBe(false);
    zero.hint({ kind: 'peer-down', peer: 'n1' }, 110);
    zero.step(preVote, 115);
    expect((zero.ready().messages[0] as unknown as { granted: boolean }).granted).toBe(true);
    expect(zero.ready().wakeAt).toBe(Infinity);
  });
});

describe.each(['raft', 'paxos'] as const)('%s: the preferred-leader rule', (algorithm) => {
  const withRule = leadership({}, { preferredLeader: RULE });

  it('followers advertise the one number the rule reads in their heartbeat replies, and nothing without a rule', () => {
    const term = algorithm === 'raft' ? 1 : 5;
    for (const [table, expected] of [
      [withRule, 0.7],
      [DEFAULT_LEADERSHIP, undefined],
    ] as const) {
      const follower = node(algorithm, 'n2', { leadership: table, capabilities: { loadavg: 0.7, zone: 'a' } });
      follower.step({ kind: 'Heartbeat', from: 'n1', to: 'n2', term, round: 1 } as Message, 100);
      expect((follower.ready().messages[0] as unknown as { metric?: number }).metric).toBe(expected);
    }
  });

  it('a follower better than the leader by more than the margin for stableMs gets leadership, the best of them', () => {
    const leader = node(algorithm, 'n1', { leadership: withRule, capabilities: { loadavg: 2 } });
    elect(algorithm, leader, 301);
    const { notices } = runLeader(algorithm, leader, 301, RULE.stableMs + 200, everyone('n1', { n2: 1.4, n3: 0.9, n4: 1.2, n5: 1.6 }));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.to).toBe('n3');
    expect(notices[0]!.at).toBeGreaterThanOrEqual(301 + RULE.stableMs);
    expect(notices[0]!.reason).toBe('preferred leader (lowest loadavg): n3 (loadavg 0.9) over n1 (loadavg 2)');
  });

  it('noise within the margin never moves leadership', () => {
    const leader = node(algorithm, 'n1', { leadership: withRule, capabilities: { loadavg: 1 } });
    elect(algorithm, leader, 301);
    const random = createRandom(5);
    const noisy = () => MEMBERS.slice(1).map((from) => ({ from, metric: 1 + (random.next() - 0.5) * 2 * 0.49 }));
    expect(runLeader(algorithm, leader, 301, 30_000, noisy).notices).toEqual([]);
  });

  it('a value better by the margin only now and then (shorter than stableMs at a time) never moves leadership', () => {
    const leader = node(algorithm, 'n1', { leadership: withRule, capabilities: { loadavg: 1 } });
    elect(algorithm, leader, 301);
    // n2 dips far below the leader for 1.5 s of every 2 s: never stableMs in a row.
    const dipping = (now: number) => [{ from: 'n2', metric: now % 2_000 < 1_500 ? 0.1 : 1 }, { from: 'n3', metric: 1 }];
    expect(runLeader(algorithm, leader, 301, 30_000, dipping).notices).toEqual([]);
  });

  it('applies among the top priority present only: a better follower of lower priority is not preferred', () => {
    const leader = node(algorithm, 'n1', { leadership: leadership({ n1: 2 }, { preferredLeader: RULE }), capabilities: { loadavg: 5 } });
    elect(algorithm, leader, 301);
    expect(runLeader(algorithm, leader, 301, 10_000, everyone('n1', { n2: 0.1, n3: 0.1, n4: 0.1, n5: 0.1 })).notices).toEqual([]);
  });

  it("a change of the leader's own value starts the follower's stable period then", () => {
    const leader = node(algorithm, 'n1', { leadership: withRule, capabilities: { loadavg: 1 } });
    elect(algorithm, leader, 301);
    runLeader(algorithm, leader, 301, 5_000, everyone('n1', { n2: 0.8, n3: 1, n4: 1, n5: 1 }));
    leader.setCapabilities({ loadavg: 3 }, 5_310);
    const { notices } = runLeader(algorithm, leader, 5_310, 5_000, everyone('n1', { n2: 0.8, n3: 1, n4: 1, n5: 1 }));
    expect(notices[0]?.to).toBe('n2');
    expect(notices[0]!.at).toBeGreaterThanOrEqual(5_310 + RULE.stableMs);
  });
});

describe('bully: rank by priority, then member order', () => {
  const bully = (id: string, table: LeadershipConfig) => node('bully', id, { leadership: table, config: DEFAULT_ELECTION_CONFIG });
  const sent = (n: ElectionNode) => n.ready().messages.map((m) => `${m.kind}->${m.to}`);

  it('a booting node sends ELECTION to every node that outranks it by priority, never to priority-0 nodes', () => {
    const n3 = bully('n3', leadership({ n1: 3, n3: 2, n4: 0 }));
    n3.tick(0);
    expect(sent(n3)).toEqual(['Election->n1']);
  });

  it('the top-priority node wins at once, and a priority-0 node never holds an election', () => {
    const top = bully('n1', leadership({ n1: 3 }));
    top.tick(0);
    expect(top.status().role).toBe('leader');
    const zero = bully('n5', leadership({ n5: 0 }));
    for (let now = 0; now <= 30_000; now += 100) zero.tick(now);
    expect(zero.status().role).toBe('follower');
    expect(zero.electionTimer()).toBeNull();
    zero.step({ kind: 'Election', from: 'n1', to: 'n5', term: 1 }, 30_001);
    expect(zero.ready().messages).toEqual([]);
  });

  it('a priority-0 node, which holds no elections, follows a higher-ranked coordinator than its own even under an older election number', () => {
    const zero = bully('n1', leadership({ n1: 0, n4: 3 }));
    zero.step({ kind: 'Coordinator', from: 'n2', to: 'n1', term: 9 }, 10);
    zero.step({ kind: 'Heartbeat', from: 'n4', to: 'n1', term: 7, round: 1 } as Message, 20);
    expect(zero.status()).toMatchObject({ leaderId: 'n4', term: 9 });
    zero.step({ kind: 'Heartbeat', from: 'n3', to: 'n1', term: 8, round: 1 } as Message, 30);
    expect(zero.status().leaderId).toBe('n4');
    const ranked = bully('n2', leadership({ n1: 0, n4: 3 }));
    ranked.step({ kind: 'Coordinator', from: 'n5', to: 'n2', term: 9 }, 10);
    ranked.step({ kind: 'Heartbeat', from: 'n4', to: 'n2', term: 7, round: 1 } as Message, 20);
    expect(ranked.status().leaderId).toBe('n5');
  });

  it('a priority-0 node whose coordinator falls silent forgets it, then follows any ranked coordinator', () => {
    const zero = bully('n1', leadership({ n1: 0, n4: 3 }));
    zero.step({ kind: 'Coordinator', from: 'n4', to: 'n1', term: 9 }, 10);
    zero.tick(10 + DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs);
    expect(zero.status()).toMatchObject({ role: 'follower', leaderId: null });
    expect(zero.ready().messages).toEqual([]);
    zero.step({ kind: 'Heartbeat', from: 'n2', to: 'n1', term: 6, round: 1 } as Message, 400);
    expect(zero.status().leaderId).toBe('n2');
  });

  it('a node raised above its coordinator holds an election at once and wins; a coordinator set to 0 steps down and calls one', () => {
    const follower = bully('n2', DEFAULT_LEADERSHIP);
    follower.step({ kind: 'Coordinator', from: 'n5', to: 'n2', term: 1 }, 10);
    follower.ready();
    follower.setLeadership(leadership({ n2: 9 }), 20);
    expect(follower.status().role).toBe('leader');
    expect(sent(follower)).toEqual(['Coordinator->n1', 'Coordinator->n3', 'Coordinator->n4', 'Coordinator->n5']);

    const coordinator = bully('n5', DEFAULT_LEADERSHIP);
    coordinator.tick(0);
    coordinator.ready();
    coordinator.setLeadership(leadership({ n5: 0 }), 30);
    expect(coordinator.status()).toMatchObject({ role: 'follower', leaderId: null });
    expect(sent(coordinator)).toEqual(['Election->n1', 'Election->n2', 'Election->n3', 'Election->n4']);
    coordinator.step({ kind: 'Coordinator', from: 'n4', to: 'n5', term: 2 }, 40);
    expect(coordinator.status()).toMatchObject({ role: 'follower', leaderId: 'n4' });
  });
});
