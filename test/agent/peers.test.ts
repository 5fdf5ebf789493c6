/**
 * The agent-to-agent transport on its own: who it admits under a member's id (one process per
 * id), how it replaces connections when a peer restarts (even when the old connection went dark
 * without closing), and when it reports a peer lost (only when nothing connects us any more).
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import { membershipOf, parseClusterFile } from '../../shared/protocol/cluster-file.js';
import type { AgentEvent } from '../../shared/protocol/agent-wire.js';
import { LinkRules } from '../../shared/network/link-rules.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { createLogger } from '../../electron/agent/log.js';
import { membershipFingerprint } from '../../electron/agent/membership.js';
import { PeerTransport } from '../../electron/agent/peers.js';
import { listenWire, nonce, type WireConnection, type WireServer } from '../../electron/wire/connection.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { freePorts, sleep } from './support.js';

const TOKEN = 'a cluster secret of some length';
const IDS = ['n1', 'n2', 'n3'];
const definition = parseClusterFile({ name: 'peers', algorithm: 'raft', members: IDS.map((id, index) => ({ id, address: `127.0.0.1:${7401 + index}` })) });
const membership = membershipOf(definition) as ConstructorParameters<typeof PeerTransport>[0]['membership'];
const fingerprint = membershipFingerprint(membershipOf(definition));
const silent = createLogger({ id: 'test' }, 'silent');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function transport(self: string, addresses: Record<string, string>, instance: string, events: AgentEvent[] = []): PeerTransport {
  const created = new PeerTransport({
    self,
    peers: IDS.filter((id) => id !== self).map((id) => ({ id, address: addresses[id] ?? '127.0.0.1:1' })),
    token: TOKEN,
    tls: null,
    membership,
    fingerprint,
    instance,
    clock: new VirtualClock(),
    rules: new LinkRules(),
    random: createRandom(7),
    log: silent,
    deliver: () => undefined,
    onEvent: (event) => events.push(event),
    onSent: () => undefined,
    onChange: () => undefined,
  });
  cleanups.push(() => created.stop());
  return created;
}

/** An authenticated inbound connection as the transport sees it, without a socket. */
class FakeConnection extends EventEmitter {
  isOpen = true;
  backlogBytes = 0;
  constructor(
    readonly remoteId: string,
    readonly remoteAddress: string,
  ) {
    super();
  }
  send(): void {}
  close(reason: string): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.emit('close', reason);
  }
}

/** What a server does with a hello: ask the transport, and hand it the connection when admitted. */
function arrive(peers: PeerTransport, id: string, instance: string, remoteAddress: string): { refusal: string | null; connection: FakeConnection } {
  const connection = new FakeConnection(id, remoteAddress);
  const refusal = peers.admit({ id, instance }, remoteAddress);
  if (refusal === null) peers.acceptInbound(connection as unknown as WireConnection, { instance });
  return { refusal, connection };
}

describe('one process per member id', () => {
  it('refuses a second process under a live id from another host, and one whose instance a newer one replaced; admits a restart', () => {
    const peers = transport('n2', {}, nonce());
    const [first, second, restarted] = [nonce(), nonce(), nonce()];
    const a = arrive(peers, 'n1', first, '10.0.0.1:40001');
    expect(a.refusal).toBeNull();
    // A clone of n1 on another machine, while the first one's connection is live.
    const clone = arrive(peers, 'n1', second, '10.0.0.9:40002');
    expect(clone.refusal).toBe(`two agents claim to be n1: one is connected from 10.0.0.1:40001, another dials from 10.0.0.9:40002; give each member its own id (the first keeps its place)`);
    expect(a.connection.isOpen).toBe(true);
    // The same process reconnecting is no one new.
    expect(arrive(peers, 'n1', first, '10.0.0.1:40003').refusal).toBeNull();
    // A restart on the same host replaces it...
    const b = arrive(peers, 'n1', restarted, '10.0.0.1:40004');
    expect(b.refusal).toBeNull();
    // ...and the replaced process dialing again proves it was not dead: two processes flapping.
    const flap = arrive(peers, 'n1', first, '10.0.0.1:40005');
    expect(flap.refusal).toMatch(/^two agents claim to be n1: a process of n1 that another one replaced \(from 10\.0\.0\.1:40004\) dials again from 10\.0\.0\.1:40005/);
    expect(b.connection.isOpen).toBe(true);
    // Other members are not affected.
    expect(arrive(peers, 'n3', nonce(), '10.0.0.9:40006').refusal).toBeNull();
  });

  it('takes a restarted process from another host once the old connection closed', () => {
    const peers = transport('n2', {}, nonce());
    const a = arrive(peers, 'n1', nonce(), '10.0.0.1:40001');
    a.connection.close('the connection closed');
    expect(arrive(peers, 'n1', nonce(), '10.0.0.7:40002').refusal).toBeNull();
  });
});

interface Member {
  peers: PeerTransport;
  server: WireServer;
  events: AgentEvent[];
}

/** A member's transport and listening port in this process, as node.ts wires them, under its own instance. */
async function member(id: string, addresses: Record<string, string>, port: number): Promise<Member> {
  const events: AgentEvent[] = [];
  const instance = nonce();
  const peers = transport(id, addresses, instance, events);
  const server = await listenWire({
    host: '127.0.0.1',
    port,
    id,
    token: TOKEN,
    instance,
    admit: (hello, remoteAddress) => peers.admit(hello, remoteAddress),
    welcome: () => ({ membership, fingerprint }),
    onConnection: (connection, hello) => peers.acceptInbound(connection, hello),
  });
  cleanups.push(() => server.close());
  peers.start();
  return { peers, server, events };
}

/** n1 and n2, each reaching the other through a proxy the test controls. */
async function pair() {
  const [port1, port2] = (await freePorts(2)) as [number, number];
  const toN1 = await TcpProxy.start(port1);
  const toN2 = await TcpProxy.start(port2);
  cleanups.push(() => toN1.close(), () => toN2.close());
  const addresses = { n1: toN1.address, n2: toN2.address };
  const n1 = await member('n1', addresses, port1);
  const n2 = await member('n2', addresses, port2);
  await expect.poll(() => [connections(n1.peers, 'n2'), connections(n2.peers, 'n1')]).toEqual([both, both]);
  return { n1, n2, toN1, toN2, port1, addresses };
}

const lost = (events: AgentEvent[]) => events.filter((event) => event.type === 'peer-lost');
const both = { outbound: true, inbound: true };
/** Which of its connections to `peer` a transport holds (its view also says how long ago it heard from it). */
const connections = (peers: PeerTransport, peer: string) => {
  const view = peers.view()[peer];
  return view === undefined ? undefined : { outbound: view.outbound, inbound: view.inbound };
};

describe('connections between peers', () => {
  it('replaces our outbound connection when the peer comes back as a new process, though the old one went dark without closing', async () => {
    const { n1, n2, toN1, toN2, port1, addresses } = await pair();
    // n1's host loses power: its connections stay open at n2's end and carry nothing.
    toN1.freeze();
    toN2.freeze();
    n1.peers.stop();
    await n1.server.close();
    const restarted = await member('n1', addresses, port1);
    // Its dial reaches n2 with a new instance; n2 dials it back at once instead of writing into the dead connection.
    await expect.poll(() => connections(restarted.peers, 'n2'), { timeout: 1_000 }).toEqual(both);
    await expect.poll(() => connections(n2.peers, 'n1')).toEqual(both);
    // The host was dark for longer than an election timeout (the old process's stop lingers): taken
    // for dead on its silence, not on a closed connection; replacing connections adds no other hint.
    expect(lost(n2.events).map((event) => event.type === 'peer-lost' && event.reason)).toEqual(lost(n2.events).length === 0 ? [] : [expect.stringMatching(/^silent for \d+ ms/)]);
  });

  it('closes an outbound connection that has not drained for an election timeout, and dials again', async () => {
    const { n2, toN1 } = await pair();
    toN1.freeze();
    const dialed = toN1.accepted;
    const heavy = { kind: 'Noise', from: 'n2', to: 'n1', term: 0, pad: 'x'.repeat(60_000) } as unknown as Message;
    const deadline = Date.now() + 5_000;
    while (toN1.accepted === dialed && Date.now() < deadline) {
      for (let index = 0; index < 20; index++) n2.peers.send(heavy);
      await sleep(20);
    }
    expect(toN1.accepted).toBe(dialed + 1);
    await expect.poll(() => n2.peers.view().n1?.outbound).toBe(true);
  });

  it('reports a peer lost only when no connection to or from it is left, and once', async () => {
    const { n1, n2, toN1, toN2 } = await pair();
    // One direction breaks: the other still carries the peer's messages, and the broken one is dialed again.
    toN1.cut();
    await expect.poll(() => toN1.open).toBe(1);
    await expect.poll(() => [connections(n1.peers, 'n2'), connections(n2.peers, 'n1')]).toEqual([both, both]);
    expect([lost(n1.events), lost(n2.events)]).toEqual([[], []]);
    // Both break and stay broken.
    toN1.refuse(true);
    toN2.refuse(true);
    toN1.cut();
    toN2.cut();
    await expect.poll(() => [lost(n1.events).length, lost(n2.events).length]).toEqual([1, 1]);
    await sleep(200);
    expect([lost(n1.events).length, lost(n2.events).length]).toEqual([1, 1]);
  });

  it('a peer that stops says goodbye: it left, it was not lost', async () => {
    const { n1, n2 } = await pair();
    n1.peers.stop();
    await n1.server.close();
    await expect.poll(() => n2.events.filter((event) => event.type === 'peer-left')).toEqual([expect.objectContaining({ peer: 'n1' })]);
    await sleep(200);
    expect(lost(n2.events)).toEqual([]);
    expect(n2.events.filter((event) => event.type === 'peer-left')).toHaveLength(1);
  });
});

describe('silence', () => {
  it('keepalives keep idle peers heard; a peer silent for an election timeout is taken for dead, logged once, and dialled again until it is back', async () => {
    const logged: string[] = [];
    const log = createLogger({ id: 'n2' }, 'info', { write: (line: string) => logged.push(line) });
    const [port1, port2] = (await freePorts(2)) as [number, number];
    const toN1 = await TcpProxy.start(port1);
    cleanups.push(() => toN1.close());
    const addresses = { n1: toN1.address, n2: `127.0.0.1:${port2}` };
    const n1 = await member('n1', addresses, port1);
    const events: AgentEvent[] = [];
    const n2 = new PeerTransport({
      self: 'n2',
      peers: [{ id: 'n1', address: toN1.address }],
      token: TOKEN,
      tls: null,
      membership,
      fingerprint,
      instance: nonce(),
      clock: new VirtualClock(),
      rules: new LinkRules(),
      random: createRandom(7),
      log,
      deliver: () => undefined,
      onEvent: (event) => events.push(event),
      onSent: () => undefined,
      onChange: () => undefined,
    });
    cleanups.push(() => n2.stop());
    const server = await listenWire({ host: '127.0.0.1', port: port2, id: 'n2', token: TOKEN, admit: (hello, remote) => n2.admit(hello, remote), welcome: () => ({ membership, fingerprint }), onConnection: (connection, hello) => n2.acceptInbound(connection, hello) });
    cleanups.push(() => server.close());
    n2.start();
    await expect.poll(() => connections(n2, 'n1')).toEqual(both);
    // Neither sends election messages: keepalives alone keep each heard.
    await sleep(3 * membership.config.electionTimeoutMinMs);
    expect(n2.view().n1!.heardMsAgo).toBeLessThan(membership.config.electionTimeoutMinMs);
    expect(lost(events)).toEqual([]);
    // n1's side goes dark: n2's connection to it (through the proxy) stays open and carries nothing, and new dials are refused.
    toN1.freeze();
    toN1.refuse(true);
    n1.peers.stop();
    await expect.poll(() => logged.filter((line) => line.includes('peer silent: its connections are taken for dead')).length, { timeout: 2_000 }).toBe(1);
    await sleep(500);
    expect(logged.filter((line) => line.includes('peer silent')).length).toBe(1);
    // Back: a fresh dial gets through within a few heartbeat intervals (not after TCP's retransmission backoff).
    const before = toN1.accepted;
    toN1.refuse(false);
    await expect.poll(() => toN1.accepted > before, { timeout: 1_000 }).toBe(true);
  });
});
