/**
 * A real cluster of `conclave agent` processes, watched and steered as a console. The console is
 * never on the data path: agents elect among themselves; this connects to each agent (and to
 * its supervisor, where there is one) to receive status, events and the messages it sends, and to
 * ask for faults. The same ClusterModel as the embedded cluster turns what the agents report into
 * the events, faults and leader tracking the dashboard shows.
 *
 * - Times: each agent's clock offset is estimated from ping round trips; its events are stamped
 *   in this console's time (their arrival time until there is an estimate, and never later than
 *   now) and, after a short reorder window, recorded in that order.
 * - Reachability: an agent is pinged every PING_INTERVAL_MS; one this console has not heard from
 *   for NOT_RESPONDING_MS is *unreachable*, never down (only its supervisor knows that), and its
 *   peers' reports say whether they still hear it (only this console lost it) or not (cut off from
 *   everyone, frozen, or gone). One silent for GONE_AFTER_MS has its connection closed and
 *   redialled; a member its peers or its supervisor say is back is redialled at once.
 * - Faults on the network are leased: every agent gets this console's rule table with a lease,
 *   renewed while the console lives, so a console that crashes or is closed never leaves the
 *   cluster broken. Kill and pause go to the node's supervisor, leased the same way. A table too
 *   large to send in one frame is refused before it is shown.
 * - Several consoles may attach at once; the last one to set faults owns them. An agent whose
 *   lease lapsed (it restarted, or renewals did not get through) gets this console's table again;
 *   once another console's table replaced it, this console drops its own, says so in the target's
 *   label and in a `heal` event, and stops renewing it, until it sets faults again.
 */
import { randomInt } from 'node:crypto';
import { Backoff } from '../../../shared/core/backoff.js';
import { ALGORITHM_INFO } from '../../../shared/algorithms.js';
import { createRandom } from '../../../shared/core/random.js';
import { sameNodeStatus } from '../../../shared/core/election.js';
import { DEFAULT_PRIORITY } from '../../../shared/core/leadership.js';
import {
  agentStatusSchema,
  FRAME_BYTES_MAX,
  inspectResultSchema,
  isEmptyTable,
  pingResultSchema,
  type AgentEvent,
  type AgentStatus,
  type ChildState,
  type PushFrame,
  type WireNetworkTable,
} from '../../../shared/protocol/agent-wire.js';
import type { NetworkTable } from '../../../shared/network/link-rules.js';
import type { ClusterCommand, NodeDetail, NodeRunState, NodeView, TargetInfo } from '../../../shared/protocol/types.js';
import { TARGET_CONTROLS } from '../../../shared/protocol/types.js';
import { RealClock } from '../../runtime/clock.js';
import { ClusterModel } from '../model/model.js';
import { waitUntil } from '../model/requests.js';
import { ModelTarget } from '../model-target.js';
import type { NodeControl, Refusals } from '../target.js';
import { dialWire, type TlsFiles } from '../../wire/connection.js';
import { RequestChannel, RequestRefused } from './channel.js';
import { ClockOffset, type OffsetEstimate } from './clock-offset.js';

export const RECONNECT_MS_MIN = 100;
export const RECONNECT_MS_MAX = 2_000;
export const PING_INTERVAL_MS = 500;
/** An agent not heard from for this long (a ping unanswered) is shown not responding: unreachable from this console. */
export const NOT_RESPONDING_MS = 1_000;
/** An agent not heard from for this long is taken for gone from this connection (power loss, a pulled cable): it is closed and redialled. */
export const GONE_AFTER_MS = 3 * PING_INTERVAL_MS;
/** Telemetry waits this long so that events from different agents are recorded in time order. */
export const REORDER_WINDOW_MS = 50;
/** Opening waits at most this long for every reachable agent's first status. */
export const FIRST_STATUS_WAIT_MS = 3_000;
const DIAL_TIMEOUT_MS = 2_000;

export interface AttachOptions {
  /** Agents to learn the membership from (any one that answers). */
  addresses: string[];
  /** The console token (or the cluster token it is made from: only the console token is used on the wire). */
  token: string;
  /** How this console names itself to agents: in their logs, and as the owner of its faults. */
  consoleId: string;
  tls?: TlsFiles;
  /** 'processes' when this console started the agents itself. */
  kind?: 'attached' | 'processes';
}

type Member = AgentStatus['members'][number];
type Push = Exclude<PushFrame, { t: 'res' }>;

const IN_THE_CLUSTER_FILE = "A real cluster's priorities and leadership rules are in its cluster file: change it on every machine and restart the agents";

const UNAVAILABLE_ON_REAL_NODES = {
  configure: "A real cluster's settings are in its cluster file: change it on every machine and restart the agents",
  clock: 'Real nodes keep their own time: there is no clock control on a real cluster',
  priority: IN_THE_CLUSTER_FILE,
  capabilities: 'Agents advertise the facts their cluster file lists and what they measure themselves (loadavg, freememMb, uptimeS, version)',
  leadership: IN_THE_CLUSTER_FILE,
} as const;

class MemberState {
  agent: RequestChannel | null = null;
  supervisor: RequestChannel | null = null;
  /** The agent's last status push. */
  status: AgentStatus | null = null;
  child: ChildState | null = null;
  readonly clock = new ClockOffset();
  /** A kill or pause this console holds (and renews) through the supervisor. */
  held: 'kill' | 'pause' | null = null;
  /** Requests to the supervisor not answered yet: until they are, its pushes predate them. */
  childRequests = 0;
  /** Why the last connection attempt failed, for the node's details. */
  lastError: string | null = null;
  /** Since when (performance.now()) this console cannot reach the agent; null while it can. */
  unreachableSince: number | null = null;
  /** Redials the agent at once (the backoff's wait cut short); set while a redial is pending. */
  redialNow: (() => void) | null = null;

  constructor(readonly member: Member) {}
}

export class AttachedCluster extends ModelTarget {
  /** The jitter of each connection's redials. */
  private readonly random = createRandom(randomInt(2 ** 31));
  /** This console's cluster time 0, in epoch ms: agents speak epoch-based time. */
  private readonly origin: number;
  private readonly members = new Map<string, MemberState>();
  private readonly retries = new Set<ReturnType<typeof setTimeout>>();
  private readonly intervals: Array<ReturnType<typeof setInterval>> = [];
  /** Telemetry waiting for the reorder window, in time order once flushed. */
  private pending: Array<{ t: number; report: () => void }> = [];
  /** Set once detaching began: no more dials, renewals or redials. */
  private detached = false;
  /** The network rules this console set, and the version agents know them by. */
  private faults: { table: WireNetworkTable; version: string } | null = null;
  /** Set when another console's fault table replaced this console's: what the dashboard is told. */
  private faultsTakenOver: string | null = null;
  private faultsSerial = 0;
  private readonly leaseMs: number;
  private readonly target: TargetInfo;
  private readonly messageKinds: ReadonlySet<string>;

  /** Learns the membership from the first agent that answers, connects to every member, and waits for their status. */
  static async open(options: AttachOptions): Promise<AttachedCluster> {
    const problems: string[] = [];
    for (const address of options.addresses) {
      let channel: RequestChannel | null = null;
      let status: AgentStatus;
      try {
        const { connection } = await dialWire({ address, token: options.token, role: 'console', id: options.consoleId, timeoutMs: DIAL_TIMEOUT_MS, ...tlsOf(options) });
        channel = new RequestChannel(connection, () => undefined, () => undefined);
        status = agentStatusSchema.parse(await channel.request({ op: 'status' }));
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        problems.push(reason);
        continue;
      } finally {
        channel?.close('membership learned');
      }
      const cluster = new AttachedCluster(options, status);
      await cluster.connectAll();
      return cluster;
    }
    throw new Error(`could not attach to a cluster: ${problems.join('; ')}`);
  }

  private constructor(
    private readonly options: AttachOptions,
    first: AgentStatus,
  ) {
    super();
    for (const member of first.members) this.members.set(member.id, new MemberState(member));
    this.leaseMs = first.faultLeaseMs;
    this.messageKinds = new Set(ALGORITHM_INFO[first.algorithm].messageKinds);
    const processes = options.kind === 'processes';
    this.target = {
      kind: options.kind ?? 'attached',
      label:
        (processes ? `${first.members.length} agent processes on this machine` : `${first.members.length} agents attached via ${options.addresses[0]}`) +
        (first.backend === undefined ? '' : `, electing through etcd (election "${first.backend.election}")`),
      unavailable: UNAVAILABLE_ON_REAL_NODES,
      faultLeaseMs: this.leaseMs,
    };
    const clock = new RealClock();
    this.origin = Date.now() - clock.now();
    const model = new ClusterModel(
      {
        algorithm: first.algorithm,
        config: first.config,
        members: first.members.map((member) => member.id),
        voters: first.members.filter((member) => member.voting).map((member) => member.id),
        clock,
        random: createRandom(Date.now() >>> 0),
        target: this.target,
        leadership: {
          priorities: Object.fromEntries(first.members.map((member) => [member.id, member.priority ?? DEFAULT_PRIORITY])),
          takeoverAfterMs: first.leadership?.takeoverAfterMs ?? null,
          preferredLeader: first.leadership?.preferredLeader ?? null,
        },
      },
      this.control(),
    );
    this.firstRun({ model, clock });
  }

  // ---- What the base asks of an adapter ----

  protected begin(): void {
    this.model.start();
    // What the agents said before the run started becomes its first observations.
    for (const state of this.members.values()) this.reconcile(state);
    for (const state of this.members.values()) if (state.status !== null) this.feed(state.member.id, state.status.status);
    this.intervals.push(setInterval(() => this.flush(false), REORDER_WINDOW_MS / 2));
    this.intervals.push(setInterval(() => this.renew(), Math.max(250, this.leaseMs / 3)));
    this.intervals.push(setInterval(() => this.pingAll(), PING_INTERVAL_MS));
    this.intervals.push(setInterval(() => this.watchReachability(), PING_INTERVAL_MS / 2));
  }

  /** Detaches: faults this console set are lifted and kills and pauses it holds released (bounded), then every connection closes. */
  protected async close(): Promise<void> {
    const releases: Array<Promise<unknown>> = [];
    if (this.faults !== null && !isEmptyTable(this.faults.table)) {
      this.faults = { table: { blocked: [], links: [] }, version: this.nextVersion() };
      for (const state of this.members.values()) if (state.agent?.isOpen) releases.push(this.pushFaults(state));
    }
    for (const state of this.members.values()) {
      if (state.held !== null && state.supervisor?.isOpen) {
        releases.push(state.supervisor.request({ op: 'child', action: state.held === 'kill' ? 'start' : 'resume', leaseMs: this.leaseMs }));
      }
    }
    await Promise.race([Promise.allSettled(releases), new Promise((resolve) => setTimeout(resolve, 2_000))]);
    this.detached = true;
    for (const timer of this.retries) clearTimeout(timer);
    for (const interval of this.intervals) clearInterval(interval);
    for (const state of this.members.values()) {
      state.agent?.close('the console detached');
      state.supervisor?.close('the console detached');
    }
  }

  /** What a real cluster refuses, kill, restart and pause without a reachable supervisor, and what every agent says it cannot do. */
  protected refusals(): Refusals {
    const supervised = [...this.members.values()].some((state) => state.supervisor?.isOpen);
    const unsupervised = 'No supervisor is reachable: start the agents with --supervise to kill, restart or pause them from the console';
    return { ...UNAVAILABLE_ON_REAL_NODES, ...(supervised ? {} : { kill: unsupervised, restart: unsupervised, pause: unsupervised }), ...this.refusedByAgents() };
  }

  protected override label(): string {
    return this.faultsTakenOver === null ? this.target.label : `${this.target.label}; ${this.faultsTakenOver}`;
  }

  /** Controls that every agent that reported its status says it cannot carry out (etcd-backed agents: partitions, link faults, transfer), with the first one's reason. */
  private refusedByAgents(): Refusals {
    const lists = [...this.members.values()].flatMap((state) => (state.status === null ? [] : [state.status.unavailable ?? {}]));
    const refused: Refusals = {};
    if (lists.length === 0) return refused;
    for (const control of TARGET_CONTROLS) {
      const reason = lists[0]![control];
      if (reason !== undefined && lists.every((list) => list[control] !== undefined)) refused[control] = reason;
    }
    return refused;
  }

  override timers(): Array<{ id: string; startedAt: number; dueAt: number }> {
    const timers = [];
    for (const [id, state] of this.members) {
      const timer = state.status?.electionTimer;
      if (timer && this.control().run(id) === 'up') timers.push({ id, startedAt: this.local(state, timer.startedAt), dueAt: this.local(state, timer.dueAt) });
    }
    return timers;
  }

  async inspect(nodeId: string): Promise<NodeDetail | null> {
    const state = this.members.get(nodeId);
    if (state === undefined) return null;
    const view = this.decorate(this.model.nodeView(nodeId));
    const clock = state.clock.estimate();
    let answer: Record<string, unknown>;
    if (state.agent?.isOpen) {
      try {
        const parsed = inspectResultSchema.safeParse(await state.agent.request({ op: 'inspect' }));
        if (parsed.success) answer = parsed.data;
        else {
          const issue = parsed.error.issues[0];
          answer = { error: `${nodeId} answered inspect with something not in the protocol (${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'})` };
        }
      } catch (error) {
        answer = { error: error instanceof Error ? error.message : String(error) };
      }
    } else {
      answer = { unreachable: state.lastError ?? 'this console is not connected to the agent' };
    }
    const { durable, ...internals } = answer;
    return {
      view,
      internals: { ...internals, address: state.member.address, http: state.member.http, supervisor: state.member.supervisor, child: state.child },
      durable: isDurable(durable) ? durable : null,
      inbox: 0,
      clock,
    };
  }

  /** A member without a reachable supervisor cannot be killed, restarted, paused or resumed from here, whatever the others can. */
  protected override refusalFor(command: ClusterCommand): string | null {
    if (command.type === 'kill' || command.type === 'restart' || command.type === 'pause' || command.type === 'resume') {
      const state = this.members.get(command.nodeId);
      if (state !== undefined && !state.supervisor?.isOpen) {
        return `${command.nodeId} has no supervisor this console can reach (${state.member.supervisor}): start it with --supervise to ${command.type} it from here`;
      }
    }
    return super.refusalFor(command);
  }

  /** The agents get this console's new rule table (a partition into groups goes as its groups), leased. */
  protected override networkChanged(table: NetworkTable): void {
    this.faults = { table: wireTable(table, this.model.splitGroups()), version: this.nextVersion() };
    this.faultsTakenOver = null;
    for (const state of this.members.values()) if (state.agent?.isOpen) this.requests.track(this.pushFaults(state));
  }

  protected override requestsFailed(reasons: string): string {
    return `not every node could be reached: ${reasons}`;
  }

  // ---- Nodes, as the model sees them ----

  private control(): NodeControl {
    const state = (id: string): MemberState => this.members.get(id)!;
    const child = (id: string, action: 'kill' | 'start' | 'pause' | 'resume', run: NodeRunState): void => {
      const member = state(id);
      member.held = action === 'kill' ? 'kill' : action === 'pause' ? 'pause' : null;
      // What the supervisor is about to do, until it reports it.
      member.child = { state: run, pid: run === 'down' ? null : (member.child?.pid ?? null), restarts: member.child?.restarts ?? 0, lastExit: member.child?.lastExit ?? null, held: null };
      const supervisor = member.supervisor;
      if (supervisor === null) {
        this.requests.track(Promise.reject(new Error(`${id}'s supervisor is not reachable`)));
        return;
      }
      member.childRequests += 1;
      this.requests.track(supervisor.request({ op: 'child', action, leaseMs: this.leaseMs }).finally(() => (member.childRequests -= 1)));
    };
    return {
      run: (id) => this.runOf(state(id)),
      status: (id) => (this.runOf(state(id)) === 'down' ? null : this.fedStatus(id)),
      kill: (id) => child(id, 'kill', 'down'),
      start: (id) => child(id, 'start', 'up'),
      pause: (id) => child(id, 'pause', 'paused'),
      resume: (id) => child(id, 'resume', 'up'),
      transfer: (leaderId, target) => {
        const agent = state(leaderId).agent;
        if (!agent?.isOpen) return { ok: false, error: `${leaderId} is not reachable from this console` };
        this.requests.track(agent.request({ op: 'transfer', to: target }));
        return { ok: true };
      },
      clockRefusal: UNAVAILABLE_ON_REAL_NODES.clock,
      leadershipRefusal: IN_THE_CLUSTER_FILE,
      networkRefusal: (table, groups) => this.tableTooLarge(wireTable(table, groups)),
    };
  }

  /**
   * What runs, as best this console knows: the supervisor's word; else up once the agent answered
   * (an agent this console cannot reach is unreachable, not down: only its supervisor can say it
   * stopped); down only for one it never reached.
   */
  private runOf(state: MemberState): NodeRunState {
    if (state.child !== null) return state.child.state;
    return state.agent?.isOpen || state.status !== null ? 'up' : 'down';
  }

  private reachable(state: MemberState): boolean {
    return state.agent?.isOpen === true && state.unreachableSince === null;
  }

  protected override decorate(node: NodeView): NodeView {
    const state = this.members.get(node.id)!;
    const reachable = this.reachable(state);
    const pid = state.child?.pid ?? (reachable ? (state.status?.pid ?? null) : null);
    const view: NodeView = { ...node, host: state.member.address, pid: node.status === 'down' ? null : pid, voting: state.member.voting, reachable };
    if (!reachable && node.status !== 'down' && state.status !== null) view.reachability = this.reachabilityOf(state);
    return view;
  }

  /** Why this console cannot reach a member, and whether its peers still hear it, in words. */
  private reachabilityOf(state: MemberState): string {
    const id = state.member.id;
    const forMs = state.unreachableSince === null ? null : performance.now() - state.unreachableSince;
    const since = forMs === null ? 'not connected' : `not responding for ${(forMs / 1000).toFixed(1)} s`;
    const hear: string[] = [];
    const deaf: string[] = [];
    for (const other of this.members.values()) {
      if (other === state || !this.reachable(other)) continue;
      const heardMsAgo = other.status?.peers[id]?.heardMsAgo;
      if (typeof heardMsAgo === 'number' && heardMsAgo < NOT_RESPONDING_MS) hear.push(`${other.member.id} (${heardMsAgo} ms ago)`);
      else deaf.push(other.member.id);
    }
    if (hear.length > 0) return `${since} to this console, but its peers hear it: ${hear.join(', ')}; only this console lost it`;
    if (deaf.length > 0) return `${since}, and its peers (${deaf.join(', ')}) do not hear it either: cut off from everyone, frozen or gone`;
    return `${since}; no peer is reachable to ask`;
  }

  /** Agents not heard from: unreachable after NOT_RESPONDING_MS, hung up on after GONE_AFTER_MS. */
  private watchReachability(): void {
    const now = performance.now();
    for (const state of this.members.values()) {
      const agent = state.agent;
      if (agent === null || !agent.isOpen) continue;
      const silentMs = now - agent.heardAt;
      if (silentMs >= GONE_AFTER_MS) {
        agent.close(`not heard from for ${Math.round(silentMs)} ms`);
        continue;
      }
      const unreachable = silentMs >= NOT_RESPONDING_MS;
      if (unreachable === (state.unreachableSince !== null)) continue;
      state.unreachableSince = unreachable ? agent.heardAt : null;
      this.model.changed();
    }
  }

  /** Records a run state the agents or supervisors reported that differs from what was recorded. */
  private reconcile(state: MemberState): void {
    if (this.isStarted) this.model.reconcile(state.member.id, this.runOf(state));
  }

  // ---- Connections ----

  private async connectAll(): Promise<void> {
    for (const state of this.members.values()) {
      this.keepConnected(state, 'agent');
      this.keepConnected(state, 'supervisor');
    }
    // The first snapshot should show the agents, not a cluster of unknowns.
    await waitUntil(() => [...this.members.values()].every((state) => state.status !== null || state.lastError !== null), FIRST_STATUS_WAIT_MS);
  }

  private keepConnected(state: MemberState, kind: 'agent' | 'supervisor'): void {
    const address = kind === 'agent' ? state.member.address : state.member.supervisor;
    const backoff = new Backoff({ delayMsMin: RECONNECT_MS_MIN, delayMsMax: RECONNECT_MS_MAX, jitter: 'equal' }, this.random.fork(`${kind}-${state.member.id}`));
    const attempt = async (): Promise<void> => {
      if (this.detached) return;
      try {
        const { connection } = await dialWire({
          address,
          token: this.options.token,
          role: 'console',
          id: this.options.consoleId,
          expectId: state.member.id,
          timeoutMs: DIAL_TIMEOUT_MS,
          ...tlsOf(this.options),
        });
        if (this.detached) {
          connection.close('the console detached');
          return;
        }
        backoff.reset();
        const channel = new RequestChannel(
          connection,
          (frame) => this.onPush(state, frame),
          () => {
            if (kind === 'agent') {
              state.agent = null;
              state.unreachableSince ??= performance.now();
            } else state.supervisor = null;
            this.reconcile(state);
            this.model.changed();
            retry();
          },
        );
        if (kind === 'agent') {
          state.agent = channel;
          state.lastError = null;
          state.unreachableSince = null;
          state.clock.clear();
          // The status an agent pushes as it welcomes us can come in before this channel listens: ask for it too.
          channel.request({ op: 'status' }).then(
            (value) => {
              const status = agentStatusSchema.safeParse(value);
              if (status.success && state.agent === channel) this.onPush(state, { t: 'status', status: status.data });
            },
            () => undefined,
          );
          this.ping(state);
          if (this.faults !== null) void this.pushFaults(state).catch(() => undefined);
        } else {
          state.supervisor = channel;
        }
        this.reconcile(state);
      } catch (error) {
        if (kind === 'agent') state.lastError = error instanceof Error ? error.message : String(error);
        retry();
      }
    };
    const retry = (): void => {
      if (this.detached) return;
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        if (kind === 'agent') state.redialNow = null;
        void attempt();
      }, backoff.next());
      this.retries.add(timer);
      if (kind === 'agent') {
        state.redialNow = () => {
          clearTimeout(timer);
          this.retries.delete(timer);
          state.redialNow = null;
          backoff.reset();
          void attempt();
        };
      }
    };
    void attempt();
  }

  private onPush(state: MemberState, frame: Push): void {
    switch (frame.t) {
      case 'status':
        // Another process (restarted, or seen for the first time): what the old one said is over.
        if (state.status !== null && state.status.pid !== frame.status.pid) this.forget(state.member.id);
        state.status = frame.status;
        if (this.isStarted && !sameNodeStatus(this.fedStatus(state.member.id), frame.status.status)) this.later(state, frame.status.now, () => this.feed(state.member.id, frame.status.status));
        if (frame.status.capabilities !== undefined) this.model.observeCapabilities(state.member.id, frame.status.capabilities);
        this.model.changed();
        return;
      case 'event':
        this.onEvent(state, frame.event);
        return;
      case 'sent':
        for (const message of frame.messages) {
          // Only the algorithm's own kinds are counted and drawn: a kind is data, and an unknown one is an agent's bug.
          if (!this.messageKinds.has(message.kind)) continue;
          const sentAt = this.local(state, message.sentT);
          const granted = message.granted;
          this.model.transit({
            message: { kind: message.kind, from: message.from, to: message.to, term: 0, ...(granted === undefined ? {} : { granted }) },
            sentAt,
            deliverAt: message.deliverT === null ? null : Math.max(sentAt, this.local(state, message.deliverT)),
            dropped: message.dropped,
            duplicate: message.duplicate,
          });
        }
        return;
      case 'child':
        // A push sent before our request was handled says nothing about its outcome.
        if (state.childRequests > 0) return;
        // Its supervisor started it again: show it as soon as it answers, not when the backoff says.
        if (frame.child.state === 'up' && frame.child.pid !== state.child?.pid) state.redialNow?.();
        state.child = frame.child;
        if (frame.child.state === 'down') this.forget(state.member.id);
        this.reconcile(state);
        this.model.changed();
        return;
    }
  }

  private onEvent(state: MemberState, event: AgentEvent): void {
    // A peer connected again (it restarted, or its cable is back): redial it at once.
    if (event.type === 'peer-joined') this.members.get(event.peer)?.redialNow?.();
    if (!this.isStarted) return;
    switch (event.type) {
      case 'boot':
        this.later(state, event.t, () => {
          this.forget(state.member.id);
          this.feed(state.member.id, event.status);
        });
        return;
      case 'status':
        this.later(state, event.t, () => this.feed(state.member.id, event.status));
        return;
      case 'persisted':
        this.later(state, event.t, () => this.model.persisted(state.member.id, {}, event.status));
        return;
      case 'transfer':
        this.later(state, event.t, () => this.model.noticed(state.member.id, { kind: 'transfer', to: event.to, reason: event.reason }));
        return;
      case 'term-refused':
        this.later(state, event.t, () => this.model.termRefused(state.member.id, event.peer, event.term, event.ownTerm, event.refused));
        return;
      default:
        return;
    }
  }

  /**
   * Queues a report from an agent at its time `agentT`, to be recorded in time order. Until the
   * agent's clock offset is estimated its time means nothing here, so the report counts as of its
   * arrival; and no report is from the future (an estimate can be off), or it would wait that long.
   */
  private later(state: MemberState, agentT: number, report: () => void): void {
    const now = this.clock.now();
    const t = state.clock.estimate() === null ? now : Math.min(now, this.local(state, agentT));
    this.pending.push({ t, report: () => this.model.at(t, report) });
  }

  /** Records what waited out the reorder window (everything, when `all`). */
  private flush(all: boolean): void {
    if (this.pending.length === 0) return;
    const horizon = all ? Infinity : this.clock.now() - REORDER_WINDOW_MS;
    this.pending.sort((a, b) => a.t - b.t);
    let ready = 0;
    while (ready < this.pending.length && this.pending[ready]!.t <= horizon) ready += 1;
    for (const item of this.pending.splice(0, ready)) item.report();
  }

  /** An agent's time (epoch-based ms on its clock) in this console's cluster time. */
  private local(state: MemberState, agentT: number): number {
    const offset: OffsetEstimate | null = state.clock.estimate();
    return agentT - (offset?.offsetMs ?? 0) - this.origin;
  }

  private pingAll(): void {
    for (const state of this.members.values()) if (state.agent?.isOpen) this.ping(state);
  }

  private ping(state: MemberState): void {
    const agent = state.agent;
    if (agent === null) return;
    const sentAt = this.origin + this.clock.now();
    agent.request({ op: 'ping', sentAt }).then(
      (value) => {
        // An answer that is not a ping's (or not to this ping) gives no estimate.
        const answer = pingResultSchema.safeParse(value);
        if (answer.success && answer.data.sentAt === sentAt) state.clock.add(sentAt, answer.data.agentNow, this.origin + this.clock.now());
      },
      // Silence is watched as such (watchReachability); an unanswered ping is one sign of it.
      () => undefined,
    );
  }

  // ---- Leases ----

  private nextVersion(): string {
    this.faultsSerial += 1;
    return `${this.options.consoleId}#${this.faultsSerial}`;
  }

  /** Why `table` cannot go to the agents: its `faults` request, or an agent's status carrying it, would not fit in one frame. */
  private tableTooLarge(table: WireNetworkTable): string | null {
    const version = `${this.options.consoleId}#${Number.MAX_SAFE_INTEGER}`;
    const frames: unknown[] = [{ t: 'req', id: Number.MAX_SAFE_INTEGER, op: { op: 'faults', table, version, leaseMs: this.leaseMs } }];
    for (const state of this.members.values()) {
      if (state.status !== null) frames.push({ t: 'status', status: { ...state.status, faults: { table, version, owner: this.options.consoleId, expiresInMs: this.leaseMs } } });
    }
    const bytes = Math.max(...frames.map((frame) => Buffer.byteLength(JSON.stringify(frame), 'utf8')));
    if (bytes <= FRAME_BYTES_MAX) return null;
    return `the agents cannot be sent this rule table: ${table.blocked.length} blocked links and ${table.links.length} link faults take ${bytes} bytes, above the ${FRAME_BYTES_MAX}-byte frame limit (a split into groups, or fewer per-link faults, would fit)`;
  }

  private pushFaults(state: MemberState): Promise<unknown> {
    const faults = this.faults;
    if (faults === null || state.agent === null) return Promise.resolve();
    return state.agent.request({ op: 'faults', table: faults.table, version: faults.version, leaseMs: this.leaseMs });
  }

  /**
   * Keeps this console's faults, kills and pauses alive. An agent whose lease lapsed gets the
   * table again; one where another console's table replaced it makes this console let go.
   */
  private renew(): void {
    const faults = this.faults;
    const empty = faults === null || isEmptyTable(faults.table);
    for (const state of this.members.values()) {
      if (!empty && state.agent?.isOpen) {
        state.agent.request({ op: 'renew', version: faults!.version }).catch((error: unknown) => {
          if (this.faults?.version !== faults!.version || !(error instanceof RequestRefused)) return;
          if (error.code === 'lapsed') this.pushFaults(state).catch(() => undefined);
          else if (error.code === 'replaced') this.letFaultsGo(state, error.message);
        });
      }
      if (state.held !== null && state.supervisor?.isOpen) state.supervisor.request({ op: 'renew-child' }).catch(() => undefined);
    }
  }

  /** Another console set its own fault table: this console's is no longer in force, so it stops showing and renewing it. */
  private letFaultsGo(state: MemberState, reason: string): void {
    this.faults = null;
    this.faultsTakenOver = `another console took over the network faults (${state.member.id}: ${reason})`.slice(0, 300);
    this.model.dropNetworkFaults(`this console's network faults, as ${this.faultsTakenOver}`);
  }
}

/** The table as agents get it: a partition into groups goes as its groups (O(n)), not as every link it blocks (O(n²)). */
function wireTable(table: NetworkTable, groups: string[][] | null): WireNetworkTable {
  return groups === null ? table : { blocked: [], groups, links: table.links };
}

function tlsOf(options: AttachOptions): { tls?: TlsFiles } {
  return options.tls === undefined ? {} : { tls: options.tls };
}

function isDurable(value: unknown): value is Record<string, string | number | null> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => v === null || typeof v === 'string' || typeof v === 'number');
}
