/**
 * A scripted stand-in for `conclave agent` and its supervisor on the wire (shared/protocol/agent-wire.ts):
 * it answers a console's requests, pushes what the test tells it to, and records what it was asked,
 * so the console's side can be tested on its own (the real agents have their own tests).
 */
import { DEFAULT_ELECTION_CONFIG, type NodeStatus } from '../../shared/core/election.js';
import { requestFrame, type AgentEvent, type AgentStatus, type ChildState, type RequestOp } from '../../shared/protocol/agent-wire.js';
import { listenWire, type WireConnection, type WireServer } from '../../electron/wire/connection.js';
import { RawJson } from '../../electron/wire/frames.js';

export const FAKE_TOKEN = 'fake-Cluster-Token-7Qx2-Wm9z-Lp4r-Hd8k';

export interface FakeMember {
  id: string;
  agent: WireServer;
  supervisor: WireServer | null;
  /** Requests received, in order. */
  requests: RequestOp[];
  consoles: WireConnection[];
  supervisorConsoles: WireConnection[];
  status: NodeStatus;
  /** How far this agent's clock is ahead of the test's, ms. */
  skewMs: number;
  child: ChildState;
  /** What a `faults` request set, and its lease. */
  faults: { version: string; leaseMs: number; owner: string; table: unknown } | null;
  /** Pings are answered this much later. */
  pingDelayMs: number;
  /** When set, requests are received and recorded but never answered (a host that lost power, its socket left open). */
  silent: boolean;
  /** How long ago this agent last heard from each peer, as its status reports it (none: it reports no peers). */
  heard: Record<string, number>;
  /** When set, what `inspect`, `ping` or `status` answer instead of the protocol's answer (inspect's may be JSON text, for what JSON.stringify cannot write). */
  inspectAnswer?: unknown;
  pingAnswer?: unknown;
  statusAnswer?: unknown;
}

export class FakeCluster {
  readonly members: FakeMember[] = [];

  static async start(ids: string[], options: { supervised?: boolean; skewMs?: (id: string) => number; pingDelayMs?: (id: string) => number } = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster();
    // Ports first: every member's status lists every member's addresses.
    for (const id of ids) {
      const member: FakeMember = {
        id,
        agent: null as unknown as WireServer,
        supervisor: null,
        requests: [],
        consoles: [],
        supervisorConsoles: [],
        status: { role: 'follower', term: 1, votedFor: null, leaderId: null },
        skewMs: options.skewMs?.(id) ?? 0,
        child: { state: 'up', pid: 4_000 + cluster.members.length, restarts: 0, lastExit: null, held: null },
        faults: null,
        pingDelayMs: options.pingDelayMs?.(id) ?? 0,
        silent: false,
        heard: {},
      };
      member.agent = await listenWire({
        host: '127.0.0.1',
        port: 0,
        id,
        token: FAKE_TOKEN,
        admit: () => null,
        onConnection: (connection) => cluster.serveAgent(member, connection),
      });
      if (options.supervised) {
        member.supervisor = await listenWire({
          host: '127.0.0.1',
          port: 0,
          id,
          token: FAKE_TOKEN,
          admit: () => null,
          onConnection: (connection) => cluster.serveSupervisor(member, connection),
        });
      }
      cluster.members.push(member);
    }
    return cluster;
  }

  address(id: string): string {
    return `127.0.0.1:${this.member(id).agent.port}`;
  }

  member(id: string): FakeMember {
    return this.members.find((member) => member.id === id)!;
  }

  statusOf(member: FakeMember): AgentStatus {
    return {
      id: member.id,
      address: `127.0.0.1:${member.agent.port}`,
      pid: member.child.pid ?? 1,
      version: 'fake',
      members: this.members.map((other) => ({
        id: other.id,
        address: `127.0.0.1:${other.agent.port}`,
        voting: true,
        http: '127.0.0.1:1',
        supervisor: `127.0.0.1:${other.supervisor?.port ?? 1}`,
      })),
      algorithm: 'raft',
      config: DEFAULT_ELECTION_CONFIG,
      faultLeaseMs: 3_000,
      status: member.status,
      electionTimer: null,
      now: Date.now() + member.skewMs,
      startedAt: Date.now(),
      peers: Object.fromEntries(Object.entries(member.heard).map(([peer, heardMsAgo]) => [peer, { outbound: true, inbound: true, heardMsAgo }])),
      faults: member.faults === null ? null : { table: member.faults.table as never, version: member.faults.version, owner: member.faults.owner, expiresInMs: member.faults.leaseMs },
      supervised: member.supervisor !== null,
    };
  }

  /** A status change, pushed to every console as an event and a status. */
  setStatus(id: string, status: NodeStatus): void {
    const member = this.member(id);
    const previous = member.status;
    member.status = status;
    this.push(member, { t: 'event', event: { type: 'status', t: Date.now() + member.skewMs, status, previous } satisfies AgentEvent });
    this.push(member, { t: 'status', status: this.statusOf(member) });
  }

  /** Every member follows `leaderId` in `term`. */
  elect(leaderId: string, term: number): void {
    for (const member of this.members) {
      this.setStatus(member.id, { role: member.id === leaderId ? 'leader' : 'follower', term, votedFor: leaderId, leaderId });
    }
  }

  push(member: FakeMember, frame: unknown): void {
    for (const console of member.consoles) console.send(frame);
  }

  async stop(): Promise<void> {
    for (const member of this.members) {
      await member.agent.close();
      await member.supervisor?.close();
    }
  }

  private serveAgent(member: FakeMember, connection: WireConnection): void {
    member.consoles.push(connection);
    connection.once('close', () => member.consoles.splice(member.consoles.indexOf(connection), 1));
    connection.send({ t: 'status', status: this.statusOf(member) });
    connection.on('frame', (raw) => {
      const request = requestFrame.parse(raw);
      const op = request.op;
      member.requests.push(op);
      if (member.silent) return;
      const answer = (value: unknown): void =>
        connection.send(value instanceof RawJson ? new RawJson(`{"t":"res","id":${request.id},"ok":true,"value":${value.text}}`) : { t: 'res', id: request.id, ok: true, value });
      const refuse = (error: string, code?: 'lapsed' | 'replaced'): void => connection.send({ t: 'res', id: request.id, ok: false, error, ...(code === undefined ? {} : { code }) });
      switch (op.op) {
        case 'ping': {
          const value = 'pingAnswer' in member ? member.pingAnswer : { sentAt: op.sentAt, agentNow: Date.now() + member.skewMs };
          if (member.pingDelayMs === 0) return answer(value);
          setTimeout(() => connection.isOpen && answer(value), member.pingDelayMs);
          return;
        }
        case 'status':
          return answer('statusAnswer' in member ? member.statusAnswer : this.statusOf(member));
        case 'inspect': {
          const now = Date.now() + member.skewMs;
          return answer(
            'inspectAnswer' in member
              ? member.inspectAnswer
              : { machine: { role: member.status.role }, durable: { term: member.status.term, votedFor: member.status.votedFor }, clock: { now, wallNow: now, startedAt: now - 1_000 } },
          );
        }
        case 'faults':
          member.faults = { version: op.version, leaseMs: op.leaseMs, owner: connection.remoteId, table: op.table };
          return answer(undefined);
        case 'renew':
          if (member.faults?.version === op.version) return answer(undefined);
          return member.faults === null ? refuse('no fault table is in force', 'lapsed') : refuse(`the fault table in force is version "${member.faults.version}"`, 'replaced');
        case 'transfer':
          return answer(undefined);
        default:
          return refuse(`${op.op} is for supervisors`);
      }
    });
  }

  private serveSupervisor(member: FakeMember, connection: WireConnection): void {
    member.supervisorConsoles.push(connection);
    connection.send({ t: 'child', member: member.id, child: member.child });
    connection.on('frame', (raw) => {
      const request = requestFrame.parse(raw);
      const op = request.op;
      member.requests.push(op);
      if (op.op === 'child') {
        const state = op.action === 'kill' ? 'down' : op.action === 'pause' ? 'paused' : 'up';
        member.child = { ...member.child, state, pid: state === 'down' ? null : (member.child.pid ?? 5_000), held: op.action === 'kill' || op.action === 'pause' ? { action: op.action, expiresInMs: op.leaseMs } : null };
        if (state === 'down') for (const console of member.consoles) console.close('killed');
      }
      connection.send({ t: 'res', id: request.id, ok: true });
      for (const console of member.supervisorConsoles) console.send({ t: 'child', member: member.id, child: member.child });
    });
  }
}
