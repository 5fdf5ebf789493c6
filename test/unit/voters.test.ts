/**
 * Members that do not vote (etcd's learners, Consul's non-voters), in every algorithm: they
 * follow the leader, never campaign, are never asked to vote and never count towards a quorum.
 */
import { describe, expect, it } from 'vitest';
import { createElectionNode } from '../../shared/algorithms.js';
import { DEFAULT_ELECTION_CONFIG, type AlgorithmName, type ElectionNode, type Message } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';

const MEMBERS = ['n1', 'n2', 'n3', 'n4', 'n5'];
/** n4 and n5 follow; three voters, so a majority is two. */
const VOTERS = ['n1', 'n2', 'n3'];
const CONFIG = { ...DEFAULT_ELECTION_CONFIG, preVote: false, checkQuorum: false };

function node(algorithm: AlgorithmName, id: string): ElectionNode {
  const created = createElectionNode(algorithm, { id, members: MEMBERS, voters: VOTERS, config: CONFIG, random: createRandom(2), durable: null, now: 0 });
  created.ready();
  return created;
}

describe.each(['raft', 'paxos', 'bully'] as const)('%s with two members that do not vote', (algorithm) => {
  it('a non-voter never campaigns, however long it hears nothing', () => {
    const learner = node(algorithm, 'n4');
    for (let now = 0; now <= 60_000; now += 100) learner.tick(now);
    expect(learner.status().role).toBe('follower');
    expect(learner.ready().messages).toEqual([]);
    expect(learner.electionTimer()).toBeNull();
  });

  it('a campaign asks the voters only, and a leader speaks to every member', () => {
    const candidate = node(algorithm, algorithm === 'bully' ? 'n3' : 'n1');
    candidate.tick(CONFIG.electionTimeoutMaxMs + 1);
    const sent = candidate.ready().messages.map((m) => m.to);
    if (algorithm === 'bully') {
      // n3 is the highest-ranked voter: it asks nobody and announces itself to every member.
      expect(sent).toEqual(['n1', 'n2', 'n4', 'n5']);
      expect(candidate.status().role).toBe('leader');
    } else {
      expect(sent.sort()).toEqual(['n2', 'n3']);
    }
  });
});

describe.each(['raft', 'paxos'] as const)('%s quorum among voters', (algorithm) => {
  it('a candidate leads with a majority of the voters; grants from non-voters do not count', () => {
    const candidate = node(algorithm, 'n1');
    candidate.tick(CONFIG.electionTimeoutMaxMs + 1);
    const term = candidate.status().term;
    const grant = (from: string): Message =>
      algorithm === 'raft'
        ? ({ kind: 'RequestVoteResp', from, to: 'n1', term, granted: true } as Message)
        : { kind: 'Promise', from, to: 'n1', term };
    candidate.step(grant('n4'), 400);
    candidate.step(grant('n5'), 400);
    expect(candidate.status().role).toBe('candidate');
    candidate.step(grant('n2'), 401);
    expect(candidate.status().role).toBe('leader');
    const heartbeats = candidate.ready().messages.filter((m) => m.kind === 'Heartbeat').map((m) => m.to);
    expect(heartbeats.sort()).toEqual(['n2', 'n3', 'n4', 'n5']);
  });

  it('leadership cannot be handed to a non-voter', () => {
    const candidate = node(algorithm, 'n1');
    candidate.tick(CONFIG.electionTimeoutMaxMs + 1);
    const term = candidate.status().term;
    const grant: Message =
      algorithm === 'raft' ? ({ kind: 'RequestVoteResp', from: 'n2', to: 'n1', term, granted: true } as Message) : { kind: 'Promise', from: 'n2', to: 'n1', term };
    candidate.step(grant, 400);
    expect(candidate.transferLeadership('n5', 500)).toEqual({ ok: false, error: 'n5 does not vote, so it cannot lead' });
  });
});
