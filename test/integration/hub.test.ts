/**
 * The `/control` contract of docs/protocol.md, exercised by real socket.io clients against a
 * real hub on an ephemeral port.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_COMMAND_JSON_CHARS } from '../../shared/protocol/commands.js';
import type { ClusterEvent, ClusterSnapshot } from '../../shared/protocol/types.js';
import { startHub } from '../../electron/hub/hub.js';
import type { Target } from '../../electron/targets/target.js';
import { REQUEST_BURST_MAX, REQUESTS_PER_SECOND_MAX } from '../../electron/hub/session.js';
import { connectControl, connected, refused, startTestHub, waitFor, type ControlClient, type TestHub } from './harness.js';

let running: TestHub | null = null;
const clients: ControlClient[] = [];

async function hub(options: Parameters<typeof startTestHub>[0] = {}): Promise<TestHub> {
  running = await startTestHub(options);
  return running;
}

function client(url: string, options: Parameters<typeof connectControl>[1] = {}) {
  const created = connectControl(url, options);
  clients.push(created.socket);
  return created;
}

/** A GET that sends the path and headers exactly as given (fetch normalizes paths and will not send Host). */
function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

afterEach(async () => {
  for (const socket of clients.splice(0)) socket.disconnect();
  await running?.stop();
  running = null;
});

describe('/control: snapshots and events', () => {
  it('sends the history, then a snapshot, on connect', async () => {
    const { hub: h } = await hub();
    const { socket, received } = client(h.url);
    await connected(socket);
    await waitFor('first snapshot', () => received.snapshots[0]);
    expect(received.order.slice(0, 2)).toEqual(['history', 'snapshot']);
    const snapshot = received.snapshots[0]!;
    expect(snapshot.algorithm).toBe('raft');
    expect(snapshot.config).toMatchObject({ heartbeatMs: 50, electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300 });
    expect(snapshot.nodes.map((node) => node.id)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    for (const node of snapshot.nodes) {
      expect(Object.keys(node).sort()).toEqual(['capabilities', 'id', 'leaderId', 'priority', 'role', 'status', 'term', 'votedFor']);
      expect([node.priority, node.capabilities]).toEqual([1, {}]);
    }
    expect(snapshot.leadership).toEqual({ takeoverAfterMs: 900, preferredLeader: null });
  });

  it('streams a leader election as events and coalesced snapshots', async () => {
    const { hub: h } = await hub();
    const { received, latest } = client(h.url);
    const leader = await waitFor('a leader', () => latest()?.leader);
    expect(received.events.some((event) => event.type === 'leader' && event.nodeId === leader.id)).toBe(true);
    const followers = await waitFor('everyone following', () => {
      const nodes = latest()?.nodes ?? [];
      return nodes.length === 5 && nodes.every((node) => node.leaderId === leader.id) && nodes;
    });
    expect(followers.filter((node) => node.role === 'leader').map((node) => node.id)).toEqual([leader.id]);
    for (let i = 1; i < received.events.length; i++) expect(received.events[i]!.seq).toBe(received.events[i - 1]!.seq + 1);
  });

  it('sends at most one snapshot per 50 ms however busy the cluster is, besides one per change of leader', async () => {
    const { hub: h, runtime: cluster } = await hub();
    const { socket, received } = client(h.url);
    await connected(socket);
    await waitFor('a leader', () => received.snapshots.at(-1)?.leader);
    const start = received.snapshots.length;
    const eventsBefore = received.events.length;
    const startedAt = performance.now();
    // Reboot every node over and over: far more changes than snapshots.
    for (let round = 0; round < 20; round++) {
      for (const id of cluster.cluster.members) cluster.execute({ type: 'restart', nodeId: id });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const elapsed = performance.now() - startedAt;
    const sent = received.snapshots.length - start;
    const leadershipChanges = received.events.slice(eventsBefore).filter((event) => ['leader', 'quorum', 'leader-lost'].includes(event.type)).length;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 1 + leadershipChanges);
  });

  it('a change of leader reaches clients at once, not after the coalescing interval', async () => {
    const { hub: h, runtime } = await hub({ snapshotIntervalMs: 5_000 });
    const { socket, received, latest } = client(h.url);
    await connected(socket);
    const old = await waitFor('a leader', () => latest()?.leader, 15_000);
    expect(runtime.execute({ type: 'kill', nodeId: old.id })).toEqual({ ok: true });
    // Within 4 s: with the 5 s interval, a coalesced snapshot could not have come that soon.
    await waitFor('the new leader in a snapshot', () => received.snapshots.some((snapshot) => snapshot.leader !== null && snapshot.leader.id !== old.id), 4_000);
  });
});

describe('/control: configure', () => {
  it('resets every client to the new run before any event of it: history, snapshot, then events from seq 1', async () => {
    const { hub: h } = await hub();
    const { socket, latest } = client(h.url);
    await waitFor('a leader', () => latest()?.leader);
    const log: Array<{ kind: 'history'; events: ClusterEvent[] } | { kind: 'snapshot'; snapshot: ClusterSnapshot } | { kind: 'event'; event: ClusterEvent }> = [];
    socket.on('history', (events) => log.push({ kind: 'history', events }));
    socket.on('snapshot', (snapshot) => log.push({ kind: 'snapshot', snapshot }));
    socket.on('event', (event) => log.push({ kind: 'event', event }));
    expect(await socket.timeout(2_000).emitWithAck('command', { type: 'configure', nodes: 3 })).toEqual({ ok: true });
    await waitFor('a leader of the new run', () => latest()?.nodes.length === 3 && latest()?.leader);
    const reset = log.findIndex((entry) => entry.kind === 'history');
    expect(reset).toBeGreaterThanOrEqual(0);
    expect(log[reset]).toEqual({ kind: 'history', events: [] });
    expect(log[reset + 1]).toMatchObject({ kind: 'snapshot', snapshot: { lastEventSeq: 0 } });
    const seqs = (entries: typeof log) => entries.flatMap((entry) => (entry.kind === 'event' ? [entry.event.seq] : []));
    const before = seqs(log.slice(0, reset));
    for (let i = 1; i < before.length; i++) expect(before[i], 'events of the old run keep counting up').toBe(before[i - 1]! + 1);
    const after = seqs(log.slice(reset));
    expect(after.length).toBeGreaterThan(0);
    expect(after).toEqual(after.map((_, i) => i + 1));
  });
});

describe('/control: commands', () => {
  it('kill of the leader is acknowledged, and another node leads in a higher term', async () => {
    const { hub: h } = await hub();
    const { socket, received, latest } = client(h.url);
    const old = await waitFor('a leader', () => latest()?.leader);
    expect(await socket.timeout(2_000).emitWithAck('command', { type: 'kill', nodeId: old.id })).toEqual({ ok: true });
    const next = await waitFor('a new leader', () => {
      const leader = latest()?.leader;
      return leader && leader.id !== old.id && leader;
    });
    expect(next.term).toBeGreaterThan(old.term);
    expect(latest()!.nodes.find((node) => node.id === old.id)).toMatchObject({ status: 'down', role: null });
    expect(received.events.some((event) => event.type === 'kill' && event.nodeId === old.id)).toBe(true);
  });

  it('restart brings a killed node back as a follower of the leader', async () => {
    const { hub: h } = await hub();
    const { socket, latest } = client(h.url);
    await waitFor('a leader', () => latest()?.leader);
    const victim = latest()!.nodes.find((node) => node.role === 'follower')!.id;
    expect(await socket.emitWithAck('command', { type: 'kill', nodeId: victim })).toEqual({ ok: true });
    await waitFor('victim down', () => latest()!.nodes.find((node) => node.id === victim)!.status === 'down');
    expect(await socket.emitWithAck('command', { type: 'restart', nodeId: victim })).toEqual({ ok: true });
    const back = await waitFor('victim following', () => {
      const node = latest()!.nodes.find((n) => n.id === victim)!;
      return node.status === 'up' && node.role === 'follower' && node.leaderId === latest()!.leader?.id && node;
    });
    expect(back.term).toBe(latest()!.leader!.term);
  });

  it('a priority set over /control reaches the snapshot and the events, and a higher priority takes leadership over, saying why', async () => {
    const { hub: h } = await hub();
    const { socket, received, latest } = client(h.url);
    const old = await waitFor('a leader', () => latest()?.leader);
    const preferred = latest()!.nodes.find((node) => node.id !== old.id)!.id;
    expect(await socket.timeout(2_000).emitWithAck('command', { type: 'priority', nodeId: preferred, priority: 5 })).toEqual({ ok: true });
    expect(await socket.timeout(2_000).emitWithAck('command', { type: 'capabilities', nodeId: preferred, capabilities: { zone: 'main' } })).toEqual({ ok: true });
    const shown = await waitFor('the new priority', () => latest()!.nodes.find((node) => node.id === preferred && node.priority === 5 && node.capabilities?.zone === 'main'));
    expect(shown).toBeDefined();
    await waitFor('the preferred node to lead', () => latest()?.leader?.id === preferred || undefined, 5_000);
    expect(received.events.find((event) => event.type === 'priority')).toMatchObject({ nodeId: preferred, priority: 5, previous: 1 });
    expect(received.events.find((event) => event.type === 'transfer')).toMatchObject({ from: old.id, to: preferred, reason: expect.stringMatching(/^priority takeover: /) });
    expect(await socket.timeout(2_000).emitWithAck('command', { type: 'priority', nodeId: preferred, priority: -1 })).toEqual({
      ok: false,
      error: 'priority command.priority must be between 0 and 1000 (got -1)',
    });
  });

  it.each([
    ['not an object', 'kill n1', 'command must be an object'],
    ['an unknown type', { type: 'explode', nodeId: 'n1' }, 'command.type must be one of'],
    ['a missing node', { type: 'kill' }, 'kill command.nodeId must be a string'],
    ['an unknown node', { type: 'kill', nodeId: 'n42' }, 'unknown node "n42"'],
    ['an extra field', { type: 'restart', nodeId: 'n1', now: true }, 'unknown field "now"'],
    ['an oversized payload', { type: 'kill', nodeId: 'n1', pad: 'x'.repeat(MAX_COMMAND_JSON_CHARS) }, 'command is too large'],
  ])('refuses %s with a clear error and changes nothing', async (_what, payload, error) => {
    const { hub: h, runtime: cluster } = await hub();
    const { socket } = client(h.url);
    await connected(socket);
    const before = cluster.snapshot().nodes.map((node) => node.status);
    const ack = await socket.timeout(2_000).emitWithAck('command', payload as never);
    expect(ack.ok).toBe(false);
    expect(ack.ok === false && ack.error).toContain(error);
    expect(cluster.snapshot().nodes.map((node) => node.status)).toEqual(before);
    expect(cluster.history().filter((event) => event.type === 'kill' || event.type === 'restart')).toHaveLength(0);
    expect(socket.connected).toBe(true);
  });

  it('answers unknown events that expect an acknowledgement, and survives commands without one', async () => {
    const { hub: h, runtime: cluster } = await hub();
    const { socket } = client(h.url);
    await connected(socket);
    const untyped = socket as unknown as { emit(event: string, ...args: unknown[]): void; emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };
    untyped.emit('command', { type: 'kill', nodeId: 'n1' });
    const ack = await untyped.emitWithAck('frobnicate', {});
    expect(ack).toEqual({ ok: false, error: 'unknown event "frobnicate"' });
    expect(cluster.snapshot().nodes.find((node) => node.id === 'n1')!.status).toBe('up');
    expect(await socket.emitWithAck('command', { type: 'kill', nodeId: 'n1' })).toEqual({ ok: true });
  });
});

describe('/control: rate limits', () => {
  it('refuses requests beyond the burst at once, unknown events included, and serves again as the allowance refills', async () => {
    const { hub: h } = await hub();
    const { socket } = client(h.url);
    await connected(socket);
    const untyped = socket as unknown as { emitWithAck(event: string, ...args: unknown[]): Promise<{ ok: boolean; error?: string }> };
    const acks = await Promise.all(
      Array.from({ length: REQUEST_BURST_MAX + 5 }, (_, i) => (i % 2 === 0 ? socket.emitWithAck('inspect', 'n1') : untyped.emitWithAck('frobnicate'))),
    );
    const limited = acks.map((ack) => !ack.ok && ack.error!.startsWith('rate limited'));
    expect(limited).toEqual(acks.map((_, i) => i >= REQUEST_BURST_MAX));
    expect(acks.at(-1)).toEqual({ ok: false, error: expect.stringMatching(/^rate limited: at most 20 requests a second \(configure, open and scenario runs count 10\); retry in 0\.\d s$/) });
    await new Promise((resolve) => setTimeout(resolve, (1_000 / REQUESTS_PER_SECOND_MAX) * 3));
    expect((await socket.emitWithAck('inspect', 'n1')).ok).toBe(true);
    // configure costs 10 requests: far more than what refilled.
    const configure = await socket.emitWithAck('command', { type: 'configure' });
    expect(configure).toEqual({ ok: false, error: expect.stringContaining('rate limited') });
    const metrics = await (await fetch(new URL('/metrics', h.url))).text();
    expect(metrics).toMatch(/^conclave_control_requests_refused_total 6$/m);
    expect(metrics).toMatch(/^conclave_control_clients 1$/m);
    expect(socket.connected).toBe(true);
  });
});

describe('/control: connections', () => {
  it('takes at most so many clients from one address and in all, saying why to the one it refuses', async () => {
    const { hub: h } = await hub({ admission: { clientsMax: 3, clientsPerAddressMax: 2 } });
    const first = client(h.url, { localAddress: '127.0.0.1' }).socket;
    await connected(first);
    await connected(client(h.url, { localAddress: '127.0.0.1' }).socket);
    expect((await refused(client(h.url, { localAddress: '127.0.0.1' }).socket)).message).toBe(
      'too many connections from 127.0.0.1: the hub takes at most 2 clients from one address',
    );
    await connected(client(h.url, { localAddress: '127.0.0.2' }).socket);
    expect((await refused(client(h.url, { localAddress: '127.0.0.3' }).socket)).message).toBe('the hub is full: it takes at most 3 clients');
    // A client that leaves makes room.
    first.disconnect();
    await waitFor('room for another client', async () => {
      const next = client(h.url, { localAddress: '127.0.0.1' }).socket;
      return connected(next).then(
        () => true,
        () => false,
      );
    });
  });

  it('takes at most so many new connections a second from one address', async () => {
    const { hub: h } = await hub({ admission: { handshakesPerSecondMax: 1, handshakeBurstMax: 3 } });
    const handshake = '/socket.io/?EIO=4&transport=polling';
    for (let i = 0; i < 3; i++) expect((await rawGet(h.port, handshake)).status).toBe(200);
    const refusal = await rawGet(h.port, handshake);
    expect(refusal.status).toBe(403);
    expect(JSON.parse(refusal.body).message).toMatch(/^too many connection attempts from 127\.0\.0\.1: at most 1 a second; retry in (0\.\d|1\.0) s$/);
    // Another address has its own allowance.
    await connected(client(h.url, { localAddress: '127.0.0.2' }).socket);
  });

  it('transports that never join /control with the token have a small, short-lived budget of their own: they cannot keep a client with the token out', async () => {
    const { hub: h } = await hub({ token: 'Rk3-vT9q-Lm2x-Wz7p-Nb4s-Hc6d', admission: { handshakesPerSecondMax: 1_000, handshakeBurstMax: 1_000, pendingMsMax: 1_000 } });
    const handshake = '/socket.io/?EIO=4&transport=polling';
    // 40 engine.io sessions from this address that never join /control (more than the 16 clients an address may have).
    const sessions: string[] = [];
    for (let index = 0; index < 40; index++) {
      const opened = await rawGet(h.port, handshake);
      expect(opened.status).toBe(200);
      sessions.push((JSON.parse(opened.body.slice(1)) as { sid: string }).sid);
    }
    await connected(client(h.url, { token: 'Rk3-vT9q-Lm2x-Wz7p-Nb4s-Hc6d', localAddress: '127.0.0.1' }).socket);
    // The oldest pending ones made room for the newer (a poll hears engine.io's close packet, "1"); the rest close once their second is up.
    const closedOn = async (sid: string): Promise<boolean> => {
      const poll = await rawGet(h.port, `${handshake}&sid=${sid}`);
      return poll.status === 400 || poll.body.split('\x1e').includes('1');
    };
    expect(await closedOn(sessions[0]!)).toBe(true);
    await waitFor('the pending sessions closed', () => closedOn(sessions.at(-1)!), 5_000);
  });

  it('cuts an export whose client stops reading, so that it cannot hold the export for good', async () => {
    const base = await hub();
    const label = 'x'.repeat(1_000_000);
    const events: ClusterEvent[] = Array.from({ length: 32 }, (_, i) => ({ type: 'heal', faultId: null, label, seq: i + 1, t: i, at: i }));
    const target: Target = {
      snapshot: () => base.runtime.snapshot(),
      history: (limit) => (limit === undefined ? events : events.slice(-limit)),
      execute: () => ({ ok: true }),
      inspect: () => null,
      timers: () => [],
      now: () => 0,
      subscribe: () => () => {},
    };
    const h = await startHub({ target, host: '127.0.0.1', port: 0, token: null, dashboardDir: null, exportStallMsMax: 500 });
    const stalled = connect(h.port, '127.0.0.1', () => stalled.write(`GET /export.jsonl HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\n\r\n`));
    stalled.on('error', () => undefined);
    try {
      // It never reads: half a second later it is cut, and the next export is sent in full.
      const lines = await waitFor('an export after the stalled one was cut', async () => {
        const response = await fetch(new URL('/export.jsonl', h.url));
        return response.status === 200 && (await response.text()).split('\n').length;
      });
      expect(lines).toBeGreaterThan(32);
    } finally {
      stalled.destroy();
      await h.close();
    }
  });

  it('an answer the transport cannot encode is an error for that client alone; the hub goes on', async () => {
    const base = await hub();
    let deep: unknown = [];
    for (let level = 0; level < 30_000; level++) deep = [deep];
    const target: Target = {
      snapshot: () => base.runtime.snapshot(),
      history: () => [],
      execute: () => ({ ok: true }),
      inspect: (nodeId) => (nodeId === 'n1' ? ({ view: base.runtime.snapshot().nodes[0]!, internals: { deep }, durable: null, inbox: 0 } as never) : null),
      timers: () => [],
      now: () => 0,
      subscribe: () => () => {},
    };
    const h = await startHub({ target, host: '127.0.0.1', port: 0, token: null, dashboardDir: null });
    try {
      const socket = client(h.url).socket;
      await connected(socket);
      expect(await socket.timeout(2_000).emitWithAck('inspect', 'n1')).toEqual({ ok: false, error: expect.stringMatching(/^the answer could not be sent: Maximum call stack size exceeded/) });
      expect(await socket.timeout(2_000).emitWithAck('inspect', 'n9')).toEqual({ ok: false, error: 'unknown node "n9"' });
    } finally {
      await h.close();
    }
  });

  it('lets an allowed origin (a dev server page) fetch /metrics and the export with the token in a header', async () => {
    const { hub: h } = await hub({ token: 'Rk3-vT9q-Lm2x-Wz7p-Nb4s-Hc6d', allowedOrigins: ['http://localhost:5173'] });
    const preflight = await fetch(new URL('/export.jsonl', h.url), { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-headers': 'authorization' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization');
    const metrics = await fetch(new URL('/metrics', h.url), { headers: { origin: 'http://localhost:5173', authorization: 'Bearer Rk3-vT9q-Lm2x-Wz7p-Nb4s-Hc6d' } });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    // Another origin gets no such header, so its page cannot read the answer.
    const other = await fetch(new URL('/metrics', h.url), { headers: { origin: 'http://evil.example', authorization: 'Bearer Rk3-vT9q-Lm2x-Wz7p-Nb4s-Hc6d' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends one export at a time, and another once it is done', async () => {
    const base = await hub();
    // 32 events of 1 MB: more than the sockets buffer, so an export to a client that does not read stays under way.
    const label = 'x'.repeat(1_000_000);
    const events: ClusterEvent[] = Array.from({ length: 32 }, (_, i) => ({ type: 'heal', faultId: null, label, seq: i + 1, t: i, at: i }));
    const target: Target = {
      snapshot: () => base.runtime.snapshot(),
      history: (limit) => (limit === undefined ? events : events.slice(-limit)),
      execute: () => ({ ok: true }),
      inspect: () => null,
      timers: () => [],
      now: () => 0,
      subscribe: () => () => {},
    };
    const h = await startHub({ target, host: '127.0.0.1', port: 0, token: null, dashboardDir: null });
    try {
      const stalled = connect(h.port, '127.0.0.1', () => stalled.write(`GET /export.jsonl HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\n\r\n`));
      try {
        const busy = await waitFor('the second export refused', async () => {
          const response = await fetch(new URL('/export.jsonl', h.url));
          return response.status === 429 && response;
        });
        expect(busy.headers.get('retry-after')).toBe('1');
        expect(await busy.text()).toBe('Another export is being sent: the hub sends one at a time. Retry when it is done.');
      } finally {
        stalled.destroy();
      }
      const done = await waitFor('an export once the first is cut', async () => {
        const response = await fetch(new URL('/export.jsonl', h.url));
        if (response.status !== 200) return false;
        return (await response.text()).split('\n').length;
      });
      expect(done).toBeGreaterThan(32);
    } finally {
      await h.close();
    }
  });
});

describe('/control: access', () => {
  const TOKEN = 'Rk3-vT9q-Lm2x-Wz7p-Nb4s-Hc6d';

  it('refuses a client without the token, saying why', async () => {
    const { hub: h } = await hub({ token: TOKEN });
    const error = await refused(client(h.url).socket);
    expect(error.message).toBe('this hub requires a token: send { token } in the handshake auth');
  });

  it('refuses a wrong token', async () => {
    const { hub: h } = await hub({ token: TOKEN });
    expect((await refused(client(h.url, { token: 'wrong token!' }).socket)).message).toBe('invalid token');
  });

  it('admits the right token', async () => {
    const { hub: h } = await hub({ token: TOKEN });
    const { socket, received } = client(h.url, { token: TOKEN });
    await connected(socket);
    await waitFor('a snapshot', () => received.snapshots[0]);
  });

  it('refuses a browser page from another origin', async () => {
    const { hub: h } = await hub();
    await refused(client(h.url, { origin: 'http://evil.example' }).socket);
    const { socket } = client(h.url, { origin: `http://127.0.0.1:${h.port}` });
    await connected(socket);
  });

  it('refuses a DNS-rebinding page: Host and Origin both name another site, on the hub\'s own port', async () => {
    const { hub: h, runtime } = await hub();
    const attacker = `attacker.example:${h.port}`;
    const error = await refused(client(h.url, { origin: `http://${attacker}`, host: attacker }).socket);
    expect(error.message).toBeTruthy();
    const handshake = await rawGet(h.port, '/socket.io/?EIO=4&transport=polling', { host: attacker, origin: `http://${attacker}` });
    expect(handshake.status).toBe(403);
    expect(JSON.parse(handshake.body).message).toContain('"attacker.example" is not an address of this hub');
    for (const path of ['/', '/metrics', '/export.jsonl']) {
      const response = await rawGet(h.port, path, { host: attacker });
      expect(response.status, path).toBe(421);
      expect(response.body, path).toContain('"attacker.example" is not an address of this hub');
    }
    expect(runtime.history().filter((event) => event.type === 'kill')).toEqual([]);
  });

  it.each(['localhost', '127.0.0.1', '127.8.9.10', '[::1]'])('admits the loopback name %s, on any port', async (name) => {
    const { hub: h } = await hub();
    const { socket } = client(h.url, { host: `${name}:${h.port}`, origin: `http://${name}:${h.port}` });
    await connected(socket);
    expect((await rawGet(h.port, '/metrics', { host: `${name}:1234` })).status).toBe(200);
    expect((await rawGet(h.port, '/metrics', { host: name })).status).toBe(200);
  });

  it('refuses a request without a Host header, or with one that is not a host name', async () => {
    const { hub: h } = await hub();
    // Node refuses HTTP/1.1 without Host by itself; HTTP/1.0 may leave it out.
    const missing = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(h.port, '127.0.0.1', () => socket.end('GET /metrics HTTP/1.0\r\n\r\n'));
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(missing).toMatch(/^HTTP\/1\.1 421 /);
    expect(missing).toMatch(/\r\n\r\na Host header naming this hub is required$/);
    for (const host of ['localhost@attacker.example', 'localhost:80/x', 'localhost:99999', 'local host']) {
      expect(await rawGet(h.port, '/metrics', { host }), host).toEqual({ status: 421, body: `Host ${JSON.stringify(host)} is not a host name` });
    }
  });

  it('admits pages from the allowed origins, which connect to the hub by its own address', async () => {
    const { hub: h } = await hub({ allowedOrigins: ['http://localhost:5173'] });
    await connected(client(h.url, { origin: 'http://localhost:5173' }).socket);
    await refused(client(h.url, { origin: 'http://localhost:5174' }).socket);
    await refused(client(h.url, { origin: 'http://localhost:5173', host: `attacker.example:${h.port}` }).socket);
  });

  it.each([
    ['http://localhost:5173/', 'allowedOrigins[0] must be an http(s) origin like "http://localhost:5173" (got "http://localhost:5173/")'],
    ['file:///tmp', 'allowedOrigins[0] must be an http(s) origin like "http://localhost:5173" (got "file:///tmp")'],
    ['*', 'allowedOrigins[0] must be an http(s) origin like "http://localhost:5173" (got "*")'],
  ])('refuses to start with the allowed origin %j', async (origin, message) => {
    const { runtime } = await hub();
    await expect(startHub({ target: runtime, host: '127.0.0.1', port: 0, token: null, dashboardDir: null, allowedOrigins: [origin] })).rejects.toThrow(message);
  });

  it('will not listen beyond loopback without a token', async () => {
    const { runtime } = await hub();
    await expect(
      startHub({ target: runtime, host: '0.0.0.0', port: 0, token: null, dashboardDir: null }),
    ).rejects.toThrow('refusing to listen on 0.0.0.0 without a token');
  });
});

describe('HTTP', () => {
  it('explains when the dashboard is not built, and 404s elsewhere', async () => {
    const { hub: h } = await hub();
    const root = await fetch(h.url);
    expect(root.status).toBe(503);
    expect(await root.text()).toContain('npm run build');
    expect((await fetch(new URL('/nope', h.url))).status).toBe(404);
    expect((await fetch(h.url, { method: 'POST' })).status).toBe(405);
  });

  it.each(['//[', 'http://[', 'http://x:99999/'])('answers 400 to the request target %s, which is no URL, and keeps serving', async (target) => {
    const { hub: h } = await hub({ token: 'T' });
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(h.port, '127.0.0.1', () => socket.end(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('\r\nBad request target\r\n');
    expect((await fetch(h.url)).status).toBe(503);
  });
});

describe('HTTP: the built dashboard', () => {
  it('serves index.html and hashed assets, and nothing outside the dashboard folder', async () => {
    const root = mkdtempSync(join(tmpdir(), 'conclave-dash-'));
    try {
      const dashboard = join(root, 'dashboard');
      mkdirSync(join(dashboard, 'assets'), { recursive: true });
      writeFileSync(join(dashboard, 'index.html'), '<!doctype html><title>Conclave</title>');
      writeFileSync(join(dashboard, 'assets', 'index-abc.js'), 'console.log(1)');
      writeFileSync(join(root, 'secret.txt'), 'secret');
      const { hub: h } = await hub({ dashboardDir: dashboard });
      const index = await fetch(h.url);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await index.text()).toContain('<title>Conclave</title>');
      const asset = await fetch(new URL('/assets/index-abc.js', h.url));
      expect(asset.headers.get('cache-control')).toContain('immutable');
      expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect((await rawGet(h.port, '/../secret.txt')).status).toBe(404);
      expect((await rawGet(h.port, '/%2e%2e/secret.txt')).status).toBe(404);
      expect((await rawGet(h.port, '/assets/%00')).status).toBe(400);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
