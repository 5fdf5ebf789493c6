/**
 * The hub's access rules without a server: which Host names it answers to (DNS rebinding),
 * which origins it admits, and how the bearer token is read.
 */
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { bearerToken, createAccessPolicy, parseAllowedOrigins } from '../../electron/base/access.js';

/** A non-loopback address of this machine, as a Host header names it; null on a machine without one. */
function externalAddress(): string | null {
  const address = Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .find((candidate) => !candidate.internal && candidate.family === 'IPv4');
  return address?.address ?? null;
}

describe('Host allow-list', () => {
  it('a loopback hub answers to loopback names on any port, and to nothing else', () => {
    const policy = createAccessPolicy('127.0.0.1', []);
    for (const host of ['localhost', 'LOCALHOST:4100', '127.0.0.1:1', '127.1.2.3', '[::1]:4100', '[0:0:0:0:0:0:0:1]']) {
      expect(policy.hostRefusal(host), host).toBeNull();
    }
    for (const host of ['attacker.example', 'attacker.example:4100', '127.0.0.1.attacker.example', '0.0.0.0:4100', '[::]']) {
      expect(policy.hostRefusal(host), host).toContain('is not an address of this hub');
    }
  });

  it('a hub on a named address answers to that name too', () => {
    const policy = createAccessPolicy('conclave.lan', []);
    expect(policy.hostRefusal('conclave.lan:4100')).toBeNull();
    expect(policy.hostRefusal('Conclave.LAN')).toBeNull();
    expect(policy.hostRefusal('other.lan:4100')).toContain('"other.lan" is not an address of this hub');
  });

  const address = externalAddress();
  it.skipIf(address === null)("a hub on every interface answers to the machine's addresses, which a loopback hub does not", () => {
    expect(createAccessPolicy('0.0.0.0', []).hostRefusal(`${address}:4100`)).toBeNull();
    expect(createAccessPolicy('::', []).hostRefusal(`${address}:4100`)).toBeNull();
    expect(createAccessPolicy('127.0.0.1', []).hostRefusal(`${address}:4100`)).toContain('is not an address of this hub');
    expect(createAccessPolicy('0.0.0.0', []).hostRefusal('attacker.example:4100')).toContain('is not an address of this hub');
  });

  it('refuses a host the hub cannot listen on', () => {
    expect(() => createAccessPolicy('not a host', [])).toThrow('the hub\'s host must be a host name or an IP address (got "not a host")');
  });
});

describe('Origin', () => {
  const policy = createAccessPolicy('127.0.0.1', ['http://localhost:5173']);

  it('admits the origin of the address asked for, the allowed ones, and clients without an Origin', () => {
    expect(policy.originRefusal(undefined, '127.0.0.1:4100')).toBeNull();
    expect(policy.originRefusal('http://127.0.0.1:4100', '127.0.0.1:4100')).toBeNull();
    expect(policy.originRefusal('http://localhost:5173', '127.0.0.1:4100')).toBeNull();
  });

  it('refuses other origins, other ports of the same host, and opaque origins', () => {
    for (const origin of ['http://evil.example', 'http://127.0.0.1:9999', 'http://localhost:5174', 'null']) {
      expect(policy.originRefusal(origin, '127.0.0.1:4100'), origin).toContain('may not use this hub');
    }
  });

  it('takes allowed origins only in their exact form', () => {
    expect(parseAllowedOrigins(['http://localhost:5173', 'https://conclave.example'])).toEqual(['http://localhost:5173', 'https://conclave.example']);
    expect(() => parseAllowedOrigins('http://localhost:5173')).toThrow('allowedOrigins must be an array');
    for (const origin of ['http://localhost:5173/', 'HTTP://localhost:5173', 'ws://localhost:5173', 'null', 42]) {
      expect(() => parseAllowedOrigins([origin]), String(origin)).toThrow('allowedOrigins[0] must be an http(s) origin like "http://localhost:5173"');
    }
  });
});

describe('bearer token', () => {
  it('reads the scheme in any case and ignores extra spaces', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER    abc  ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
