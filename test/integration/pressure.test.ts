/**
 * The hub under abuse: one client flooding it with requests, another that stops reading. Either
 * way every other client must keep being answered, and the hub's memory must stay bounded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CONTROL_NAMESPACE, type ClosingNotice } from '../../shared/protocol/types.js';
import { EXPENSIVE_REQUEST_COST, REQUEST_BURST_MAX } from '../../electron/hub/session.js';
import { connectControl, connected, startTestHub, waitFor, type ControlClient, type TestHub } from './harness.js';

/** How long another client may wait for an answer while the hub is under pressure (issue 8). */
const ANSWER_MS_MAX = 1_000;

let running: TestHub | null = null;
const clients: ControlClient[] = [];
const rawSockets: WebSocket[] = [];

function client(url: string) {
  const created = connectControl(url);
  clients.push(created.socket);
  return created;
}

afterEach(async () => {
  for (const socket of clients.splice(0)) socket.disconnect();
  // A client that never reads would hold the hub's close for the WebSocket close timeout.
  for (const socket of rawSockets.splice(0)) socket.terminate();
  await running?.stop();
  running = null;
});

/** Asks `inspect` every 50 ms until `untilMs` (performance.now()) or `done()`, recording how long each answer took (Infinity: none within 2 s). */
async function probeAnswers(socket: ControlClient, untilMs: number, done: () => boolean = () => false): Promise<number[]> {
  const latencies: number[] = [];
  while (performance.now() < untilMs && !done()) {
    const askedAt = performance.now();
    try {
      const ack = await socket.timeout(2 * ANSWER_MS_MAX).emitWithAck('inspect', 'n1');
      latencies.push(ack.ok ? performance.now() - askedAt : Infinity);
    } catch {
      latencies.push(Infinity);
    }
    await sleep(50);
  }
  return latencies;
}

describe('a client flooding the hub with requests', () => {
  it('is refused beyond its rate at once and then dropped, while another client is answered within 1 s throughout', async () => {
    running = await startTestHub();
    const watcher = client(running.hub.url);
    await waitFor('a leader', () => watcher.latest()?.leader);
    const FLOOD_MS = 3_000;
    const REQUESTS_PER_MS = 5; // 5,000 configure commands a second
    const floodStartedAt = performance.now();
    const floodEndsAt = floodStartedAt + FLOOD_MS;
    const rssBefore = process.memoryUsage().rss;
    let rssMax = rssBefore;
    const rssSampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 50);
    const acks = { ok: 0, rateLimited: 0, other: 0 };
    const notices: ClosingNotice[] = [];
    let connections = 0;
    // Like an attacker, the flooder reconnects whenever the hub drops it.
    const flood = async (): Promise<void> => {
      let sent = 0;
      while (performance.now() < floodEndsAt) {
        const { socket } = client(running!.hub.url);
        connections += 1;
        socket.on('closing', (notice) => notices.push(notice));
        await connected(socket);
        while (socket.connected && performance.now() < floodEndsAt) {
          const due = Math.min(Math.floor((performance.now() - floodStartedAt) * REQUESTS_PER_MS) - sent, 500);
          for (let i = 0; i < due; i++) {
            socket.emit('command', { type: 'configure' }, (ack) => {
              if (ack.ok) acks.ok += 1;
              else if (ack.error.startsWith('rate limited')) acks.rateLimited += 1;
              else acks.other += 1;
            });
          }
          sent += Math.max(0, due);
          await sleep(5);
        }
        socket.disconnect();
      }
    };
    const [latencies] = await Promise.all([probeAnswers(watcher.socket, floodEndsAt + 500), flood()]);
    clearInterval(rssSampler);
    expect(Math.max(...latencies), `answers took ${latencies.map(Math.round).join(', ')} ms`).toBeLessThan(ANSWER_MS_MAX);
    expect(latencies.length).toBeGreaterThan(20);
    expect(acks.rateLimited).toBeGreaterThan(1_000);
    // Each connection gets its burst, and a little more as the bucket refills before it is dropped.
    expect(acks.ok).toBeLessThanOrEqual((REQUEST_BURST_MAX / EXPENSIVE_REQUEST_COST + 1) * connections);
    expect(acks.other).toBe(0);
    expect(notices[0]).toMatchObject({ reason: 'flood', message: expect.stringContaining('too many requests') });
    expect(rssMax - rssBefore, 'RSS growth').toBeLessThan(200 * 1024 * 1024);
  });
});

/** A raw WebSocket speaking engine.io / socket.io to `/control`, which can stop reading. */
async function connectRawControl(port: number) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  rawSockets.push(socket);
  const frames: string[] = [];
  let closed = false;
  socket.on('message', (data: Buffer) => {
    const frame = data.toString();
    if (frame === '2') socket.send('3'); // engine.io ping, pong
    else frames.push(frame);
  });
  socket.on('close', () => (closed = true));
  await waitFor('the engine.io handshake', () => frames.find((frame) => frame.startsWith('0{')));
  socket.send(`40${CONTROL_NAMESPACE},`);
  await waitFor('the /control connection', () => frames.find((frame) => frame.startsWith(`40${CONTROL_NAMESPACE},`)));
  return { socket, frames, closed: () => closed };
}

/** A /metrics value, or null while the hub does not report it. */
async function metric(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const match = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return match === null ? null : Number(match[1]);
}

describe('a client that stops reading', () => {
  it('is disconnected with a reason before the hub buffers much for it, while another client is answered within 1 s throughout', async () => {
    // A busy hub: 25 nodes, and a message batch (24 election timers at least) every millisecond
    // to fill the stalled client's socket buffers (megabytes, in the kernel) quickly.
    running = await startTestHub({ nodes: 25, batchIntervalMs: 1 });
    const { url, port } = running.hub;
    const watcher = client(url);
    await waitFor('a leader', () => watcher.latest()?.leader, 10_000);
    const stalled = await connectRawControl(port);
    stalled.socket.pause();
    const startedAt = performance.now();
    const rssBefore = process.memoryUsage().rss;
    let dropped = false;
    const probing = probeAnswers(watcher.socket, startedAt + 25_000, () => dropped);
    await waitFor(
      'the hub to drop the stalled client',
      async () => (await metric(url, 'conclave_control_disconnects_total{reason="slow"}')) === 1,
      25_000,
    );
    dropped = true;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    // Reading again within the grace period, it finds the notice after what was already in its buffers.
    stalled.socket.resume();
    await waitFor('the connection closed', () => stalled.closed(), 5_000);
    const latencies = await probing;
    expect(Math.max(...latencies), `answers took ${latencies.map(Math.round).join(', ')} ms`).toBeLessThan(ANSWER_MS_MAX);
    expect(latencies.length).toBeGreaterThan(20);
    const notice = stalled.frames.find((frame) => frame.startsWith(`42${CONTROL_NAMESPACE},["closing"`));
    expect(notice, 'a closing notice').toBeDefined();
    expect(JSON.parse(notice!.slice(`42${CONTROL_NAMESPACE},`.length))).toEqual(['closing', { reason: 'slow', message: expect.stringContaining('reading too slowly') }]);
    expect(await metric(url, 'conclave_control_clients')).toBe(1);
    expect(rssGrowth, 'RSS growth').toBeLessThan(100 * 1024 * 1024);
  });
});

describe('stopping the hub', () => {
  it('does not wait for a client that stopped reading', async () => {
    const stopping = await startTestHub();
    const stalled = await connectRawControl(stopping.hub.port);
    stalled.socket.pause();
    const startedAt = performance.now();
    await stopping.stop();
    // The WebSocket close handshake would wait 30 s for a reply that never comes.
    expect(performance.now() - startedAt).toBeLessThan(5_000);
  });
});
