/**
 * The proxy in front of a playground member's peer URL: who sends each request (rafthttp's
 * X-Server-From header, or the connection that carried one), which way its messages go (a POST
 * to the member, a stream from it), and the console's rules enforced on it. Against a scripted
 * member on loopback; real etcd members: test/integration/etcd-playground.test.ts.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createRandom } from '../../shared/core/random.js';
import { HEALTHY_LINK } from '../../shared/protocol/faults.js';
import { PeerProxy, carriedLink, serverFrom } from '../../electron/targets/etcd/peer-proxy.js';

const IDS: Record<string, string> = { a1: 'n1', b2: 'n2', c3: 'n3' };

describe('which link a peer request travels', () => {
  it.each([
    ['POST', '/raft', 'n2', { from: 'n2', to: 'n1' }],
    ['POST', '/raft/snapshot', 'n3', { from: 'n3', to: 'n1' }],
    ['GET', '/raft/stream/message/b2', 'n2', { from: 'n1', to: 'n2' }],
    ['GET', '/raft/stream/msgappv2/b2', 'n2', { from: 'n1', to: 'n2' }],
    ['GET', '/raft/probing', 'n2', { from: 'n2', to: 'n1' }],
    ['GET', '/version', null, null],
    ['POST', '/raft', 'n1', null],
  ])('%s %s from %s, to the proxy of n1: %j', (method, path, sender, link) => {
    expect(carriedLink(method, path, 'n1', sender)).toEqual(link);
  });

  it('reads the sender from X-Server-From: a member id in hex', () => {
    expect(serverFrom({ 'x-server-from': '8E9E05C52164694D' })).toBe('8e9e05c52164694d');
    expect(serverFrom({ 'x-server-from': 'n2' })).toBeNull();
    expect(serverFrom({})).toBeNull();
  });
});

/** A scripted member: answers POSTs with 204 and keeps streams open, writing what `push` gives them. */
class FakeMember {
  readonly requests: Array<{ method: string; url: string; from: string | null }> = [];
  readonly streams = new Set<ServerResponse>();
  private constructor(readonly server: Server) {}

  static async start(): Promise<FakeMember> {
    let member: FakeMember | null = null;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      member!.requests.push({ method: req.method!, url: req.url!, from: (req.headers['x-server-from'] as string | undefined) ?? null });
      req.resume();
      if (req.url!.startsWith('/raft/stream/')) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.flushHeaders();
        member!.streams.add(res);
        res.once('close', () => member!.streams.delete(res));
        return;
      }
      req.on('end', () => res.writeHead(204).end());
    });
    member = new FakeMember(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return member;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  push(text: string): void {
    for (const stream of this.streams) stream.write(text);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let member: FakeMember;
let proxy: PeerProxy;
const agents: Agent[] = [];

async function setUp(): Promise<void> {
  member = await FakeMember.start();
  proxy = await PeerProxy.listen({ member: 'n1', upstreamPort: member.port, memberOf: (hex) => IDS[hex] ?? null, random: createRandom(1) });
}

/** A request through the proxy: its status, or the error that ended it. */
function send(method: string, path: string, from: string | null, agent?: Agent): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: proxy.port, method, path, headers: from === null ? {} : { 'X-Server-From': from }, agent: agent ?? false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(method === 'POST' ? 'message' : undefined);
  });
}

/** Opens a stream from `from`'s side and collects what the member writes to it. */
function openStream(from: string): Promise<{ received: () => string; arrivals: number[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxy.port, path: `/raft/stream/message/${from}`, headers: { 'X-Server-From': from }, agent: false }, (res) => {
      let text = '';
      const arrivals: number[] = [];
      const closed = new Promise<void>((done) => res.once('close', () => done()));
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        arrivals.push(performance.now());
      });
      res.on('error', () => undefined);
      resolve({ received: () => text, arrivals, closed });
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const cut = { ...HEALTHY_LINK, cut: true };

describe('the peer proxy', () => {
  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.destroy();
    await proxy.close();
    await member.stop();
  });

  it('forwards requests of known senders and of unknown ones', async () => {
    await setUp();
    expect(await send('POST', '/raft', 'b2')).toBe(204);
    expect(await send('GET', '/version', null)).toBe(204);
    expect(member.requests).toEqual([
      { method: 'POST', url: '/raft', from: 'b2' },
      { method: 'GET', url: '/version', from: null },
    ]);
    expect(proxy.stats).toMatchObject({ forwarded: 2, unidentified: 1, refused: 0 });
  });

  it('refuses the requests of a partitioned sender, in the direction their messages go', async () => {
    await setUp();
    // One way: n2 cannot reach n1; n1 still reaches n2.
    proxy.apply({ blocked: ['n2->n1'], links: [] });
    expect(await send('POST', '/raft', 'b2')).toBe('ECONNRESET');
    // n2's stream from n1 carries n1's messages to n2: open.
    const stream = await openStream('b2');
    await until('the stream', () => member.streams.size === 1);
    member.push('heartbeat');
    await until('the message', () => stream.received() === 'heartbeat');
    // n3 is not cut off at all.
    expect(await send('POST', '/raft', 'c3')).toBe(204);
    expect(proxy.stats).toMatchObject({ refused: 1 });
  });

  it('cuts the exchanges under way when a rule blocks their link, and lets them in again once healed', async () => {
    await setUp();
    const stream = await openStream('c3');
    await until('the stream', () => member.streams.size === 1);
    proxy.apply({ blocked: [], links: [{ from: 'n1', to: 'n3', fault: cut }] });
    await stream.closed;
    expect(proxy.stats.cut).toBe(1);
    await expect(openStream('c3')).rejects.toThrow(/ECONNRESET|socket hang up/);
    proxy.apply({ blocked: [], links: [] });
    const again = await openStream('c3');
    await until('the stream again', () => member.streams.size === 1);
    member.push('append');
    await until('the message', () => again.received() === 'append');
  });

  it('knows the sender of a request without the header by the connection it comes on', async () => {
    await setUp();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect(await send('POST', '/raft', 'b2', agent)).toBe(204);
    proxy.apply({ blocked: ['n2->n1'], links: [] });
    // A probe on n2's connection is n2's: refused. The same probe on a fresh connection cannot be told apart.
    expect(await send('GET', '/raft/probing', null, agent)).toMatch(/ECONNRESET|socket hang up/);
    expect(await send('GET', '/raft/probing', null)).toBe(204);
  });

  it('delays the messages of a slow link, in order', async () => {
    await setUp();
    proxy.apply({ blocked: [], links: [{ from: 'n1', to: 'n2', fault: { ...HEALTHY_LINK, latencyMs: 80, jitterMs: 20 } }] });
    const stream = await openStream('b2');
    await until('the stream', () => member.streams.size === 1);
    const sentAt = performance.now();
    for (const word of ['one ', 'two ', 'three']) member.push(word);
    await until('the messages', () => stream.received() === 'one two three');
    expect(stream.arrivals[0]! - sentAt).toBeGreaterThanOrEqual(55);
    // The other direction, n2 to n1, is not slowed.
    const postedAt = performance.now();
    expect(await send('POST', '/raft', 'b2')).toBe(204);
    expect(performance.now() - postedAt).toBeLessThan(55);
  });

  it('holds up a member writing to a peer that stopped reading, rather than buffering what it writes', async () => {
    await setUp();
    // n2's stream from n1, whose reader (a frozen n2) reads nothing.
    const frozen = request({ host: '127.0.0.1', port: proxy.port, path: '/raft/stream/message/b2', headers: { 'X-Server-From': 'b2' }, agent: false }, (res) => res.pause());
    frozen.on('error', () => undefined);
    frozen.end();
    try {
      await until('the stream', () => member.streams.size === 1);
      const [stream] = member.streams;
      const chunk = Buffer.alloc(1024 * 1024);
      let written = 0;
      // n1 writes as fast as its connection takes it, up to 64 MiB; a write not drained within 500 ms means it is held up.
      while (written < 64 * 1024 * 1024) {
        written += chunk.length;
        if (stream!.write(chunk)) continue;
        const drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 500);
          stream!.once('drain', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        if (!drained) break;
      }
      expect(written).toBeLessThan(32 * 1024 * 1024);
    } finally {
      frozen.destroy();
    }
  });
});
