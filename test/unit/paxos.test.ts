/**
 * Leader election by Paxos phase 1, rule by rule (Lamport, "Paxos Made Simple": prepare and
 * promise; ballots unique per node; a majority of promises makes the leader).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG, type ElectionConfig, type Message } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { PaxosNode, ballotOwner } from '../../shared/paxos/paxos.js';

const MEMBERS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const CONFIG: ElectionConfig = { ...DEFAULT_ELECTION_CONFIG, checkQuorum: false };

function paxos(id: string, promised = 0, config = CONFIG) {
  const node = new PaxosNode({ id, members: MEMBERS, config, random: createRandom(5), durable: { promised }, now: 0 });
  node.ready();
  return node;
}

function msg(kind: string, from: string, to: string, term: number, extra: Record<string, unknown> = {}): Message {
  // Heartbeats carry their round, and acks the round and whether they back the lease (lease.ts).
  const lease = kind === 'Heartbeat' ? { round: 1 } : kind === 'HeartbeatAck' ? { round: 1, fresh: true } : {};
  return { kind, from, to, term, ...lease, ...extra } as Message;
}

function timeOut(node: PaxosNode, now = CONFIG.electionTimeoutMaxMs + 1) {
  node.tick(now);
  return node.ready();
}

function lead(node: PaxosNode) {
  const ready = timeOut(node);
  const ballot = node.status().term;
  for (const m of ready.messages.slice(0, 2)) node.step(msg('Promise', m.to, node.id, ballot), 400);
  expect(node.status().role).toBe('leader');
  node.ready();
  return ballot;
}

describe('Paxos election: ballots', () => {
  it.each([
    [5, 0, null],
    [5, 1, 'n2'],
    [5, 9, 'n5'],
    [5, 10, 'n1'],
    [7, 21, 'n1'],
    [7, 23, 'n3'],
  ])('in a %i-node cluster ballot %i belongs to %s', (size, ballot, owner) => {
    const members = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    expect(ballotOwner(ballot, members)).toBe(owner);
  });

  it('a proposer picks a ballot above everything seen, owned by itself, and promises it to itself before asking', () => {
    const node = paxos('n3', 17);
    const ready = timeOut(node);
    expect(node.status()).toEqual({ role: 'candidate', term: 22, votedFor: 'n3', leaderId: null });
    expect(ballotOwner(22, MEMBERS)).toBe('n3');
    expect(ready.persist).toEqual({ promised: 22 });
    expect(ready.messages.map((m) => `${m.kind}->${m.to}@${m.term}`)).toEqual(['n1', 'n2', 'n4', 'n5'].map((id) => `Prepare->${id}@22`));
  });

  it('a NACK teaches the proposer a higher ballot, and its next ballot exceeds it', () => {
    const node = paxos('n1');
    timeOut(node);
    node.step(msg('Nack', 'n4', 'n1', 43), 400);
    expect(node.status().role).toBe('follower');
    timeOut(node, 2_000);
    expect(node.status().term).toBe(45);
    expect(ballotOwner(45, MEMBERS)).toBe('n1');
  });
});

describe('Paxos election: acceptors', () => {
  it('promise a ballot higher than any promised, persisting it before answering', () => {
    const node = paxos('n2', 6);
    node.step(msg('Prepare', 'n4', 'n2', 13, { transfer: false }), 10);
    const ready = node.ready();
    expect(ready.persist).toEqual({ promised: 13 });
    expect(ready.messages).toEqual([{ kind: 'Promise', from: 'n2', to: 'n4', term: 13 }]);
    expect(node.status()).toMatchObject({ term: 13, votedFor: 'n4' });
  });

  it.each([
    ['a lower ballot', 'n4', 8],
    ["the promised ballot from a node that does not own it", 'n3', 13],
    ['a higher ballot from a node that does not own it', 'n3', 14],
  ])('refuse %s with a NACK carrying their promise', (_what, from, ballot) => {
    const node = paxos('n2', 13);
    node.step(msg('Prepare', from, 'n2', ballot, { transfer: false }), 10);
    expect(node.ready()).toMatchObject({ persist: null, messages: [{ kind: 'Nack', to: from, term: 13 }] });
  });

  it('promise again to a repeated PREPARE of the promised ballot from its owner', () => {
    const node = paxos('n2', 13);
    node.step(msg('Prepare', 'n4', 'n2', 13, { transfer: false }), 10);
    expect(node.ready()).toMatchObject({ persist: null, messages: [{ kind: 'Promise', to: 'n4', term: 13 }] });
  });

  it('a promise survives a restart', () => {
    const node = paxos('n2', 13);
    node.step(msg('Prepare', 'n1', 'n2', 11, { transfer: false }), 10);
    expect(node.ready().messages[0]).toMatchObject({ kind: 'Nack' });
  });

  it('NACK a heartbeat of a ballot below their promise, deposing a stale leader', () => {
    const stale = paxos('n1');
    const ballot = lead(stale);
    const acceptor = paxos('n2', ballot + 5);
    acceptor.step(msg('Heartbeat', 'n1', 'n2', ballot), 500);
    const nack = acceptor.ready().messages[0]!;
    expect(nack).toMatchObject({ kind: 'Nack', term: ballot + 5 });
    stale.step(nack, 510);
    expect(stale.status().role).toBe('follower');
  });
});

describe('Paxos election: leadership', () => {
  it('a majority of promises (its own included) makes the proposer leader, which heartbeats at once', () => {
    const node = paxos('n1');
    const ready = timeOut(node);
    const ballot = node.status().term;
    node.step(msg('Promise', 'n2', 'n1', ballot), 400);
    expect(node.status().role).toBe('candidate');
    node.step(msg('Promise', 'n2', 'n1', ballot), 400);
    expect(node.status().role).toBe('candidate');
    node.step(msg('Promise', 'n3', 'n1', ballot), 400);
    expect(node.status()).toEqual({ role: 'leader', term: ballot, votedFor: 'n1', leaderId: 'n1' });
    expect(node.ready().messages.filter((m) => m.kind === 'Heartbeat')).toHaveLength(4);
    expect(ready.messages).toHaveLength(4);
  });

  it('promises for another ballot do not count', () => {
    const node = paxos('n1');
    timeOut(node);
    const ballot = node.status().term;
    node.step(msg('Promise', 'n2', 'n1', ballot - 5), 400);
    node.step(msg('Promise', 'n3', 'n1', ballot - 5), 400);
    expect(node.status().role).toBe('candidate');
  });

  it('followers adopt the leader of a heartbeat at or above their promise', () => {
    const node = paxos('n2', 6);
    node.step(msg('Heartbeat', 'n4', 'n2', 13), 10);
    expect(node.status()).toEqual({ role: 'follower', term: 13, votedFor: 'n4', leaderId: 'n4' });
    // Not fresh: a node that just booted may have made a promise to another leader before it crashed
    // (lease.ts); it says when it will be, a promise's length after its boot.
    expect(node.ready().messages).toEqual([{ kind: 'HeartbeatAck', from: 'n2', to: 'n4', term: 13, round: 1, fresh: false, freshInMs: 2 * CONFIG.heartbeatMs - 10 }]);
  });

  it('with check-quorum, a leader without a majority of acknowledgements steps down', () => {
    const node = paxos('n1', 0, { ...CONFIG, checkQuorum: true });
    const ballot = lead(node);
    node.step(msg('HeartbeatAck', 'n2', 'n1', ballot), 420);
    node.tick(400 + CONFIG.electionTimeoutMinMs);
    expect(node.status()).toMatchObject({ role: 'follower', leaderId: null });
  });

  it('with check-quorum, an acceptor under a live lease refuses other proposers', () => {
    const node = paxos('n2', 0, { ...CONFIG, checkQuorum: true });
    node.step(msg('Heartbeat', 'n1', 'n2', 5), 100);
    node.ready();
    node.step(msg('Prepare', 'n3', 'n2', 12, { transfer: false }), 150);
    expect(node.ready().messages).toEqual([{ kind: 'Nack', from: 'n2', to: 'n3', term: 5 }]);
    node.step(msg('Prepare', 'n3', 'n2', 12, { transfer: true }), 160);
    expect(node.ready().messages).toEqual([{ kind: 'Promise', from: 'n2', to: 'n3', term: 12 }]);
  });

  it('a transfer makes the target run phase 1 at once with a higher ballot', () => {
    const leader = paxos('n1');
    const ballot = lead(leader);
    expect(leader.transferLeadership('n4', 500)).toEqual({ ok: true });
    const timeoutNow = leader.ready().messages[0]!;
    expect(timeoutNow).toMatchObject({ kind: 'TimeoutNow', to: 'n4', term: ballot, deadline: 500 + CONFIG.electionTimeoutMaxMs });
    const target = paxos('n4');
    target.step(msg('Heartbeat', 'n1', 'n4', ballot), 490);
    target.ready();
    target.step(timeoutNow, 505);
    expect(target.status().role).toBe('candidate');
    expect(target.status().term).toBeGreaterThan(ballot);
    expect(target.ready().messages.every((m) => m.kind === 'Prepare' && (m as { transfer?: boolean }).transfer === true)).toBe(true);
  });

  it('a TimeoutNow that arrives after the transfer expired is ignored', () => {
    const target = paxos('n4');
    target.step(msg('Heartbeat', 'n1', 'n4', 5), 490);
    target.step(msg('TimeoutNow', 'n1', 'n4', 5, { deadline: 800 }), 801);
    expect(target.status()).toMatchObject({ role: 'follower', term: 5, leaderId: 'n1' });
  });

  it('a promise counts as persisted only once the runtime confirms the write', () => {
    const acceptor = paxos('n2', 5);
    acceptor.step(msg('Prepare', 'n3', 'n2', 12, { transfer: false }), 10);
    const handedOut = acceptor.ready().persist!;
    expect(acceptor.inspect(11).persisted).toEqual({ promised: 5 });
    acceptor.persisted(handedOut);
    expect(acceptor.inspect(12).persisted).toEqual({ promised: 12 });
  });
});
