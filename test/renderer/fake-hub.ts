/** A stand-in for socket.io-client: lets dashboard tests play the hub's side of `/control`. */
import type { ClusterSnapshot, Command, CommandAck, NodeView } from '../../shared/protocol/types.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { flushPromises, type VueWrapper } from '@vue/test-utils';

type Handler = (...args: unknown[]) => void;

/** Every socket the dashboard opened through `fakeIo`, oldest first, and how it was opened. */
export const sockets: FakeSocket[] = [];
export const connections: Array<{ url: string; auth: unknown; transports: unknown }> = [];

/**
 * socket.io-client's io() for dashboard tests, in each test file:
 * vi.mock('socket.io-client', () => import('./fake-hub.js').then(({ fakeIo }) => ({ io: fakeIo })));
 */
export function fakeIo(url: string, options: { auth: unknown; transports?: unknown }): FakeSocket {
  const socket = new FakeSocket();
  sockets.push(socket);
  connections.push({ url, auth: options.auth, transports: options.transports });
  return socket;
}

export class FakeSocket {
  connected = false;
  active = true;
  readonly handlers = new Map<string, Handler[]>();
  readonly commands: Command[] = [];
  answer: (command: Command) => CommandAck | 'silence' = () => ({ ok: true });

  on(event: string, handler: Handler): this {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    return this;
  }

  /** The hub side: deliver an event to the dashboard. */
  serverEmit(event: string, ...args: unknown[]): void {
    if (event === 'connect') this.connected = true;
    for (const handler of this.handlers.get(event) ?? []) handler(...args);
  }

  disconnect(): void {
    this.connected = false;
  }

  timeout(_ms: number) {
    return {
      emitWithAck: async (event: string, command: Command): Promise<CommandAck> => {
        // Inspections (the node table asks the leader about contacts) are not commands.
        if (event === 'inspect') return { ok: false, error: 'no details in this fake hub' };
        this.commands.push(command);
        const answer = this.answer(command);
        if (answer === 'silence') throw new Error('operation has timed out');
        return answer;
      },
    };
  }
}

export function node(id: string, overrides: Partial<NodeView> = {}): NodeView {
  return { id, status: 'up', role: 'follower', term: 3, votedFor: 'n1', leaderId: 'n1', ...overrides };
}

export function snapshot(nodes: NodeView[], overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  const leader = nodes.find((n) => n.role === 'leader');
  return {
    runId: 'run-1',
    target: { kind: 'embedded', label: 'embedded 5-node Raft cluster', unavailable: {}, faultLeaseMs: null },
    algorithm: 'raft',
    config: DEFAULT_ELECTION_CONFIG,
    nodes,
    faults: [],
    network: { partition: null, blocked: [], links: [] },
    clockSpeed: 1,
    scenario: null,
    leader: leader ? { id: leader.id, term: leader.term, sinceT: 1_000, sinceAt: Date.UTC(2026, 10, 26, 9, 30, 0) } : null,
    t: 5_000,
    at: Date.UTC(2026, 10, 26, 9, 30, 4),
    lastEventSeq: 0,
    ...overrides,
  };
}

/** Shows one of the console's side tabs ("Cards", "Leader changes", "Record"...), as a click on it would. */
export async function showTab(wrapper: VueWrapper, label: string): Promise<void> {
  const tab = wrapper.findAll('[role="tab"]').find((candidate) => candidate.text().startsWith(label));
  if (tab === undefined) throw new Error(`no tab "${label}"`);
  await tab.trigger('click');
  await flushPromises();
}
