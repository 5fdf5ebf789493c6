/** The term guard (shared/core/term-guard.ts): a term far ahead is taken only on a majority's word. */
import { describe, expect, it } from 'vitest';
import type { Message } from '../../shared/core/election.js';
import { TERM_JUMP_ELECTIONS_MAX, TermGuard } from '../../shared/core/term-guard.js';

const heartbeat = (from: string, term: number): Message => ({ kind: 'Heartbeat', from, to: 'n1', term });

describe('the term guard', () => {
  it('steps terms up to a million elections ahead, and refuses one beyond on one member\'s word', () => {
    const guard = new TermGuard('n1', ['n1', 'n2', 'n3'], 'raft', 3);
    expect(guard.check(heartbeat('n2', 7 + TERM_JUMP_ELECTIONS_MAX), 7)).toBeNull();
    expect(guard.check(heartbeat('n2', 8 + TERM_JUMP_ELECTIONS_MAX), 7)).toEqual({ limit: 7 + TERM_JUMP_ELECTIONS_MAX });
    expect(guard.check(heartbeat('n2', 2 ** 50), 7)).toEqual({ limit: 7 + TERM_JUMP_ELECTIONS_MAX });
  });

  it('follows a majority that is far ahead: the node that fell behind catches up', () => {
    const far = 5 + 3 * TERM_JUMP_ELECTIONS_MAX;
    const guard = new TermGuard('n1', ['n1', 'n2', 'n3', 'n4', 'n5'], 'raft', 5);
    expect(guard.check(heartbeat('n2', far), 5)).not.toBeNull();
    expect(guard.check(heartbeat('n3', far), 5)).not.toBeNull();
    // Three of five (n2, n3, n4) have sent terms that high: a majority.
    expect(guard.check(heartbeat('n4', far), 5)).toBeNull();
    expect(guard.check(heartbeat('n2', far), 5)).toBeNull();
  });

  it('counts only voters, each once, towards that majority', () => {
    const far = 3 * TERM_JUMP_ELECTIONS_MAX;
    const guard = new TermGuard('n1', ['n1', 'n2', 'n3'], 'raft', 4);
    for (let index = 0; index < 10; index++) expect(guard.check(heartbeat('n4', far), 1)).not.toBeNull();
    for (let index = 0; index < 10; index++) expect(guard.check(heartbeat('n2', far + index), 1)).not.toBeNull();
    expect(guard.check(heartbeat('n3', far), 1)).toBeNull();
  });

  it('gives Paxos ballots a million rounds: a ballot moves on by the number of members per round', () => {
    const guard = new TermGuard('n1', ['n1', 'n2', 'n3', 'n4', 'n5'], 'paxos', 5);
    expect(guard.check(heartbeat('n2', 5 * TERM_JUMP_ELECTIONS_MAX), 0)).toBeNull();
    expect(guard.check(heartbeat('n2', 5 * TERM_JUMP_ELECTIONS_MAX + 1), 0)).not.toBeNull();
  });
});
