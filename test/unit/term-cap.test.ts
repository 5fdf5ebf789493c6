/**
 * Terms, election numbers and ballots stop at TERM_MAX (2^50), far below 2^53 where `term + 1`
 * stops counting: a node there would re-vote in its own term and send messages the wire refuses.
 */
import { describe, expect, it } from 'vitest';
import { createElectionNode } from '../../shared/algorithms.js';
import { BullyNode, readBullyDurable } from '../../shared/bully/bully.js';
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, TERM_MAX, type DurableState, type ElectionNode } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { PaxosNode, readPaxosDurable } from '../../shared/paxos/paxos.js';
import { electionMessageSchema, nodeStatusSchema } from '../../shared/protocol/agent-wire.js';
import { RaftNode, readRaftDurable } from '../../shared/raft/raft.js';

const MEMBERS = ['n1', 'n2', 'n3'];
const CONFIG = { ...DEFAULT_ELECTION_CONFIG, preVote: false, checkQuorum: false };

/** Times the node out `rounds` times, answering every request with a grant; returns what it sent and persisted. */
function campaignAtCap(node: ElectionNode, rounds = 3) {
  const sent = [];
  const persisted: DurableState[] = [];
  for (let round = 1; round <= rounds; round++) {
    const now = round * 10_000;
    node.tick(now);
    const ready = node.ready();
    if (ready.persist !== null) persisted.push(ready.persist);
    sent.push(...ready.messages);
  }
  return { sent, persisted };
}

describe('terms stop at TERM_MAX', () => {
  it('a Raft node at TERM_MAX does not campaign again, re-vote in its term, or send a message the wire refuses', () => {
    for (const preVote of [false, true]) {
      const node = new RaftNode({ id: 'n1', members: MEMBERS, config: { ...CONFIG, preVote }, random: createRandom(1), durable: { term: TERM_MAX, votedFor: 'n2' }, now: 0 });
      node.ready();
      const { sent, persisted } = campaignAtCap(node);
      expect(node.status(), `preVote ${preVote}`).toMatchObject({ role: 'follower', term: TERM_MAX, votedFor: 'n2' });
      expect(persisted).toEqual([]);
      expect(sent.filter((message) => !electionMessageSchema.safeParse(message).success)).toEqual([]);
    }
  });

  it('a Raft node one below TERM_MAX campaigns once, into TERM_MAX, and no further', () => {
    const node = new RaftNode({ id: 'n1', members: MEMBERS, config: CONFIG, random: createRandom(1), durable: { term: TERM_MAX - 1, votedFor: null }, now: 0 });
    node.ready();
    const { sent, persisted } = campaignAtCap(node);
    expect(persisted).toEqual([{ term: TERM_MAX, votedFor: 'n1' }]);
    expect(sent.every((message) => message.term === TERM_MAX && electionMessageSchema.safeParse(message).success)).toBe(true);
    expect(node.status().term).toBe(TERM_MAX);
  });

  it('a Paxos node prepares no ballot above TERM_MAX', () => {
    const node = new PaxosNode({ id: 'n1', members: MEMBERS, config: CONFIG, random: createRandom(1), durable: { promised: TERM_MAX - 1 }, now: 0 });
    node.ready();
    const { sent, persisted } = campaignAtCap(node);
    expect(persisted).toEqual([]);
    expect(sent).toEqual([]);
    expect(node.status()).toMatchObject({ role: 'follower', term: TERM_MAX - 1 });
  });

  it('a Bully node at TERM_MAX announces no election number above it', () => {
    // n3 outranks everyone: below the cap it would become coordinator at once.
    const node = new BullyNode({ id: 'n3', members: MEMBERS, config: CONFIG, random: createRandom(1), durable: { term: TERM_MAX }, now: 0 });
    const { sent, persisted } = campaignAtCap(node);
    expect(persisted).toEqual([]);
    expect(sent).toEqual([]);
    expect(node.status()).toMatchObject({ role: 'follower', term: TERM_MAX });
  });

  it('every algorithm ignores a message above TERM_MAX', () => {
    for (const algorithm of ALGORITHMS) {
      const node = createElectionNode(algorithm, { id: 'n1', members: MEMBERS, config: CONFIG, random: createRandom(1), durable: null, now: 0 });
      node.ready();
      for (const kind of ['Heartbeat', 'RequestVote', 'Prepare', 'Coordinator', 'Election']) {
        node.step({ kind, from: 'n3', to: 'n1', term: TERM_MAX + 3, transfer: false } as never, 1);
      }
      expect(node.status().term, algorithm).toBe(0);
    }
  });

  it('the wire and the durable-state readers refuse a term above TERM_MAX', () => {
    const message = { kind: 'Heartbeat', from: 'n2', to: 'n1' };
    expect(electionMessageSchema.safeParse({ ...message, term: TERM_MAX }).success).toBe(true);
    expect(electionMessageSchema.safeParse({ ...message, term: TERM_MAX + 1 }).success).toBe(false);
    expect(electionMessageSchema.safeParse({ ...message, term: Number.MAX_SAFE_INTEGER }).success).toBe(false);
    expect(nodeStatusSchema.safeParse({ role: 'leader', term: TERM_MAX + 1, votedFor: null, leaderId: 'n1' }).success).toBe(false);
    // A reader that reads a state differently makes the agent refuse its state file.
    expect(readRaftDurable({ term: TERM_MAX + 1, votedFor: 'n2' }).term).not.toBe(TERM_MAX + 1);
    expect(readRaftDurable({ term: TERM_MAX, votedFor: 'n2' })).toEqual({ term: TERM_MAX, votedFor: 'n2' });
    expect(readPaxosDurable({ promised: Number.MAX_SAFE_INTEGER }).promised).not.toBe(Number.MAX_SAFE_INTEGER);
    expect(readBullyDurable({ term: TERM_MAX + 1 }).term).not.toBe(TERM_MAX + 1);
  });
});
