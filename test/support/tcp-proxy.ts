/**
 * A userspace TCP proxy on 127.0.0.1 for wire tests: it forwards each connection to a target port
 * and can play the network's tricks on the connections it holds: freeze them (a host that lost
 * power: nothing passes, nothing closes), cut them, refuse new ones, or let the test rewrite or
 * inject bytes in one direction (an on-path attacker).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type Direction = 'toTarget' | 'toClient';

interface Pair {
  client: Socket;
  upstream: Socket;
  frozen: boolean;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private refusing = false;
  /** Connections forwarded so far. */
  accepted = 0;
  /** Rewrites each chunk passing in a direction (return it unchanged to let it through). */
  rewrite: ((chunk: Buffer, direction: Direction) => Buffer) | null = null;

  private constructor(
    private readonly server: Server,
    /** The port new connections are forwarded to. */
    public targetPort: number,
  ) {
    server.on('connection', (client) => this.forward(client));
  }

  /** A proxy to `targetPort`, listening on `port` (0: any free one). */
  static async start(targetPort: number, port = 0): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new TcpProxy(server, targetPort);
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Connections forwarded and still open on both sides. */
  get open(): number {
    return [...this.pairs].filter((pair) => !pair.frozen).length;
  }

  /** The connections held now stop passing and reading bytes and never close: the other end went dark. */
  freeze(): void {
    for (const pair of this.pairs) {
      pair.frozen = true;
      pair.client.pause();
      pair.upstream.pause();
    }
  }

  /** Closes every connection held now, both sides. */
  cut(): void {
    for (const pair of this.pairs) this.drop(pair);
  }

  /** New connections are closed at once while on. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Writes bytes into the live connections in one direction, as if they came from the other end. */
  inject(bytes: Buffer, direction: Direction): void {
    for (const pair of this.pairs) {
      if (!pair.frozen) (direction === 'toTarget' ? pair.upstream : pair.client).write(bytes);
    }
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: Socket): void {
    client.on('error', () => undefined);
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.accepted += 1;
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    upstream.on('error', () => undefined);
    const pair: Pair = { client, upstream, frozen: false };
    this.pairs.add(pair);
    const pass = (from: Socket, to: Socket, direction: Direction): void => {
      from.on('data', (chunk: Buffer) => {
        if (!pair.frozen) to.write(this.rewrite === null ? chunk : this.rewrite(chunk, direction));
      });
      from.on('close', () => {
        if (!pair.frozen) this.drop(pair);
      });
    };
    pass(client, upstream, 'toTarget');
    pass(upstream, client, 'toClient');
  }

  private drop(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
