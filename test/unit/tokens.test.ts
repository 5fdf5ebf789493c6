/** How strong a token must be, and the console token: made from the cluster token one way, recognised by its prefix. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TOKEN_BITS_MIN, isConsoleToken, tokenBits, weakTokenProblem } from '../../shared/protocol/tokens.js';
import { consoleTokenOf, newToken, roleKey } from '../../electron/wire/tokens.js';

describe('token strength', () => {
  it('passes random tokens of 24 bytes or more, however they are written', () => {
    for (let index = 0; index < 500; index++) {
      for (const token of [randomBytes(24).toString('base64'), randomBytes(24).toString('base64url'), randomBytes(20).toString('hex'), newToken()]) {
        expect(weakTokenProblem(token, 'test'), token).toBeNull();
      }
    }
  });

  it.each([
    ['a word', 'password'],
    ['a phrase of common words', 'correct horse battery staple'],
    ['one character repeated', 'x'.repeat(200)],
    ['a short pattern repeated', 'abab'.repeat(16)],
    ['a name and a year', 'conclave-cluster-2026'],
  ])('refuses %s, saying how many bits it has and how to make a good one', (_what, token) => {
    expect(tokenBits(token)).toBeLessThan(TOKEN_BITS_MIN);
    expect(weakTokenProblem(token, 'CONCLAVE_CLUSTER_TOKEN')).toMatch(/^the token \(CONCLAVE_CLUSTER_TOKEN\) is too weak: about \d+ bits, and at least 128 are needed .*"conclave token"/);
  });
});

describe('the console token', () => {
  it('is made from the cluster token one way, the same each time, and differs for another cluster', () => {
    const cluster = newToken();
    expect(consoleTokenOf(cluster)).toBe(consoleTokenOf(cluster));
    expect(consoleTokenOf(cluster)).not.toBe(consoleTokenOf(newToken()));
    expect(consoleTokenOf(cluster)).not.toContain(cluster);
    expect(isConsoleToken(consoleTokenOf(cluster))).toBe(true);
    expect(weakTokenProblem(consoleTokenOf(cluster), 'test')).toBeNull();
    expect(weakTokenProblem('conclave-console.abc', 'test')).toContain('starts like a console token but is not one');
  });

  it('is the key consoles prove themselves with, whichever of the two they were given; peers prove with the cluster token', () => {
    const cluster = newToken();
    expect(roleKey('console', cluster)).toBe(consoleTokenOf(cluster));
    expect(roleKey('console', consoleTokenOf(cluster))).toBe(consoleTokenOf(cluster));
    expect(roleKey('peer', cluster)).toBe(cluster);
  });
});
