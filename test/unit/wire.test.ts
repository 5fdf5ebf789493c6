/** The wire between agents and consoles: framing limits, mutual authentication without sending the token, refusals, TLS. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_BYTES_MAX, WIRE_VERSION } from '../../shared/protocol/agent-wire.js';
import { DialError, dialWire, listenWire, nonce, type HandshakeLimits, type TlsFiles, type WireConnection, type WireServer } from '../../electron/wire/connection.js';
import { consoleTokenOf } from '../../electron/wire/tokens.js';
import { FRAME_AUTHENTICATION_FAILED, FrameDecoder, encodeFrame } from '../../electron/wire/frames.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const TOKEN = 'a cluster secret of some length';
const servers: WireServer[] = [];
const connections: WireConnection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close('test over');
  for (const server of servers.splice(0)) await server.close();
});

async function server(options: { admit?: (id: string) => string | null; tls?: TlsFiles; handshakes?: Partial<HandshakeLimits> } = {}) {
  const accepted: WireConnection[] = [];
  const refused: string[] = [];
  const instance = await listenWire({
    host: '127.0.0.1',
    port: 0,
    id: 'n1',
    token: TOKEN,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.handshakes === undefined ? {} : { handshakes: options.handshakes }),
    admit: (hello) => options.admit?.(hello.id) ?? null,
    onConnection: (connection) => {
      accepted.push(connection);
      connections.push(connection);
    },
    onRefused: (address, reason) => refused.push(`${address}: ${reason}`),
  });
  servers.push(instance);
  return { address: `127.0.0.1:${instance.port}`, accepted, refused };
}

/** A peer connection dialed to `address`, and what the server's end of it receives until it closes. */
async function dialed(s: Awaited<ReturnType<typeof server>>, address = s.address) {
  const { connection } = await dialWire({ address, token: TOKEN, role: 'peer', id: 'n2' });
  connections.push(connection);
  await expect.poll(() => s.accepted.length).toBe(1);
  const inbound = s.accepted[0]!;
  const received: unknown[] = [];
  inbound.on('frame', (frame) => received.push(frame));
  const closed = new Promise<string>((resolve) => inbound.once('close', resolve));
  return { connection, received, closed };
}

describe('framing', () => {
  it('splits a stream into frames whatever the chunking', () => {
    const bytes = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame({ b: [2, 3] }), encodeFrame('three')]);
    const decoder = new FrameDecoder();
    const frames = [];
    for (let at = 0; at < bytes.length; at += 3) frames.push(...decoder.push(bytes.subarray(at, at + 3)));
    expect(frames).toEqual([{ a: 1 }, { b: [2, 3] }, 'three']);
  });

  it('refuses a frame announced above the limit before buffering it, and a frame that is not JSON', () => {
    const oversized = Buffer.alloc(4);
    oversized.writeUInt32BE(FRAME_BYTES_MAX + 1, 0);
    expect(() => new FrameDecoder().push(oversized)).toThrow(`above the ${FRAME_BYTES_MAX}-byte limit`);
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
    expect(() => new FrameDecoder().push(garbage)).toThrow('not valid JSON');
    expect(() => encodeFrame('x'.repeat(FRAME_BYTES_MAX))).toThrow('limit');
  });
});

describe('authentication', () => {
  it('both ends prove they know the token; frames then flow both ways with the authenticated identity', async () => {
    const s = await server();
    const { connection, serverId } = await dialWire({ address: s.address, token: TOKEN, role: 'peer', id: 'n2' });
    connections.push(connection);
    expect(serverId).toBe('n1');
    await expect.poll(() => s.accepted.length).toBe(1);
    const inbound = s.accepted[0]!;
    expect(inbound.remoteId).toBe('n2');
    const got = new Promise((resolve) => inbound.once('frame', resolve));
    connection.send({ t: 'bye' });
    await expect(got).resolves.toEqual({ t: 'bye' });
  });

  it('the token never crosses the wire', async () => {
    const s = await server();
    const seen: Buffer[] = [];
    const raw = connect({ host: '127.0.0.1', port: Number(s.address.split(':')[1]) });
    raw.on('data', (chunk) => seen.push(chunk));
    await new Promise((resolve) => raw.once('data', resolve));
    raw.destroy();
    const { connection } = await dialWire({ address: s.address, token: TOKEN, role: 'console', id: 'console@test' });
    connections.push(connection);
    expect(Buffer.concat(seen).toString()).not.toContain(TOKEN);
  });

  it('a wrong token: the client finds the server\'s proof wrong and sends none of its own; both ends say the tokens differ', async () => {
    const s = await server();
    await expect(dialWire({ address: s.address, token: 'not the cluster token', role: 'peer', id: 'n2' })).rejects.toThrow(
      new DialError(`${s.address} could not prove it knows the cluster token: it, or this end, has another one`, true),
    );
    await expect.poll(() => s.refused).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+: peer "n2" found this end's proof wrong: the two ends have different cluster tokens$/)]);
    expect(s.accepted).toEqual([]);
  });

  it('the dialer proves nothing to a server that has not proved itself first: a fake server gets no proof to guess tokens against', async () => {
    const received: unknown[] = [];
    const fake = createServer((socket) => {
      const decoder = new FrameDecoder();
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        for (const frame of decoder.push(chunk)) {
          received.push(frame);
          // It answers the hello with a proof it cannot make.
          if ((frame as { t?: string }).t === 'hello') socket.write(encodeFrame({ t: 'server-proof', instance: nonce(), proof: '0'.repeat(64) }));
        }
      });
      socket.write(encodeFrame({ t: 'challenge', v: WIRE_VERSION, nonce: nonce(), id: 'n1' }));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const port = (fake.address() as { port: number }).port;
    try {
      await expect(dialWire({ address: `127.0.0.1:${port}`, token: TOKEN, role: 'peer', id: 'n2', expectId: 'n1' })).rejects.toThrow('could not prove it knows the cluster token');
      await expect.poll(() => received.length).toBe(2);
      expect(received[0]).toMatchObject({ t: 'hello', role: 'peer', id: 'n2', to: 'n1' });
      expect(received[0]).not.toHaveProperty('proof');
      expect(received[1]).toEqual({ t: 'refused', reason: 'your proof does not check out' });
    } finally {
      fake.close();
    }
  });

  it('a hello is bound to the server it names: relayed to another member, it is refused before that member proves anything', async () => {
    // n3 listens; a relay poses as n1 to the dialer, forwarding everything but the challenge's id.
    const refusedAtN3: string[] = [];
    const n3 = await listenWire({ host: '127.0.0.1', port: 0, id: 'n3', token: TOKEN, admit: () => null, onConnection: (connection) => connections.push(connection), onRefused: (_address, reason) => refusedAtN3.push(reason) });
    servers.push(n3);
    const relay = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: n3.port });
      let first = true;
      for (const socket of [client, upstream]) socket.on('error', () => undefined);
      upstream.on('data', (chunk) => {
        if (!first) return void client.write(chunk);
        first = false;
        const challenge = new FrameDecoder().push(chunk)[0] as Record<string, unknown>;
        client.write(encodeFrame({ ...challenge, id: 'n1' }));
      });
      client.on('data', (chunk) => upstream.write(chunk));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as { port: number }).port;
    try {
      await expect(dialWire({ address: `127.0.0.1:${port}`, token: TOKEN, role: 'peer', id: 'n2', expectId: 'n1' })).rejects.toThrow(`refused us: this is "n3", not "n1"`);
      await expect.poll(() => refusedAtN3).toEqual(['refused peer "n2": this is "n3", not "n1"']);
    } finally {
      relay.close();
    }
  });

  it('a dialer that expects one member refuses a server that answers as another, before saying hello', async () => {
    const s = await server();
    await expect(dialWire({ address: s.address, token: TOKEN, role: 'peer', id: 'n2', expectId: 'n3' })).rejects.toThrow(`${s.address} answered as "n1", not "n3"`);
    expect(s.accepted).toEqual([]);
  });

  it('roles have their own keys: the console token opens consoles, never a peer connection; the cluster token makes the console token itself', async () => {
    const s = await server();
    const consoleToken = consoleTokenOf(TOKEN);
    expect(consoleToken).toMatch(/^conclave-console\.[A-Za-z0-9_-]{43}$/);
    const asConsole = await dialWire({ address: s.address, token: consoleToken, role: 'console', id: 'console@test' });
    connections.push(asConsole.connection);
    const fromCluster = await dialWire({ address: s.address, token: TOKEN, role: 'console', id: 'console@cluster' });
    connections.push(fromCluster.connection);
    await expect.poll(() => s.accepted.map((connection) => `${connection.remoteRole} ${connection.remoteId}`)).toEqual(['console console@test', 'console console@cluster']);
    // With the console token, a peer's hello finds the server proving with another key: it goes no further.
    await expect(dialWire({ address: s.address, token: consoleToken, role: 'peer', id: 'n2' })).rejects.toThrow('could not prove it knows the cluster token');
    expect(s.accepted).toHaveLength(2);
    await expect.poll(() => s.refused.at(-1)).toMatch(/peer "n2" found this end's proof wrong: the two ends have different cluster tokens$/);
  });

  it('a server that does not know the token is not trusted by the client', async () => {
    const impostor = await listenWire({ host: '127.0.0.1', port: 0, id: 'n1', token: 'another token entirely', admit: () => null, onConnection: () => undefined });
    servers.push(impostor);
    await expect(dialWire({ address: `127.0.0.1:${impostor.port}`, token: TOKEN, role: 'peer', id: 'n2' })).rejects.toThrow('could not prove it knows the cluster token');
  });

  it('an authenticated client can still be refused, with the reason', async () => {
    const s = await server({ admit: (id) => (id === 'n9' ? 'n9 is not a member of this cluster' : null) });
    await expect(dialWire({ address: s.address, token: TOKEN, role: 'peer', id: 'n9' })).rejects.toThrow('refused us: n9 is not a member of this cluster');
  });

  it('ends of two wire versions refuse each other, naming both versions', async () => {
    const s = await server();
    // An older client answers the challenge with a hello of its version.
    const old = connect({ host: '127.0.0.1', port: Number(s.address.split(':')[1]) });
    const decoder = new FrameDecoder();
    const frames: unknown[] = [];
    old.on('data', (chunk) => frames.push(...decoder.push(chunk)));
    await expect.poll(() => frames.length).toBe(1);
    old.write(encodeFrame({ t: 'hello', v: 2, role: 'peer', id: 'n2', nonce: 'A'.repeat(32), instance: 'B'.repeat(32), proof: '0'.repeat(64) }));
    await new Promise((resolve) => old.once('close', resolve));
    expect(frames[1]).toEqual({ t: 'refused', reason: `wire version 2 is not spoken here (this end speaks ${WIRE_VERSION}): run the same Conclave version everywhere` });
    expect(s.refused).toEqual([expect.stringMatching(/: refused peer "n2": wire version 2 is not spoken here/)]);
    // An older server's challenge.
    const older = createServer((socket) => socket.write(encodeFrame({ t: 'challenge', v: 1, nonce: 'B'.repeat(32), id: 'n1' })));
    await new Promise<void>((resolve) => older.listen(0, '127.0.0.1', resolve));
    const port = (older.address() as { port: number }).port;
    try {
      await expect(dialWire({ address: `127.0.0.1:${port}`, token: TOKEN, role: 'peer', id: 'n2' })).rejects.toThrow(
        new DialError(`127.0.0.1:${port} speaks wire version 1 and this end ${WIRE_VERSION}: run the same Conclave version everywhere`, true),
      );
    } finally {
      older.close();
    }
  });

  it('a client that sends garbage or nothing is cut off without disturbing the server', async () => {
    const s = await server();
    const port = Number(s.address.split(':')[1]);
    const garbage = connect({ host: '127.0.0.1', port });
    garbage.resume();
    garbage.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await new Promise((resolve) => garbage.once('close', resolve));
    const { connection } = await dialWire({ address: s.address, token: TOKEN, role: 'peer', id: 'n3' });
    connections.push(connection);
    expect(s.refused[0]).toMatch(/above the \d+-byte limit/);
  });
});

describe('sockets that have not authenticated', () => {
  const strangers: Socket[] = [];
  afterEach(() => {
    for (const socket of strangers.splice(0)) socket.destroy();
  });

  /** A socket that connects and says nothing; `challenged` says whether the server took it (sent its challenge) or closed it. */
  function attempt(address: string): { socket: Socket; closed: Promise<void>; challenged: Promise<boolean> } {
    const socket = connect({ host: '127.0.0.1', port: Number(address.split(':')[1]) });
    strangers.push(socket);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const challenged = Promise.race([new Promise<boolean>((resolve) => socket.once('data', () => resolve(true))), closed.then(() => false)]);
    return { socket, closed, challenged };
  }

  /** A socket the server holds in its handshake. */
  async function silent(address: string): Promise<{ socket: Socket; closed: Promise<void> }> {
    const held = attempt(address);
    expect(await held.challenged).toBe(true);
    return held;
  }

  it('are closed when their handshake takes too long', async () => {
    const s = await server({ handshakes: { timeoutMs: 200 } });
    const started = Date.now();
    const { closed } = await silent(s.address);
    await closed;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(s.refused).toEqual([expect.stringMatching(/: the handshake took too long$/)]);
  });

  it('beyond the bound, the oldest is closed, and a member still gets in', async () => {
    const s = await server({ handshakes: { max: 4 } });
    const held = [];
    for (let index = 0; index < 4; index++) held.push(await silent(s.address));
    // A flood keeps arriving: each new socket pushes out the oldest, so none holds the port.
    const late = await silent(s.address);
    await held[0]!.closed;
    expect(s.refused).toEqual([expect.stringMatching(/: closed in its handshake to make room \(4 handshakes at once\)$/)]);
    const { connection } = await dialWire({ address: s.address, token: TOKEN, role: 'peer', id: 'n2' });
    connections.push(connection);
    await expect.poll(() => s.accepted.length).toBe(1);
    await held[1]!.closed;
    expect(late.socket.destroyed).toBe(false);
  });

  it('beyond the bound per address, a new one from that address is closed at once', async () => {
    const s = await server({ handshakes: { perAddressMax: 2, loopbackExempt: false } });
    const held = [await silent(s.address), await silent(s.address)];
    expect(await attempt(s.address).challenged).toBe(false);
    expect(s.refused).toEqual([expect.stringMatching(/: too many handshakes at once from 127\.0\.0\.1 \(at most 2\)$/)]);
    expect(held.map(({ socket }) => socket.destroyed)).toEqual([false, false]);
    // Once one of them is done, the address may try again.
    held[0]!.socket.destroy();
    await expect.poll(() => s.refused.length).toBe(2);
    expect(await attempt(s.address).challenged).toBe(true);
  });
});

describe('frames after the handshake', () => {
  /** A client and the server's end of its connection, through a proxy that plays an on-path attacker without the token. */
  async function throughProxy() {
    const s = await server();
    const proxy = await TcpProxy.start(Number(s.address.split(':')[1]));
    servers.push({ port: proxy.port, close: () => proxy.close() });
    const { connection, received, closed } = await dialed(s, proxy.address);
    connection.send({ t: 'msg', n: 1 });
    await expect.poll(() => received).toEqual([{ t: 'msg', n: 1 }]);
    return { proxy, connection, received, closed };
  }

  it('a frame injected into the stream closes the connection, unread', async () => {
    const { proxy, received, closed } = await throughProxy();
    proxy.inject(encodeFrame({ t: 'msg', n: 'injected' }), 'toTarget');
    await expect(closed).resolves.toBe(FRAME_AUTHENTICATION_FAILED);
    expect(received).toEqual([{ t: 'msg', n: 1 }]);
  });

  it('a frame altered on the way closes the connection, unread', async () => {
    const { proxy, connection, received, closed } = await throughProxy();
    proxy.rewrite = (chunk) => Buffer.from(chunk.toString('latin1').replace('"n":2', '"n":3'), 'latin1');
    connection.send({ t: 'msg', n: 2 });
    await expect(closed).resolves.toBe(FRAME_AUTHENTICATION_FAILED);
    expect(received).toEqual([{ t: 'msg', n: 1 }]);
  });

  it('a frame replayed closes the connection, unread', async () => {
    const { proxy, connection, received, closed } = await throughProxy();
    const seen: Buffer[] = [];
    proxy.rewrite = (chunk) => {
      seen.push(chunk);
      return chunk;
    };
    connection.send({ t: 'msg', n: 2 });
    await expect.poll(() => received.length).toBe(2);
    proxy.inject(Buffer.concat(seen), 'toTarget');
    await expect(closed).resolves.toBe(FRAME_AUTHENTICATION_FAILED);
    expect(received).toEqual([{ t: 'msg', n: 1 }, { t: 'msg', n: 2 }]);
  });
});

describe('closing', () => {
  it('what was sent before closing is delivered, a goodbye last, even from a backlog the kernel has not taken yet', async () => {
    const { connection, received, closed } = await dialed(await server());
    const bulk = { t: 'msg', pad: 'x'.repeat(60_000) };
    for (let index = 0; index < 150; index++) connection.send(bulk);
    expect(connection.backlogBytes).toBeGreaterThan(0);
    connection.send({ t: 'bye' });
    connection.close('stopping');
    await expect(closed).resolves.toBe('the connection closed');
    expect(received).toHaveLength(151);
    expect(received.at(-1)).toEqual({ t: 'bye' });
    await connection.released;
  });
});

describe('TLS', () => {
  let dir = '';
  afterEach(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  function certificates(): TlsFiles {
    dir = mkdtempSync(join(tmpdir(), 'conclave-tls-'));
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca');
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=127.0.0.1');
    run('x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.pem', '-days', '1');
    return { cert: readFileSync(join(dir, 'node.pem')), key: readFileSync(join(dir, 'node.key')), ca: readFileSync(join(dir, 'ca.pem')) };
  }

  it('with certificates, the same handshake runs inside TLS; a client without one is refused by TLS itself', async () => {
    const tls = certificates();
    const s = await server({ tls });
    const { connection } = await dialWire({ address: s.address, token: TOKEN, role: 'peer', id: 'n2', tls });
    connections.push(connection);
    await expect.poll(() => s.accepted.length).toBe(1);
    await expect(dialWire({ address: s.address, token: TOKEN, role: 'peer', id: 'n2', timeoutMs: 2_000 })).rejects.toBeInstanceOf(DialError);
  });

  it('sockets are counted and timed from the TCP accept, before TLS: idle ones cannot hold the port', async () => {
    const tls = certificates();
    const s = await server({ tls, handshakes: { perAddressMax: 2, loopbackExempt: false, timeoutMs: 300 } });
    const port = Number(s.address.split(':')[1]);
    const idle = (): { socket: Socket; closed: Promise<void> } => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
    };
    // Two idle sockets that never start TLS hold the address's share; a third is closed at once.
    const held = [idle(), idle()];
    await sleep(50);
    const third = idle();
    await third.closed;
    expect(held.map(({ socket }) => socket.destroyed)).toEqual([false, false]);
    // The held ones are closed by the handshake's deadline, TLS included.
    await Promise.all(held.map(({ closed }) => closed));
    expect(s.refused).toEqual([
      expect.stringMatching(/: too many handshakes at once from 127\.0\.0\.1 \(at most 2\)$/),
      expect.stringMatching(/: the TLS handshake took too long$/),
      expect.stringMatching(/: the TLS handshake took too long$/),
    ]);
    const { connection } = await dialWire({ address: s.address, token: TOKEN, role: 'peer', id: 'n2', tls });
    connections.push(connection);
    await expect.poll(() => s.accepted.length).toBe(1);
  });
});
