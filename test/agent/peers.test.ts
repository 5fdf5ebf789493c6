/**
 * The agent-to-agent transport on its own: who it admits under a member's id (one process per
 * id), how it replaces connections when a peer restarts (even when the old connection went dark
 * without closing), and when it reports a peer lost (only when nothing connects us any more).
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createRandom } from '../../shared/core/random.js';
import { membershipOf, parseClusterFile } from '../../shared/protocol/cluster-file.js';
import type { AgentEvent } from '../../shared/protocol/agent-wire.js';
import { LinkRules } from '../../shared/network/link-rules.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { createLogger } from '../../electron/agent/log.js';
import { membershipFingerprint } from '../../electron/agent/membership.js';
import { PeerTransport } from '../../electron/agent/peers.js';
import { nonce, type WireConnection } from '../../electron/wire/connection.js';

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
