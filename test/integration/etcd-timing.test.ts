/** Reading a watched member's timing from /debug/vars: bounded in time and size, whatever the member sends. */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { READ_TIMEOUT_MS, readTiming } from '../../electron/targets/etcd/timing.js';

let server: Server | null = null;
const timers: Array<ReturnType<typeof setInterval>> = [];

afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve())));
  server = null;
});

async function member(answer: (response: ServerResponse) => void): Promise<string> {
  server = createServer((_request, response) => answer(response));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('readTiming', () => {
  it('reads the timing a member was started with', async () => {
    const endpoint = await member((response) => {
      response.setHeader('Content-Type', 'application/json');
      response.end(JSON.stringify(response.req.url === '/version' ? { etcdserver: '3.5.9' } : { cmdline: ['etcd', '--heartbeat-interval=50', '--election-timeout', '500'] }));
    });
    expect((await readTiming(endpoint, {}))?.config).toMatchObject({ heartbeatMs: 50, electionTimeoutMinMs: 500, preVote: true });
  });

  it('gives up on a member that trickles its answer, one byte every 500 ms, within its deadline', async () => {
    const endpoint = await member((response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.write('{"cmdline":[');
      timers.push(setInterval(() => response.write(' '), 500));
    });
    const startedAt = performance.now();
    expect(await readTiming(endpoint, {})).toBeNull();
    expect(performance.now() - startedAt).toBeLessThan(READ_TIMEOUT_MS + 1_000);
  });
});
