/** A stand-in for socket.io-client: lets dashboard tests play the hub's side of `/control`. */
import type { ClusterSnapshot, Command, CommandAck, NodeView } from '../../shared/protocol/types.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';

type Handler = (...args: unknown[]) => void;

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
      emitWithAck: async (_event: string, command: Command): Promise<CommandAck> => {
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
