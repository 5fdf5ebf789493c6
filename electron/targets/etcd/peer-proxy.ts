/**
 * A small HTTP proxy in front of one playground member's peer URL, as etcd's own functional
 * tests put one (pkg/proxy): the members advertise the proxy, so every byte between two members
 * passes through Conclave, which enforces the console's LinkRules on it.
 *
 * Who sends: etcd's rafthttp names the sending member in the `X-Server-From` header (its id in
 * hex) of every raft request: pipeline POSTs to /raft, snapshots to /raft/snapshot, and the GETs
 * that open /raft/stream/*. A member's connections are its own, so a request without the header
 * (a probe, a version check) on a connection that carried one comes from the same member.
 *
 * Which way messages go: a POST carries messages from the sender to the member behind the proxy;
 * a stream GET is opened by the member that *receives*: the member behind the proxy writes its
 * messages to the sender in the response. A blocked or cut link refuses the request (the
 * connection is reset, like a firewall's reject) and, when the rules change, cuts the exchanges
 * already under way; latency delays the messages (in order: a TCP stream does not reorder).
 * Loss and duplication have no meaning on a TCP stream; the playground refuses them.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { Random } from '../../../shared/core/random.js';
import { LinkRules, type NetworkTable } from '../../../shared/network/link-rules.js';

const HOST = '127.0.0.1';
/** Bytes a delayed direction may hold before it stops reading from its source. */
const DELAYED_BYTES_MAX = 4 * 1024 * 1024;

export interface DirectedLink {
  from: string;
  to: string;
}

/**
 * The link whose messages a peer request carries, given the member behind the proxy and the
 * sender's name (from its X-Server-From header or its connection); null when the sender is unknown.
 */
export function carriedLink(method: string | undefined, path: string | undefined, receiver: string, sender: string | null): DirectedLink | null {
  if (sender === null || sender === receiver) return null;
  const stream = method === 'GET' && (path ?? '').startsWith('/raft/stream/');
  return stream ? { from: receiver, to: sender } : { from: sender, to: receiver };
}

/** The X-Server-From header: a member id in hex, or null. */
export function serverFrom(headers: IncomingHttpHeaders): string | null {
  const value = headers['x-server-from'];
  return typeof value === 'string' && /^[0-9a-f]{1,16}$/i.test(value) ? value.toLowerCase() : null;
}

export interface PeerProxyOptions {
  /** The member behind the proxy. */
  member: string;
  /** Its own peer port on 127.0.0.1. */
  upstreamPort: number;
  /** The name of the member with this id (hex), or null while unknown. */
  memberOf: (hexId: string) => string | null;
  /** Jitter of delayed links. */
  random: Random;
}

export interface PeerProxyStats {
  /** Requests forwarded. */
  forwarded: number;
  /** Requests whose sender could not be told (they pass). */
  unidentified: number;
  /** Requests refused because their link was blocked or cut. */
  refused: number;
  /** Exchanges under way cut when the rules changed. */
  cut: number;
}

interface Exchange {
  link: DirectedLink | null;
  cut(): void;
}

/** Runs callbacks in order, each once its link's delay has passed. */
class DelayLine {
  private readonly queue: Array<{ dueMs: number; bytes: number; run: () => void }> = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastDueMs = 0;
  private held = 0;

  constructor(
    private readonly delayMs: () => number,
    private readonly onBacklog: (full: boolean) => void,
  ) {}

  push(bytes: number, run: () => void): void {
    const delay = this.delayMs();
    if (delay <= 0 && this.queue.length === 0) {
      run();
      return;
    }
    const dueMs = Math.max(this.lastDueMs, performance.now() + delay);
    this.lastDueMs = dueMs;
    this.queue.push({ dueMs, bytes, run });
    this.held += bytes;
    if (this.held > DELAYED_BYTES_MAX) this.onBacklog(true);
    if (this.timer === null) this.arm();
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  private arm(): void {
    const next = this.queue[0];
    if (next === undefined) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, next.dueMs - performance.now()));
  }

  private release(): void {
    this.timer = null;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.dueMs <= now + 0.5) {
      const item = this.queue.shift()!;
      this.held -= item.bytes;
      item.run();
    }
    if (this.held <= DELAYED_BYTES_MAX / 2) this.onBacklog(false);
    this.arm();
  }
}

/**
 * One direction of an exchange: its source is paused while its delay line holds too much or its
 * sink's buffer is full, so a member that stops reading (paused) holds up its sender through TCP,
 * not in Conclave's memory.
 */
class Flow {
  private lineFull = false;
  private sinkFull = false;

  constructor(
    private readonly source: Readable,
    private readonly sink: Writable,
  ) {
    sink.on('drain', () => {
      this.sinkFull = false;
      this.update();
    });
  }

  write(chunk: Buffer): void {
    if (this.sink.write(chunk)) return;
    this.sinkFull = true;
    this.update();
  }

  backlog(full: boolean): void {
    this.lineFull = full;
    this.update();
  }

  private update(): void {
    if (this.lineFull || this.sinkFull) this.source.pause();
    else this.source.resume();
  }
}

/** Ends a connection with a reset (RST), as a firewall's reject does, rather than a FIN. */
function reset(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

export class PeerProxy {
  readonly stats: PeerProxyStats = { forwarded: 0, unidentified: 0, refused: 0, cut: 0 };
  /** The console's rules, as last applied. */
  private readonly rules = new LinkRules();
  private readonly server: Server;
  private readonly agent = new Agent({ keepAlive: true });
  private readonly exchanges = new Set<Exchange>();
  /** The member each connection was seen to come from. */
  private readonly senders = new WeakMap<Socket, string>();
  private closed = false;

  static async listen(options: PeerProxyOptions, port = 0): Promise<PeerProxy> {
    const proxy = new PeerProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(port, HOST, () => {
        proxy.server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  private constructor(private readonly options: PeerProxyOptions) {
    // Snapshots may take long to upload, and streams live for as long as both members do.
    this.server = createServer({ requestTimeout: 0, keepAliveTimeout: 60_000 }, (request, response) => this.exchange(request, response));
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  /** Takes the console's rules: exchanges on links that are now blocked or cut are cut. */
  apply(table: NetworkTable): void {
    this.rules.load(table);
    for (const exchange of this.exchanges) {
      if (exchange.link !== null && !this.rules.open(exchange.link.from, exchange.link.to)) {
        this.stats.cut += 1;
        exchange.cut();
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const exchange of this.exchanges) exchange.cut();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    this.agent.destroy();
    await closed;
  }

  private senderOf(request: IncomingMessage): string | null {
    const hex = serverFrom(request.headers);
    const named = hex === null ? null : this.options.memberOf(hex);
    if (named !== null) {
      this.senders.set(request.socket, named);
      return named;
    }
    return this.senders.get(request.socket) ?? null;
  }

  private delayOf(link: DirectedLink | null): number {
    if (link === null) return 0;
    const fault = this.rules.faultOf(link.from, link.to);
    if (fault === undefined || fault.cut) return 0;
    const jitterMs = fault.jitterMs ?? 0;
    return Math.max(0, (fault.latencyMs ?? 0) + (jitterMs > 0 ? this.options.random.between(-jitterMs, jitterMs) : 0));
  }

  private exchange(request: IncomingMessage, response: ServerResponse): void {
    const link = carriedLink(request.method, request.url, this.options.member, this.senderOf(request));
    if (link === null) this.stats.unidentified += 1;
    if (this.closed || (link !== null && !this.rules.open(link.from, link.to))) {
      if (link !== null) this.stats.refused += 1;
      reset(request.socket);
      return;
    }
    this.stats.forwarded += 1;
    const upstream = httpRequest({ host: HOST, port: this.options.upstreamPort, method: request.method, path: request.url, headers: request.headers, agent: this.agent });
    const lines: DelayLine[] = [];
    const exchange: Exchange = {
      link,
      cut: () => {
        for (const line of lines) line.clear();
        upstream.destroy();
        reset(request.socket);
      },
    };
    this.exchanges.add(exchange);
    response.once('close', () => {
      this.exchanges.delete(exchange);
      for (const line of lines) line.clear();
      upstream.destroy();
    });

    // Messages go one way: the request's body (a POST) or the response's (a stream).
    const delayRequest = link !== null && link.to === this.options.member;
    const delay = (): number => this.delayOf(link);
    upstream.on('error', () => request.socket.destroy());
    upstream.on('response', (reply) => {
      response.writeHead(reply.statusCode ?? 502, reply.headers);
      response.flushHeaders();
      const flow = new Flow(reply, response);
      const line = new DelayLine(delayRequest ? () => 0 : delay, (full) => flow.backlog(full));
      lines.push(line);
      reply.on('data', (chunk: Buffer) => line.push(chunk.length, () => flow.write(chunk)));
      reply.on('end', () => line.push(0, () => response.end()));
      reply.on('error', () => request.socket.destroy());
    });
    const flow = new Flow(request, upstream);
    const line = new DelayLine(delayRequest ? delay : () => 0, (full) => flow.backlog(full));
    lines.push(line);
    request.on('data', (chunk: Buffer) => line.push(chunk.length, () => flow.write(chunk)));
    request.on('end', () => line.push(0, () => upstream.end()));
  }
}
