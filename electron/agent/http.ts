/**
 * What an application gets over HTTP: GET /leader answers 200 with { leader, term, leaseMs } while
 * this member holds the leader lease (docs/lease.md) and 503 with { leader, term, reason }
 * otherwise (a load balancer's or Kubernetes' health check), GET /status the agent's status.
 * Nothing else; GET and HEAD only; no request body is read.
 *
 * No address can starve the health check of the others: each holds at most a few sockets, a
 * socket must send its request's headers within a short deadline and is closed when idle, and
 * when the port is full a newcomer takes the place of the oldest socket of the address that
 * holds the most. `/status` (the membership, addresses, faults) answers only requests that name
 * this member by one of its addresses, so that a page in a browser cannot read it through DNS
 * rebinding; `/leader` answers whatever the Host, since checkers name a member in many ways and
 * it says only who leads in which term.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AgentStatus } from '../../shared/protocol/agent-wire.js';
import { createAccessPolicy, type AccessPolicy } from '../base/access.js';
import type { Endpoint } from './flags.js';

/** Sockets the HTTP port holds at once; health checkers need few. */
export const HTTP_CONNECTIONS_MAX = 64;
/** Of those, from one address (a checker polls over one or two). */
export const HTTP_CONNECTIONS_PER_ADDRESS_MAX = 8;
/** A request's headers must arrive within this long (from its first byte: slow partial requests). */
export const HTTP_HEADERS_TIMEOUT_MS = 2_000;
/** A socket that sends nothing for this long is closed (one that never sends a byte, an idle keep-alive). */
export const HTTP_IDLE_MS = 2_000;
/** How often Node checks the header deadline. */
const HTTP_DEADLINE_CHECK_MS = 250;

/** GET /leader's body: who leads in which term; on the leader how long its lease still runs, elsewhere why this member does not answer 200. */
export interface LeaderAnswer {
  leader: string | null;
  term: number;
  leaseMs?: number;
  reason?: string;
}

/** What the HTTP port reads from the agent. */
export interface AgentHttpSource {
  status: () => AgentStatus;
  /** Whether this member answers 200, and the body. */
  leader: () => { leading: boolean; body: LeaderAnswer };
}

export interface AgentHttp {
  readonly port: number;
  close(): Promise<void>;
}

/** `names`: what other machines call this member's HTTP address (the cluster file's), besides loopback and the address it listens on. */
export async function startAgentHttp(at: Endpoint, source: AgentHttpSource, names: readonly string[] = []): Promise<AgentHttp> {
  const access = createAccessPolicy(at.host, [], names, 'agent');
  const server: Server = createServer(
    { headersTimeout: HTTP_HEADERS_TIMEOUT_MS, requestTimeout: HTTP_HEADERS_TIMEOUT_MS, keepAliveTimeout: HTTP_IDLE_MS, connectionsCheckingInterval: HTTP_DEADLINE_CHECK_MS },
    (request, response) => answer(request, response, source, access),
  );
  server.setTimeout(HTTP_IDLE_MS, (socket) => socket.destroy());
  admitFairly(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : at.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Counts sockets per address from the accept: an address at its share gets no more; a full port
 * makes room by closing the oldest socket of the address holding the most.
 */
function admitFairly(server: Server): void {
  const byAddress = new Map<string, Socket[]>();
  let total = 0;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const held = byAddress.get(address) ?? [];
    if (held.length >= HTTP_CONNECTIONS_PER_ADDRESS_MAX) {
      socket.destroy();
      return;
    }
    if (total >= HTTP_CONNECTIONS_MAX) {
      let crowded: Socket[] = [];
      for (const sockets of byAddress.values()) if (sockets.length > crowded.length) crowded = sockets;
      crowded[0]?.destroy();
    }
    held.push(socket);
    byAddress.set(address, held);
    total += 1;
    socket.once('close', () => {
      total -= 1;
      const left = (byAddress.get(address) ?? []).filter((other) => other !== socket);
      if (left.length === 0) byAddress.delete(address);
      else byAddress.set(address, left);
    });
  });
}

function answer(request: IncomingMessage, response: ServerResponse, source: AgentHttpSource, access: AccessPolicy): void {
  const send = (code: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = `${JSON.stringify(body)}\n`;
    response.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
    response.end(request.method === 'HEAD' ? undefined : text);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(405, { error: 'GET or HEAD only' }, { allow: 'GET, HEAD' });
    return;
  }
  const path = (request.url ?? '/').split('?')[0];
  if (path === '/leader') {
    // Read at the moment of the request: a lease that ended while the agent was frozen is over.
    const { leading, body } = source.leader();
    send(leading ? 200 : 503, body);
    return;
  }
  if (path === '/status') {
    const misdirected = access.hostRefusal(request.headers.host);
    if (misdirected !== null) {
      send(421, { error: misdirected });
      return;
    }
    send(200, source.status());
    return;
  }
  send(404, { error: 'not found: GET /leader or /status' });
}
