/**
 * What an application gets over HTTP: GET /leader answers 200 with { leader, term } while this
 * member leads and 503 otherwise (a load balancer's or Kubernetes' health check), GET /status
 * the agent's status. Nothing else; GET and HEAD only; no request body is read.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AgentStatus } from '../../shared/protocol/agent-wire.js';
import type { Endpoint } from './flags.js';

/** Connections the HTTP port holds at once; health checkers need few. */
export const HTTP_CONNECTIONS_MAX = 64;
const HTTP_REQUEST_TIMEOUT_MS = 5_000;

export interface LeaderAnswer {
  leader: string | null;
  term: number;
}

export interface AgentHttp {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAgentHttp(at: Endpoint, status: () => AgentStatus): Promise<AgentHttp> {
  const server: Server = createServer((request, response) => answer(request, response, status));
  server.maxConnections = HTTP_CONNECTIONS_MAX;
  server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
  server.headersTimeout = HTTP_REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = HTTP_REQUEST_TIMEOUT_MS;
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

function answer(request: IncomingMessage, response: ServerResponse, status: () => AgentStatus): void {
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
    const { id, status: node } = status();
    const leading = node.role === 'leader' && node.leaderId === id;
    const body: LeaderAnswer = { leader: node.leaderId, term: node.term };
    send(leading ? 200 : 503, body);
    return;
  }
  if (path === '/status') {
    send(200, status());
    return;
  }
  send(404, { error: 'not found: GET /leader or /status' });
}
