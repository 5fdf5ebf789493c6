/**
 * Raft leader election, rule by rule (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm", figure 2 and section 5.2), in the shape of etcd's raft_paper_test.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG, type ElectionConfig, type Message } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { RaftNode, type RaftMessage } from '../../shared/raft/raft.js';

const MEMBERS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const CONFIG: ElectionConfig = { ...DEFAULT_ELECTION_CONFIG, preVote: false, checkQuorum: false };

function raft(id = 'n1', options: { durable?: { term: number; votedFor: string | null }; members?: string[]; seed?: number } = {}) {
  const node = new RaftNode({
    id,
    members: options.members ?? MEMBERS,
    config: CONFIG,
    random: createRandom(options.seed ?? 7),
    durable: options.durable ?? null,
    now: 0,
  });
  node.ready();
  return node;
}

/** Ticks far enough past any election timeout for the node to campaign. */
function timeOut(node: RaftNode, now = CONFIG.electionTimeoutMaxMs + 1) {
  node.tick(now);
  return node.ready();
}

function msg(message: RaftMessage): Message {
  return message;
}

function electLeader(node: RaftNode): number {
  const ready = timeOut(node);
  const term = node.status().term;
  for (const peer of ready.messages.map((m) => m.to).slice(0, 2)) {
    node.step(msg({ kind: 'RequestVoteResp', from: peer, to: node.id, term, granted: true }), 400);
  }
  expect(node.status().role).toBe('leader');
  node.ready();
  return term;
}

describe('Raft §5.1: terms', () => {
  it('a node starts as a follower in the term it persisted, with its persisted vote', () => {
    const node = raft('n1', { durable: { term: 4, votedFor: 'n3' } });
    expect(node.status()).toEqual({ role: 'follower', term: 4, votedFor: 'n3', leaderId: null });
  });

  it.each([
    ['RequestVote', { kind: 'RequestVote', transfer: false }],
    ['Heartbeat', { kind: 'Heartbeat', round: 1 }],
    ['RequestVoteResp', { kind: 'RequestVoteResp', granted: false }],
    ['HeartbeatResp', { kind: 'HeartbeatResp' }],
  ] as const)('a leader that sees a higher term in a %s steps down and adopts it', (_name, shape) => {
    const node = raft();
    const term = electLeader(node);
    node.step({ ...shape, from: 'n2', to: 'n1', term: term + 3 } as Message, 500);
    const status = node.status();
    expect(status.role).toBe('follower');
    expect(status.term).toBe(term + 3);
    expect(status.votedFor).toBe(shape.kind === 'RequestVote' ? 'n2' : null);
    expect(node.ready().persist).toEqual({ term: term + 3, votedFor: shape.kind === 'RequestVote' ? 'n2' : null });
  });

  it('a heartbeat from a higher term names the new leader', () => {
    const node = raft();
    node.step(msg({ kind: 'Heartbeat', from: 'n4', to: 'n1', term: 9, round: 1 }), 10);
    expect(node.status()).toMatchObject({ role: 'follower', term: 9, leaderId: 'n4' });
  });

  it.each([
    ['RequestVote', 'RequestVoteResp'],
    ['Heartbeat', 'HeartbeatResp'],
  ] as const)('a stale %s is refused with the current term so its sender can catch up', (kind, replyKind) => {
    const node = raft('n1', { durable: { term: 6, votedFor: null } });
    node.step({ kind, from: 'n2', to: 'n1', term: 5, transfer: false, round: 1 } as Message, 10);
    const reply = node.ready().messages;
    expect(reply).toHaveLength(1);
    expect(reply[0]).toMatchObject({ kind: replyKind, to: 'n2', term: 6 });
    if (kind === 'RequestVote') expect(reply[0]).toMatchObject({ granted: false });
    expect(node.status()).toMatchObject({ term: 6, votedFor: null, leaderId: null });
  });
});

describe('Raft §5.2: leader election', () => {
  it('a follower that hears nothing for its election timeout becomes a candidate of the next term and votes for itself', () => {
    const node = raft('n1', { durable: { term: 2, votedFor: null } });
    const ready = timeOut(node);
    expect(node.status()).toEqual({ role: 'candidate', term: 3, votedFor: 'n1', leaderId: null });
    expect(ready.persist).toEqual({ term: 3, votedFor: 'n1' });
    expect(ready.messages.map((m) => `${m.kind}->${m.to}@${m.term}`).sort()).toEqual(
      ['n2', 'n3', 'n4', 'n5'].map((peer) => `RequestVote->${peer}@3`),
    );
  });

  it('the vote is handed out for persisting in the same ready as the messages that depend on it', () => {
    const node = raft('n2');
    node.step(msg({ kind: 'RequestVote', from: 'n1', to: 'n2', term: 1, transfer: false }), 10);
    const ready = node.ready();
    expect(ready.persist).toEqual({ term: 1, votedFor: 'n1' });
    expect(ready.messages).toEqual([{ kind: 'RequestVoteResp', from: 'n2', to: 'n1', term: 1, granted: true }]);
    expect(node.ready().persist).toBeNull();
  });

  it('does not campaign before the election timeout elapses', () => {
    const node = raft();
    node.tick(CONFIG.electionTimeoutMinMs - 1);
    expect(node.status().role).toBe('follower');
    expect(node.ready().messages).toEqual([]);
  });

  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [7, 4],
  ])('in a %i-node cluster a candidate needs %i votes (its own included)', (size, needed) => {
    const members = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const node = raft('n1', { members });
    timeOut(node);
    const term = node.status().term;
    for (let granted = 1; granted < needed; granted++) {
      expect(node.status().role).toBe('candidate');
      node.step(msg({ kind: 'RequestVoteResp', from: `n${granted + 1}`, to: 'n1', term, granted: true }), 400);
    }
    expect(node.status().role).toBe('leader');
  });

  it('rejections and duplicate votes from the same peer do not add up to a majority', () => {
    const node = raft();
    timeOut(node);
    const term = node.status().term;
    node.step(msg({ kind: 'RequestVoteResp', from: 'n2', to: 'n1', term, granted: true }), 400);
    node.step(msg({ kind: 'RequestVoteResp', from: 'n2', to: 'n1', term, granted: true }), 401);
    node.step(msg({ kind: 'RequestVoteResp', from: 'n3', to: 'n1', term, granted: false }), 402);
    node.step(msg({ kind: 'RequestVoteResp', from: 'n4', to: 'n1', term, granted: false }), 403);
    expect(node.status().role).toBe('candidate');
  });

  it('votes from an earlier term do not count', () => {
    const node = raft('n1', { durable: { term: 3, votedFor: null } });
    timeOut(node);
    node.step(msg({ kind: 'RequestVoteResp', from: 'n2', to: 'n1', term: 3, granted: true }), 400);
    node.step(msg({ kind: 'RequestVoteResp', from: 'n3', to: 'n1', term: 3, granted: true }), 400);
    expect(node.status().role).toBe('candidate');
  });

  it('a new leader asserts itself at once with heartbeats to every peer, then every heartbeat interval', () => {
    const node = raft();
    timeOut(node);
    const term = node.status().term;
    node.step(msg({ kind: 'RequestVoteResp', from: 'n2', to: 'n1', term, granted: true }), 400);
    node.step(msg({ kind: 'RequestVoteResp', from: 'n3', to: 'n1', term, granted: true }), 400);
    const ready = node.ready();
    expect(ready.messages.filter((m) => m.kind === 'Heartbeat').map((m) => m.to).sort()).toEqual(['n2', 'n3', 'n4', 'n5']);
    expect(ready.wakeAt).toBe(400 + CONFIG.heartbeatMs);
    node.tick(400 + CONFIG.heartbeatMs - 1);
    expect(node.ready().messages).toEqual([]);
    node.tick(400 + CONFIG.heartbeatMs);
    expect(node.ready().messages.filter((m) => m.kind === 'Heartbeat')).toHaveLength(4);
  });

  it('a candidate that hears a heartbeat of its own term accepts that leader', () => {
    const node = raft();
    timeOut(node);
    const term = node.status().term;
    node.step(msg({ kind: 'Heartbeat', from: 'n3', to: 'n1', term, round: 1 }), 400);
    expect(node.status()).toMatchObject({ role: 'follower', term, leaderId: 'n3', votedFor: 'n1' });
  });

  it('a candidate that neither wins nor loses starts a new election in a higher term after another timeout', () => {
    const node = raft();
    timeOut(node, 301);
    expect(node.status().term).toBe(1);
    node.tick(301 + CONFIG.electionTimeoutMaxMs);
    expect(node.status()).toMatchObject({ role: 'candidate', term: 2, votedFor: 'n1' });
  });

  it('heartbeats keep a follower from campaigning', () => {
    const node = raft();
    for (let now = 50; now <= 5_000; now += 50) {
      node.step(msg({ kind: 'Heartbeat', from: 'n2', to: 'n1', term: 1, round: 1 }), now);
      node.tick(now);
    }
    expect(node.status()).toMatchObject({ role: 'follower', term: 1, leaderId: 'n2' });
  });

  it('election timeouts are drawn from [min, max] and differ between seeds', () => {
    const timeouts = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const node = raft('n1', { seed });
      const wakeAt = node.ready().wakeAt;
      expect(wakeAt).toBeGreaterThanOrEqual(CONFIG.electionTimeoutMinMs);
      expect(wakeAt).toBeLessThanOrEqual(CONFIG.electionTimeoutMaxMs);
      timeouts.add(wakeAt);
    }
    expect(timeouts.size).toBeGreaterThan(50);
  });

  it('a single-node cluster elects itself', () => {
    const node = raft('n1', { members: ['n1'] });
    const ready = timeOut(node);
    expect(node.status()).toMatchObject({ role: 'leader', term: 1, leaderId: 'n1' });
    expect(ready.messages).toEqual([]);
    expect(ready.persist).toEqual({ term: 1, votedFor: 'n1' });
  });
});

describe('Raft §5.2: one vote per term', () => {
  it.each([
    ['grants the first request of a term', null, 'n2', true],
    ['grants a repeated request from the candidate it voted for', 'n2', 'n2', true],
    ['refuses a second candidate in the same term', 'n2', 'n3', false],
    ['refuses another candidate after voting for itself', 'n1', 'n3', false],
  ] as const)('%s', (_rule, votedFor, candidate, granted) => {
    const node = raft('n1', { durable: { term: 5, votedFor } });
    node.step(msg({ kind: 'RequestVote', from: candidate, to: 'n1', term: 5, transfer: false }), 10);
    expect(node.ready().messages).toEqual([{ kind: 'RequestVoteResp', from: 'n1', to: candidate, term: 5, granted }]);
    expect(node.status().votedFor).toBe(granted ? candidate : votedFor);
  });

  it('a vote persisted before a crash is honoured after the restart', () => {
    const voter = raft('n1');
    voter.step(msg({ kind: 'RequestVote', from: 'n2', to: 'n1', term: 1, transfer: false }), 10);
    const durable = voter.ready().persist as { term: number; votedFor: string };
    const restarted = raft('n1', { durable });
    restarted.step(msg({ kind: 'RequestVote', from: 'n3', to: 'n1', term: 1, transfer: false }), 20);
    expect(restarted.ready().messages).toEqual([{ kind: 'RequestVoteResp', from: 'n1', to: 'n3', term: 1, granted: false }]);
  });

  it('state counts as persisted only once the runtime confirms the write (etcd: Advance)', () => {
    const voter = raft('n1');
    voter.step(msg({ kind: 'RequestVote', from: 'n2', to: 'n1', term: 1, transfer: false }), 10);
    const handedOut = voter.ready().persist!;
    expect(handedOut).toEqual({ term: 1, votedFor: 'n2' });
    expect(voter.inspect(11).persisted).toEqual({ term: 0, votedFor: null });
    expect(voter.ready().persist).toBeNull();
    voter.persisted(handedOut);
    expect(voter.inspect(12).persisted).toEqual({ term: 1, votedFor: 'n2' });
  });

  it('granting a vote resets the election timer', () => {
    const node = raft();
    node.step(msg({ kind: 'RequestVote', from: 'n2', to: 'n1', term: 1, transfer: false }), 250);
    expect(node.ready().wakeAt).toBeGreaterThanOrEqual(250 + CONFIG.electionTimeoutMinMs);
  });
});

describe('Raft: hygiene', () => {
  it.each([
    ['from itself', { kind: 'Heartbeat', from: 'n1', to: 'n1', term: 9, round: 1 }],
    ['for another node', { kind: 'Heartbeat', from: 'n2', to: 'n3', term: 9, round: 1 }],
    ['from a non-member', { kind: 'Heartbeat', from: 'x9', to: 'n1', term: 9, round: 1 }],
    ['of an unknown kind', { kind: 'Coordinator', from: 'n2', to: 'n1', term: 9 }],
    ['of a malformed vote reply', { kind: 'RequestVoteResp', from: 'n2', to: 'n1', term: 9 }],
  ])('ignores a message %s', (_what, message) => {
    const node = raft();
    node.step(message as Message, 10);
    expect(node.status()).toEqual({ role: 'follower', term: 0, votedFor: null, leaderId: null });
    expect(node.ready()).toMatchObject({ persist: null, messages: [] });
  });
});

function withConfig(overrides: Partial<ElectionConfig>, id = 'n1', durable: { term: number; votedFor: string | null } | null = null) {
  const node = new RaftNode({ id, members: MEMBERS, config: { ...CONFIG, ...overrides }, random: createRandom(7), durable, now: 0 });
  node.ready();
  return node;
}

describe('Raft thesis §9.6: pre-vote', () => {
  it('a timed-out node first asks for pre-votes for term+1 without changing its term or vote', () => {
    const node = withConfig({ preVote: true }, 'n1', { term: 4, votedFor: 'n2' });
    const ready = timeOut(node);
    expect(node.status()).toEqual({ role: 'precandidate', term: 4, votedFor: 'n2', leaderId: null });
    expect(ready.persist).toBeNull();
    expect(ready.messages.map((m) => `${m.kind}@${m.term}`)).toEqual(Array(4).fill('PreVote@5'));
  });

  it('with a majority of pre-votes it starts the real election', () => {
    const node = withConfig({ preVote: true }, 'n1', { term: 4, votedFor: null });
    timeOut(node);
    node.step(msg({ kind: 'PreVoteResp', from: 'n2', to: 'n1', term: 5, granted: true }), 400);
    expect(node.status().role).toBe('precandidate');
    node.step(msg({ kind: 'PreVoteResp', from: 'n3', to: 'n1', term: 5, granted: true }), 400);
    expect(node.status()).toMatchObject({ role: 'candidate', term: 5, votedFor: 'n1' });
    expect(node.ready().messages.filter((m) => m.kind === 'RequestVote')).toHaveLength(4);
  });

  it('a node that cannot win keeps asking without inflating its term', () => {
    const node = withConfig({ preVote: true }, 'n1', { term: 4, votedFor: null });
    for (let round = 1; round <= 20; round++) node.tick(round * 1_000);
    expect(node.status()).toMatchObject({ role: 'precandidate', term: 4 });
  });

  it('granting a pre-vote changes nothing on the voter', () => {
    const node = withConfig({ preVote: true }, 'n2', { term: 4, votedFor: 'n3' });
    node.step(msg({ kind: 'PreVote', from: 'n1', to: 'n2', term: 5 }), 10);
    const ready = node.ready();
    expect(ready.messages).toEqual([{ kind: 'PreVoteResp', from: 'n2', to: 'n1', term: 5, granted: true }]);
    expect(ready.persist).toBeNull();
    expect(node.status()).toEqual({ role: 'follower', term: 4, votedFor: 'n3', leaderId: null });
  });

  it.each([false, true])('with check-quorum %s, a follower that heard from its leader within the minimum election timeout refuses a pre-vote (thesis §9.6)', (checkQuorum) => {
    const node = withConfig({ preVote: true, checkQuorum }, 'n2');
    node.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 3, round: 1 }), 100);
    node.ready();
    node.step(msg({ kind: 'PreVote', from: 'n3', to: 'n2', term: 4 }), 100 + CONFIG.electionTimeoutMinMs - 1);
    expect(node.ready()).toMatchObject({ persist: null, messages: [{ kind: 'PreVoteResp', to: 'n3', term: 3, granted: false }] });
    node.step(msg({ kind: 'PreVote', from: 'n3', to: 'n2', term: 4 }), 100 + CONFIG.electionTimeoutMinMs);
    expect(node.ready().messages).toEqual([{ kind: 'PreVoteResp', from: 'n2', to: 'n3', term: 4, granted: true }]);
    expect(node.status()).toMatchObject({ term: 3, leaderId: 'n1' });
  });

  it('a leader refuses pre-votes while it leads, with or without check-quorum', () => {
    const node = withConfig({ preVote: false, checkQuorum: false });
    const term = electLeader(node);
    node.step(msg({ kind: 'PreVote', from: 'n3', to: 'n1', term: term + 1 }), 5_000);
    expect(node.ready().messages).toEqual([{ kind: 'PreVoteResp', from: 'n1', to: 'n3', term, granted: false }]);
    expect(node.status()).toMatchObject({ role: 'leader', term });
  });

  it('a pre-vote rejection from a higher term brings the pre-candidate up to date', () => {
    const node = withConfig({ preVote: true }, 'n1', { term: 4, votedFor: null });
    timeOut(node);
    node.step(msg({ kind: 'PreVoteResp', from: 'n2', to: 'n1', term: 9, granted: false }), 400);
    expect(node.status()).toMatchObject({ role: 'follower', term: 9 });
  });
});

describe('Raft thesis §6.2: check-quorum', () => {
  it('a leader that hears from no majority within an election timeout steps down', () => {
    const node = withConfig({ checkQuorum: true });
    const term = electLeader(node);
    node.step(msg({ kind: 'HeartbeatResp', from: 'n2', to: 'n1', term }), 420);
    node.tick(400 + CONFIG.electionTimeoutMinMs);
    expect(node.status()).toMatchObject({ role: 'follower', term, leaderId: null });
  });

  it('a leader that hears from a majority keeps leading, check after check', () => {
    const node = withConfig({ checkQuorum: true });
    const term = electLeader(node);
    for (let now = 450; now <= 3_000; now += 50) {
      node.step(msg({ kind: 'HeartbeatResp', from: 'n2', to: 'n1', term }), now);
      node.step(msg({ kind: 'HeartbeatResp', from: 'n3', to: 'n1', term }), now);
      node.tick(now);
    }
    expect(node.status().role).toBe('leader');
  });

  it('without check-quorum an isolated leader leads on', () => {
    const node = withConfig({ checkQuorum: false });
    electLeader(node);
    for (let now = 450; now <= 5_000; now += 50) node.tick(now);
    expect(node.status().role).toBe('leader');
  });
});

describe('Raft thesis §4.2.3: leader stickiness', () => {
  it('a follower that heard from its leader recently ignores a vote request of a higher term', () => {
    const node = withConfig({ checkQuorum: true, preVote: true }, 'n2');
    node.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 3, round: 1 }), 100);
    node.ready();
    node.step(msg({ kind: 'RequestVote', from: 'n3', to: 'n2', term: 4, transfer: false }), 100 + CONFIG.electionTimeoutMinMs - 1);
    expect(node.ready()).toMatchObject({ persist: null, messages: [] });
    expect(node.status()).toMatchObject({ term: 3, leaderId: 'n1' });
  });

  it('once the leader has been silent for the minimum election timeout, votes are granted again', () => {
    const node = withConfig({ checkQuorum: true }, 'n2');
    node.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 3, round: 1 }), 100);
    node.step(msg({ kind: 'RequestVote', from: 'n3', to: 'n2', term: 4, transfer: false }), 100 + CONFIG.electionTimeoutMinMs);
    expect(node.status()).toMatchObject({ term: 4, votedFor: 'n3' });
  });

  it('without check-quorum there is no stickiness', () => {
    const node = withConfig({ checkQuorum: false }, 'n2');
    node.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 3, round: 1 }), 100);
    node.step(msg({ kind: 'RequestVote', from: 'n3', to: 'n2', term: 4, transfer: false }), 110);
    expect(node.status()).toMatchObject({ term: 4, votedFor: 'n3' });
  });
});

describe('Raft thesis §3.10: leadership transfer', () => {
  it('the leader sends TimeoutNow to the target, and repeats it with heartbeats until it completes', () => {
    const node = withConfig({ checkQuorum: true });
    const term = electLeader(node);
    expect(node.transferLeadership('n4', 420)).toEqual({ ok: true });
    const deadline = 420 + CONFIG.electionTimeoutMaxMs;
    expect(node.ready().messages).toEqual([{ kind: 'TimeoutNow', from: 'n1', to: 'n4', term, deadline }]);
    node.tick(400 + CONFIG.heartbeatMs);
    expect(node.ready().messages.filter((m) => m.kind === 'TimeoutNow').map((m) => m.to)).toEqual(['n4']);
    node.step(msg({ kind: 'RequestVote', from: 'n4', to: 'n1', term: term + 1, transfer: true }), 460);
    expect(node.status()).toMatchObject({ role: 'follower', term: term + 1, votedFor: 'n4' });
  });

  it('the target campaigns at once, skipping pre-vote, and its request overrides stickiness', () => {
    const target = withConfig({ checkQuorum: true, preVote: true }, 'n4');
    target.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n4', term: 3, round: 1 }), 100);
    target.ready();
    target.step(msg({ kind: 'TimeoutNow', from: 'n1', to: 'n4', term: 3, deadline: 400 }), 110);
    expect(target.status()).toMatchObject({ role: 'candidate', term: 4, votedFor: 'n4' });
    const requests = target.ready().messages;
    expect(requests.every((m) => m.kind === 'RequestVote' && (m as unknown as { transfer: boolean }).transfer)).toBe(true);

    const voter = withConfig({ checkQuorum: true, preVote: true }, 'n2');
    voter.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 3, round: 1 }), 100);
    voter.step(requests.find((m) => m.to === 'n2')!, 111);
    expect(voter.status()).toMatchObject({ term: 4, votedFor: 'n4' });
  });

  it('TimeoutNow from anyone but the current leader is ignored', () => {
    const node = withConfig({}, 'n4');
    node.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n4', term: 3, round: 1 }), 100);
    node.step(msg({ kind: 'TimeoutNow', from: 'n2', to: 'n4', term: 3, deadline: 400 }), 110);
    expect(node.status()).toMatchObject({ role: 'follower', term: 3 });
  });

  it('a TimeoutNow that arrives after the transfer expired is ignored (a target paused meanwhile)', () => {
    const node = withConfig({}, 'n4');
    node.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n4', term: 3, round: 1 }), 100);
    node.step(msg({ kind: 'TimeoutNow', from: 'n1', to: 'n4', term: 3, deadline: 400 }), 401);
    expect(node.status()).toMatchObject({ role: 'follower', term: 3, leaderId: 'n1' });
  });

  it.each([
    ['a follower', 'n2', false, 'n1 is not the leader'],
    ['itself', 'n1', true, 'n1 already leads'],
    ['a non-member', 'n9', true, 'n9 is not a member of this cluster'],
  ])('refuses a transfer by or to %s', (_what, target, lead, error) => {
    const node = withConfig({});
    if (lead) electLeader(node);
    expect(node.transferLeadership(target, 500)).toEqual({ ok: false, error });
  });

  it('an unanswered transfer lapses after an election timeout and the leader leads on', () => {
    const node = withConfig({ checkQuorum: false });
    electLeader(node);
    node.transferLeadership('n3', 420);
    node.tick(420 + CONFIG.electionTimeoutMaxMs);
    node.ready();
    node.tick(420 + CONFIG.electionTimeoutMaxMs + CONFIG.heartbeatMs);
    expect(node.ready().messages.some((m) => m.kind === 'TimeoutNow')).toBe(false);
    expect(node.status().role).toBe('leader');
  });
});

describe('Raft: ranked timeouts and crash hints (faster failover at the same settings)', () => {
  const RANKED: Partial<ElectionConfig> = { rankedTimeouts: true, preVote: true, electionTimeoutMinMs: 250, electionTimeoutMaxMs: 499, heartbeatMs: 50 };
  const WINDOW = 25; // half a heartbeat

  it.each([
    ['n2', 0],
    ['n3', 1],
    ['n5', 3],
  ] as const)('a follower of n1 times out in its window by rank among the successors: %s in window %i', (id, index) => {
    const node = withConfig(RANKED, id);
    node.step(msg({ kind: 'Heartbeat', from: 'n1', to: id, term: 2, round: 1 }), 1_000);
    const timeout = node.ready().wakeAt - 1_000;
    expect(timeout).toBeGreaterThanOrEqual(250 + index * WINDOW);
    expect(timeout).toBeLessThan(250 + (index + 0.1) * WINDOW);
  });

  it('with no leader known the whole range is used, and with ranked timeouts off always', () => {
    const draws = (overrides: Partial<ElectionConfig>) =>
      Array.from({ length: 40 }, (_, seed) => {
        const node = new RaftNode({ id: 'n2', members: MEMBERS, config: { ...CONFIG, ...RANKED, ...overrides }, random: createRandom(seed), durable: null, now: 0 });
        node.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 2, round: 1 }), 0);
        return node.ready().wakeAt;
      });
    expect(Math.max(...draws({ rankedTimeouts: false }))).toBeGreaterThan(350);
    expect(Math.max(...draws({}))).toBeLessThan(250 + 0.1 * WINDOW);
  });

  it('a hint that the leader crashed makes its first successor pre-vote within its window, and others grant it', () => {
    const first = withConfig(RANKED, 'n2');
    const other = withConfig(RANKED, 'n3');
    for (const node of [first, other]) {
      node.step(msg({ kind: 'Heartbeat', from: 'n1', to: node.id, term: 2, round: 1 }), 1_000);
      node.ready();
    }
    first.hint({ kind: 'peer-down', peer: 'n1' }, 1_010);
    other.hint({ kind: 'peer-down', peer: 'n1' }, 1_010);
    const wakeAt = first.ready().wakeAt;
    // Early in its window, after a tenth of it: the others' hints have arrived by then.
    expect(wakeAt).toBeGreaterThanOrEqual(1_010 + 0.1 * WINDOW);
    expect(wakeAt).toBeLessThanOrEqual(1_010 + 0.2 * WINDOW);
    expect(other.ready().wakeAt).toBeGreaterThan(wakeAt);
    first.tick(wakeAt);
    const preVote = first.ready().messages.find((m) => m.to === 'n3')!;
    expect(preVote).toMatchObject({ kind: 'PreVote', term: 3 });
    // n3 heard n1 20 ms ago, but believes the hint: it grants.
    other.step(preVote, wakeAt + 1);
    expect(other.ready().messages).toEqual([{ kind: 'PreVoteResp', from: 'n3', to: 'n2', term: 3, granted: true }]);
  });

  it('a wrong hint costs nothing: peers that still hear the leader refuse, and the next heartbeat restores trust', () => {
    const misled = withConfig(RANKED, 'n2');
    const other = withConfig(RANKED, 'n3');
    for (const node of [misled, other]) node.step(msg({ kind: 'Heartbeat', from: 'n1', to: node.id, term: 2, round: 1 }), 1_000);
    misled.hint({ kind: 'peer-down', peer: 'n1' }, 1_010);
    const wakeAt = misled.ready().wakeAt;
    misled.tick(wakeAt);
    const preVote = misled.ready().messages.find((m) => m.to === 'n3')!;
    other.ready();
    other.step(preVote, wakeAt + 1);
    expect(other.ready().messages).toEqual([{ kind: 'PreVoteResp', from: 'n3', to: 'n2', term: 2, granted: false }]);
    misled.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 2, round: 1 }), wakeAt + 40);
    expect(misled.status()).toMatchObject({ role: 'follower', term: 2, leaderId: 'n1' });
  });

  it('of two pre-candidates proposing the same term, the later-ranked endorses the earlier, never the reverse (no split, no deadlock)', () => {
    const node = withConfig(RANKED, 'n2', { term: 4, votedFor: null });
    timeOut(node, 10_000);
    expect(node.status()).toMatchObject({ role: 'precandidate', term: 4 });
    node.step(msg({ kind: 'PreVote', from: 'n3', to: 'n2', term: 5 }), 10_001);
    expect(node.ready().messages).toEqual([{ kind: 'PreVoteResp', from: 'n2', to: 'n3', term: 4, granted: false }]);
    node.step(msg({ kind: 'PreVote', from: 'n1', to: 'n2', term: 5 }), 10_002);
    expect(node.ready().messages).toEqual([{ kind: 'PreVoteResp', from: 'n2', to: 'n1', term: 5, granted: true }]);
    node.step(msg({ kind: 'PreVote', from: 'n3', to: 'n2', term: 6 }), 10_003);
    expect(node.ready().messages).toEqual([{ kind: 'PreVoteResp', from: 'n2', to: 'n3', term: 6, granted: true }]);
  });

  it('hints about anyone but the leader, or while not a follower, are ignored', () => {
    const node = withConfig(RANKED, 'n2');
    node.step(msg({ kind: 'Heartbeat', from: 'n1', to: 'n2', term: 2, round: 1 }), 1_000);
    const before = node.ready().wakeAt;
    node.hint({ kind: 'peer-down', peer: 'n4' }, 1_010);
    expect(node.ready().wakeAt).toBe(before);
  });
});
