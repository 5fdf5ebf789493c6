/**
 * The Bully algorithm, rule by rule (Garcia-Molina 1982; Coulouris et al., "Distributed
 * Systems", section 15.3.2). Ranks follow the member list: n5 outranks n4 outranks n3...
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG, type Message } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { BullyNode } from '../../shared/bully/bully.js';

const MEMBERS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const CONFIG = DEFAULT_ELECTION_CONFIG;
const ANSWER_TIMEOUT = 2 * CONFIG.heartbeatMs;

function bully(id: string, term = 0) {
  return new BullyNode({ id, members: MEMBERS, config: CONFIG, random: createRandom(3), durable: { term }, now: 0 });
}

function msg(kind: string, from: string, to: string, term = 0): Message {
  return { kind, from, to, term };
}

function sent(node: BullyNode) {
  return node.ready().messages.map((m) => `${m.kind}->${m.to}`);
}

describe('Bully: elections', () => {
  it('a booting node holds an election at once, sending ELECTION to every higher-ranked node only', () => {
    const node = bully('n3');
    expect(node.ready().wakeAt).toBe(0);
    node.tick(0);
    expect(node.status()).toMatchObject({ role: 'candidate', leaderId: null, votedFor: null });
    expect(sent(node)).toEqual(['Election->n4', 'Election->n5']);
  });

  it('the highest-ranked node wins at once and announces COORDINATOR to everyone under a new election number', () => {
    const node = bully('n5', 6);
    node.tick(0);
    expect(node.status()).toEqual({ role: 'leader', term: 7, votedFor: null, leaderId: 'n5' });
    const ready = node.ready();
    expect(ready.persist).toEqual({ term: 7 });
    expect(ready.messages.map((m) => `${m.kind}->${m.to}@${m.term}`)).toEqual(['n1', 'n2', 'n3', 'n4'].map((id) => `Coordinator->${id}@7`));
  });

  it('a candidate that gets no ANSWER within the answer timeout becomes coordinator', () => {
    const node = bully('n3');
    node.tick(0);
    node.ready();
    node.tick(ANSWER_TIMEOUT - 1);
    expect(node.status().role).toBe('candidate');
    node.tick(ANSWER_TIMEOUT);
    expect(node.status()).toMatchObject({ role: 'leader', term: 1 });
  });

  it('a candidate that gets an ANSWER waits for the COORDINATOR, and starts over if none comes', () => {
    const node = bully('n3');
    node.tick(0);
    node.ready();
    node.step(msg('Answer', 'n5', 'n3'), 5);
    node.tick(ANSWER_TIMEOUT + 1);
    expect(node.status().role).toBe('candidate');
    node.tick(5 + CONFIG.electionTimeoutMaxMs);
    expect(sent(node)).toEqual(['Election->n4', 'Election->n5']);
    expect(node.status().role).toBe('candidate');
  });

  it('a higher-ranked node answers an ELECTION and holds its own', () => {
    const node = bully('n4');
    node.step(msg('Heartbeat', 'n5', 'n4'), 0);
    node.ready();
    node.step(msg('Election', 'n2', 'n4'), 10);
    expect(sent(node)).toEqual(['Answer->n2', 'Election->n5']);
    expect(node.status().role).toBe('candidate');
  });

  it('the coordinator answers an ELECTION and re-asserts itself to the sender', () => {
    const node = bully('n5');
    node.tick(0);
    node.ready();
    node.step(msg('Election', 'n2', 'n5', 1), 10);
    expect(sent(node)).toEqual(['Answer->n2', 'Coordinator->n2']);
    expect(node.status().role).toBe('leader');
  });
});

describe('Bully: coordinators', () => {
  it('a node accepts a COORDINATOR from a higher-ranked node', () => {
    const node = bully('n2');
    node.step(msg('Coordinator', 'n4', 'n2', 3), 10);
    expect(node.status()).toEqual({ role: 'follower', term: 3, votedFor: null, leaderId: 'n4' });
    expect(node.ready().persist).toEqual({ term: 3 });
  });

  it('a node bullies a lower-ranked node that claims to coordinate', () => {
    const node = bully('n4');
    node.step(msg('Heartbeat', 'n2', 'n4', 3), 10);
    expect(node.status().role).toBe('candidate');
    expect(sent(node)).toEqual(['Election->n5']);
  });

  it('a coordinator answers a lower-ranked claimant with its own COORDINATOR', () => {
    const node = bully('n5');
    node.tick(0);
    node.ready();
    node.step(msg('Heartbeat', 'n3', 'n5', 1), 10);
    expect(sent(node)).toEqual(['Coordinator->n3']);
  });

  it('a coordinator that learns of a later election claims the role again under a fresh number', () => {
    const node = bully('n5');
    node.tick(0);
    node.ready();
    node.step(msg('Heartbeat', 'n3', 'n5', 8), 10);
    expect(node.status()).toMatchObject({ role: 'leader', term: 9 });
    expect(sent(node).filter((m) => m.startsWith('Coordinator'))).toHaveLength(4);
  });

  it('the coordinator heartbeats every interval; a follower that misses them holds an election', () => {
    const leader = bully('n5');
    leader.tick(0);
    leader.ready();
    leader.tick(CONFIG.heartbeatMs);
    expect(sent(leader)).toEqual(['Heartbeat->n1', 'Heartbeat->n2', 'Heartbeat->n3', 'Heartbeat->n4']);

    const follower = bully('n2');
    follower.step(msg('Coordinator', 'n5', 'n2', 1), 0);
    follower.ready();
    for (let now = 50; now <= 1_000; now += 50) {
      follower.step(msg('Heartbeat', 'n5', 'n2', 1), now);
      follower.tick(now);
    }
    expect(follower.status()).toMatchObject({ role: 'follower', leaderId: 'n5' });
    follower.tick(1_000 + CONFIG.electionTimeoutMaxMs);
    expect(follower.status().role).toBe('candidate');
  });

  it('heartbeats of an older election are ignored', () => {
    const node = bully('n2', 5);
    node.step(msg('Heartbeat', 'n5', 'n2', 3), 10);
    expect(node.status()).toMatchObject({ role: 'follower', leaderId: null, term: 5 });
  });

  it('leadership cannot be transferred, and says why', () => {
    const node = bully('n5');
    node.tick(0);
    expect(node.transferLeadership()).toEqual({ ok: false, error: expect.stringContaining('highest-ranked running node') });
  });
});
