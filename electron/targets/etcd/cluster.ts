/**
 * An etcd cluster, watched as a console: each member is a node, as its own maintenance status
 * says — reachable or not, leader or follower (etcd does not say when a member campaigns), its
 * raft term and the leader it follows — polled every STATUS_POLL_INTERVAL_MS, at most one
 * request per member in flight. The same ClusterModel as every other cluster turns what the
 * members say into the timeline, leader and quorum tracking, failovers, /metrics and recordings.
 *
 * Watched, the console can only move the leader (move-leader); a playground (playground.ts)
 * runs the members itself and adds kill, restart, pause and the network's faults through an
 * EtcdRunner.
 */
import { randomInt } from 'node:crypto';
import type { IStatusResponse } from 'etcd3';
import type { ElectionConfig, NodeStatus } from '../../../shared/core/election.js';
import { createRandom } from '../../../shared/core/random.js';
import type { NetworkTable } from '../../../shared/network/link-rules.js';
import type { EtcdWatchSpec } from '../../../shared/protocol/etcd.js';
import type { ClusterCommand, NodeDetail, NodeRunState, NodeView, TargetControl, TargetInfo } from '../../../shared/protocol/types.js';
import { RealClock, type Clock } from '../../runtime/clock.js';
import { ClusterModel } from '../model/model.js';
import { waitUntil } from '../model/requests.js';
import { ModelTarget } from '../model-target.js';
import type { NodeControl, Refusals } from '../target.js';
import { explainEtcdError, hexId, within, type EtcdAccess } from '../../clients/etcd.js';
import { STATUS_TIMEOUT_MS, PolledMember } from './member.js';
import { listMembers, membersFrom, sameMembership, type EtcdMemberInfo, type MemberList } from './members.js';
import { etcdDefaults, readTiming } from './timing.js';

/** How often a watch asks who the members are (members added or removed start a new run). */
export const MEMBERSHIP_REFRESH_MS = 5_000;
/** ... and at most this often when it has a reason to ask sooner (a leader it does not know). */
const MEMBERSHIP_REFRESH_MS_MIN = 500;
/** How often the cluster's alarms (NOSPACE, CORRUPT) are read. */
export const ALARM_POLL_MS = 1_000;
/** Opening waits this long for every member's first status (the membership: OPEN_TIMEOUT_MS, members.ts). */
export const FIRST_STATUS_WAIT_MS = 3_000;
/** Terms whose leader is remembered, below the latest (see feed). */
const LEADER_TERMS_KEPT = 64;
/** etcd's move-leader answers once the new leader leads, or fails. */
export const MOVE_LEADER_TIMEOUT_MS = 5_000;

/** Why a playground refuses loss and duplication. */
export const TCP_LINK_REFUSAL =
  "etcd's members talk over TCP streams, which never lose or duplicate a message: an etcd link can be cut or delayed (latency, jitter), not made lossy";

/** Why priorities and the preferred-leader rule do not apply to etcd. */
const ETCD_HAS_NO_PRIORITIES = 'etcd elects by its own rules and has no member priorities or preferred leader: move its leader with transfer (move-leader)';

const UNAVAILABLE_ON_ETCD = {
  configure: "An etcd cluster's timing is in its members' flags: open a new playground with other settings, or restart the members",
  clock: 'etcd members keep real time: there is no clock control on etcd',
  loss: TCP_LINK_REFUSAL,
  duplicate: TCP_LINK_REFUSAL,
  priority: ETCD_HAS_NO_PRIORITIES,
  capabilities: ETCD_HAS_NO_PRIORITIES,
  leadership: ETCD_HAS_NO_PRIORITIES,
} as const satisfies Partial<Record<TargetControl, string>>;

const UNAVAILABLE_ON_WATCHED_ETCD = {
  ...UNAVAILABLE_ON_ETCD,
  kill: 'Conclave watches this etcd cluster and does not run its members: it cannot kill them (an etcd playground can)',
  restart: 'Conclave watches this etcd cluster and does not run its members: it cannot restart them (an etcd playground can)',
  pause: 'Conclave watches this etcd cluster and does not run its members: it cannot pause them (an etcd playground can)',
  partition: "Conclave is not on this etcd cluster's network: it cannot partition it (an etcd playground can)",
  link: "Conclave is not on this etcd cluster's network: it cannot set link faults (an etcd playground can)",
} as const satisfies Partial<Record<TargetControl, string>>;

/** What a playground adds to watching: it runs the members and their network. */
export interface EtcdRunner {
  /** Controls it cannot carry out here, with the reason. */
  readonly unavailable: Partial<Record<TargetControl, string>>;
  run(name: string): NodeRunState;
  pid(name: string): number | null;
  kill(name: string): void;
  /** Starts a member that is down, on its data dir. */
  start(name: string): void;
  pause(name: string): void;
  resume(name: string): void;
  /** The console's network rules changed. */
  applyRules(table: NetworkTable): void;
  /** For the node's details: ports, data dir, the end of its log. */
  describe(name: string): Record<string, unknown>;
  /** Calls back when a member exits without being asked to. */
  onExit(listener: (name: string) => void): void;
  stop(): Promise<void>;
}

export interface EtcdClusterOptions {
  kind: 'etcd' | 'etcd-playground';
  access: EtcdAccess;
  /** The endpoints the watch was given (a playground: its members'). */
  endpoints: string[];
  members: EtcdMemberInfo[];
  config: ElectionConfig;
  /** Where the timing came from, in words (a watch reads it from the members when it can). */
  configSource: string;
  /** "etcd 3.4.23 playground: 3 members on 127.0.0.1"; a watch's label is made from its endpoints. */
  label?: string;
  runner?: EtcdRunner;
  /** The members are the endpoints, named by host:port, until one answers (a watch that began unreachable). */
  provisional?: boolean;
}

export class EtcdCluster extends ModelTarget {
  /** The jitter of each member's retries. */
  private readonly random = createRandom(randomInt(2 ** 31));
  private members = new Map<string, PolledMember>();
  private readonly intervals: Array<ReturnType<typeof setInterval>> = [];
  private readonly runner: EtcdRunner | null;
  /** Set once the target began to stop: no more polls or membership refreshes. */
  private closed = false;
  private refreshing = false;
  private lastRefreshMs = 0;
  /** Who led each recent term, as the members said (see feed). */
  private readonly leaderOfTerm = new Map<number, string>();
  /** A watch that began before any member answered: its members are its endpoints until one does. */
  private provisional: boolean;
  private config: ElectionConfig;
  private configSource: string;
  /** The controls this cluster refuses, with the reason. */
  private readonly unavailable: Refusals;

  /**
   * Watches the etcd cluster behind `spec.endpoints`: learns the members from any endpoint that
   * answers and then asks each member itself. A wrong password or certificate is refused with
   * the reason; a cluster none of whose endpoints answers is shown unreachable, and watched
   * until it answers.
   */
  static async watch(spec: EtcdWatchSpec): Promise<EtcdCluster> {
    const access: EtcdAccess = { username: spec.username, password: spec.password, tls: spec.tls };
    const probes = await Promise.all(spec.endpoints.map((endpoint) => listMembers(endpoint, access)));
    const answer = probes.find((probe): probe is MemberList => 'members' in probe);
    let cluster: EtcdCluster;
    if (answer === undefined) {
      const problems = probes.flatMap((probe) => ('problem' in probe ? [probe.problem] : []));
      const refusal = problems.find((problem) => problem.kind === 'auth' || problem.kind === 'tls' || problem.kind === 'permission');
      if (refusal !== undefined) throw new Error(refusal.message);
      cluster = new EtcdCluster({
        kind: 'etcd',
        access,
        endpoints: spec.endpoints,
        members: spec.endpoints.map((endpoint) => ({ name: new URL(endpoint).host, memberId: null, endpoint, voting: true })),
        config: etcdDefaults(null),
        configSource: "etcd's defaults (no member has answered yet)",
        provisional: true,
      });
    } else {
      const timing = await readTiming(answer.endpoint, access);
      cluster = new EtcdCluster({
        kind: 'etcd',
        access,
        endpoints: spec.endpoints,
        members: membersFrom(answer.members, spec.endpoints, access.username),
        config: timing?.config ?? etcdDefaults(null),
        configSource: timing?.source ?? "etcd's defaults (the members' flags could not be read)",
      });
    }
    await cluster.firstStatuses();
    return cluster;
  }

  constructor(private readonly options: EtcdClusterOptions) {
    super();
    this.runner = options.runner ?? null;
    this.unavailable = this.runner === null ? UNAVAILABLE_ON_WATCHED_ETCD : { ...UNAVAILABLE_ON_ETCD, ...this.runner.unavailable };
    this.config = options.config;
    this.configSource = options.configSource;
    this.provisional = options.provisional ?? false;
    const clock = new RealClock();
    this.firstRun({ model: this.createModel(options.members, clock), clock });
    this.track(options.members);
    this.runner?.onExit((name) => {
      if (!this.members.has(name)) return;
      this.forget(name);
      if (this.isStarted) this.model.reconcile(name, 'down');
    });
  }

  /** Whether some member says it leads (what it said, before the run starts and feeds the model). */
  leaderReported(): boolean {
    return [...this.members.values()].some((state) => state.reachable && state.status !== null && state.status.leader === state.status.header.member_id);
  }

  /** The name of the member whose id (hex, as rafthttp sends it) this is, or null. */
  nameOfHexId(hex: string): string | null {
    for (const state of this.members.values()) if (state.info.memberId !== null && hexId(state.info.memberId) === hex) return state.name;
    return null;
  }

  // ---- What the base asks of an adapter ----

  protected begin(): void {
    this.model.start();
    this.observeAll();
    if (this.intervals.length > 0) return;
    if (this.options.kind === 'etcd') this.intervals.push(setInterval(() => void this.refreshMembership(), MEMBERSHIP_REFRESH_MS));
    this.intervals.push(setInterval(() => void this.readAlarms(), ALARM_POLL_MS));
  }

  protected async close(): Promise<void> {
    this.closed = true;
    for (const interval of this.intervals) clearInterval(interval);
    for (const state of this.members.values()) state.retire();
    await this.runner?.stop();
  }

  protected refusals(): Refusals {
    return this.unavailable;
  }

  /** A watched cluster has no faults of Conclave's to heal. */
  protected override refusalFor(command: ClusterCommand): string | null {
    if (command.type === 'heal' && this.runner === null) return 'Conclave set no faults on this etcd cluster: there is nothing for it to heal';
    return super.refusalFor(command);
  }

  /** A playground's proxies enforce the console's link rules. */
  protected override networkChanged(table: NetworkTable): void {
    this.runner?.applyRules(table);
  }

  inspect(nodeId: string): NodeDetail | null {
    const state = this.members.get(nodeId);
    if (state === undefined) return null;
    const status = state.status;
    return {
      view: this.decorate(this.model.nodeView(nodeId)),
      internals: {
        endpoint: state.info.endpoint,
        memberId: state.info.memberId === null ? null : hexId(state.info.memberId),
        reachable: state.reachable,
        lastError: state.lastError,
        lastStatusMsAgo: state.statusAt === null ? null : Date.now() - state.statusAt,
        statusRoundTripMs: state.roundTripMs === null ? null : Math.round(state.roundTripMs * 10) / 10,
        raftTerm: status === null ? null : Number(status.raftTerm),
        raftIndex: status === null ? null : Number(status.raftIndex),
        raftAppliedIndex: status === null ? null : Number(status.raftAppliedIndex),
        leader: status === null ? null : this.nameOfMemberId(status.leader),
        version: status?.version ?? null,
        dbSizeBytes: status === null ? null : Number(status.dbSize),
        dbSizeInUseBytes: status === null ? null : Number(status.dbSizeInUse),
        isLearner: status?.isLearner ?? !state.info.voting,
        errors: status?.errors ?? [],
        alarms: state.alarms,
        timing: this.configSource,
        ...this.runner?.describe(nodeId),
      },
      durable: null,
      inbox: 0,
      clock: null,
    };
  }

  // ---- The model ----

  private createModel(members: EtcdMemberInfo[], clock: Clock): ClusterModel {
    const target: TargetInfo = {
      kind: this.options.kind,
      label: '',
      unavailable: this.unavailable,
      faultLeaseMs: null,
    };
    return new ClusterModel(
      {
        algorithm: 'raft',
        config: this.config,
        members: members.map((member) => member.name),
        voters: members.filter((member) => member.voting).map((member) => member.name),
        clock,
        random: createRandom(Date.now() >>> 0),
        target,
      },
      this.control(),
    );
  }

  private control(): NodeControl {
    const state = (id: string): PolledMember => this.members.get(id)!;
    const run = (id: string): NodeRunState => (this.runner !== null ? this.runner.run(id) : state(id).reachable ? 'up' : 'down');
    const runner = (): EtcdRunner => {
      // The commands that need a runner are refused on a watched cluster before the model sees them.
      if (this.runner === null) throw new Error('this etcd cluster is watched, not run, by Conclave');
      return this.runner;
    };
    return {
      run,
      status: (id) => (run(id) === 'down' ? null : this.fedStatus(id)),
      kill: (id) => {
        runner().kill(id);
        this.forget(id);
      },
      start: (id) => {
        runner().start(id);
        state(id).wake();
      },
      pause: (id) => runner().pause(id),
      resume: (id) => {
        runner().resume(id);
        state(id).wake();
      },
      transfer: (leaderId, target) => this.moveLeader(state(leaderId), state(target)),
      clockRefusal: UNAVAILABLE_ON_ETCD.clock,
    };
  }

  private moveLeader(leader: PolledMember, target: PolledMember): { ok: true } | { ok: false; error: string } {
    const client = leader.client;
    if (client === null || leader.info.endpoint === null) return { ok: false, error: leader.info.withheld ?? `${leader.name} has no client URL this console can reach` };
    if (target.info.memberId === null) return { ok: false, error: `${target.name}'s etcd member id is not known yet` };
    const endpoint = leader.info.endpoint;
    const request = client.maintenance.moveLeader({ targetID: target.info.memberId }, within(MOVE_LEADER_TIMEOUT_MS)).catch((error: unknown) => {
      throw new Error(`move-leader to ${target.name} failed: ${explainEtcdError(error, endpoint, this.options.access).message}`);
    });
    this.requests.track(request);
    return { ok: true };
  }

  /** Feeds every member's current status to a model that starts (again). */
  private observeAll(): void {
    for (const state of this.members.values()) {
      if (this.runner === null) this.model.reconcile(state.name, state.reachable ? 'up' : 'down');
      this.forget(state.name);
      if (state.status !== null && state.reachable) this.report(state, state.status);
    }
  }

  /**
   * Feeds what a member says to the model, as a status (the base keeps the one fed before).
   *
   * etcd's status gives as raftTerm the term of the last entry the member applied, not its raft
   * term: a new leader, and the members that follow it, name it alongside the previous term until
   * its first entry is committed and applied (a round trip later). Such a status, naming a leader
   * other than the one already seen leading that term, waits for its term instead of showing two
   * leaders in one term.
   */
  private report(state: PolledMember, status: IStatusResponse): void {
    const memberId = status.header.member_id;
    const next: NodeStatus = {
      role: status.leader === memberId ? 'leader' : 'follower',
      term: Number(status.raftTerm),
      votedFor: null,
      leaderId: this.nameOfMemberId(status.leader),
    };
    if (next.leaderId !== null) {
      const known = this.leaderOfTerm.get(next.term);
      if (known !== undefined && known !== next.leaderId) return;
      if (known === undefined) this.rememberLeader(next.term, next.leaderId);
    }
    this.feed(state.name, next);
  }

  private rememberLeader(term: number, leader: string): void {
    this.leaderOfTerm.set(term, leader);
    for (const old of this.leaderOfTerm.keys()) if (old < term - LEADER_TERMS_KEPT) this.leaderOfTerm.delete(old);
  }

  private nameOfMemberId(memberId: string): string | null {
    if (memberId === '0') return null;
    for (const state of this.members.values()) if (state.info.memberId === memberId) return state.name;
    // A leader this console does not know: the membership changed.
    if (this.options.kind === 'etcd') void this.refreshMembership();
    return null;
  }

  // ---- Polling ----

  private track(members: EtcdMemberInfo[]): void {
    const events = { answered: this.answered.bind(this), lost: this.lost.bind(this) };
    this.members = new Map(members.map((info) => [info.name, new PolledMember(info, this.options.access, this.random.fork(info.name), events)]));
    for (const state of this.members.values()) void state.poll();
  }

  /** What a member's answer means for the run: it came back, it leads or follows. */
  private answered(state: PolledMember, status: IStatusResponse, change: { cameBack: boolean; learned: boolean }): void {
    // A watch that began before any member answered learns the members now.
    if (change.learned && this.provisional) void this.refreshMembership();
    if (!this.isStarted) return;
    if (change.cameBack && this.runner === null) {
      this.forget(state.name);
      this.model.reconcile(state.name, 'up');
    }
    this.report(state, status);
    if (change.cameBack) this.model.changed();
  }

  /** A watched member that stops answering is shown down; a playground's runner knows better. */
  private lost(state: PolledMember): void {
    if (this.runner === null) {
      this.forget(state.name);
      if (this.isStarted) this.model.reconcile(state.name, 'down');
    }
    this.model.changed();
  }

  private firstStatuses(): Promise<void> {
    return waitUntil(() => [...this.members.values()].every((state) => state.client === null || state.status !== null || state.failures !== 0), FIRST_STATUS_WAIT_MS);
  }

  // ---- Membership and alarms ----

  private reachableMember(): PolledMember | null {
    return [...this.members.values()].find((state) => state.reachable && state.client !== null) ?? null;
  }

  /** Asks who the members are; a different membership starts a new run. */
  private async refreshMembership(): Promise<void> {
    const asked = this.reachableMember();
    if (this.refreshing || this.closed || asked === null || performance.now() - this.lastRefreshMs < MEMBERSHIP_REFRESH_MS_MIN) return;
    this.refreshing = true;
    this.lastRefreshMs = performance.now();
    try {
      const answer = await asked.client!.cluster.memberList({}, within(STATUS_TIMEOUT_MS));
      if (this.closed) return;
      const members = membersFrom(answer.members, this.options.endpoints, this.options.access.username);
      const known = [...this.members.values()].map((state) => state.info);
      if (sameMembership(members, known)) return;
      if (this.provisional) {
        // The first answer of a watch that began unreachable: its timing can be read now.
        this.provisional = false;
        const timing = await readTiming(asked.info.endpoint!, this.options.access);
        if (timing !== null) {
          this.config = timing.config;
          this.configSource = timing.source;
        }
      }
      if (!this.closed) this.restartRun(members);
    } catch {
      // The next refresh asks again.
    } finally {
      this.refreshing = false;
    }
  }

  /** A new run over other members: listeners start over from its empty history. */
  private restartRun(members: EtcdMemberInfo[]): void {
    for (const state of this.members.values()) state.retire();
    const previous = this.model;
    this.replaceRun({ model: this.createModel(members, this.clock), clock: this.clock }, () => {
      previous.stop();
      this.leaderOfTerm.clear();
      this.track(members);
    });
  }

  private async readAlarms(): Promise<void> {
    const asked = this.reachableMember();
    if (asked === null) return;
    try {
      const answer = await asked.client!.maintenance.alarm({ action: 'Get' }, within(STATUS_TIMEOUT_MS));
      let changed = false;
      for (const state of this.members.values()) {
        const alarms = answer.alarms.filter((alarm) => alarm.memberID === state.info.memberId).map((alarm) => alarm.alarm);
        if (alarms.join() !== state.alarms.join()) changed = true;
        state.alarms = alarms;
      }
      if (changed) this.model.changed();
    } catch {
      // Alarms are read again in a second.
    }
  }

  // ---- What the dashboard sees ----

  protected override label(): string {
    const count = this.members.size;
    const reached = [...this.members.values()].some((state) => state.reachable);
    const base =
      this.options.label ??
      `etcd cluster via ${this.options.endpoints[0]}${this.options.endpoints.length > 1 ? ` (+${this.options.endpoints.length - 1})` : ''}: ${count} member${count === 1 ? '' : 's'}`;
    if (reached) return base;
    const reason = [...this.members.values()].find((state) => state.lastError !== null)?.lastError;
    return `${base}, unreachable${reason === undefined ? '' : `: ${reason}`}`;
  }

  protected override decorate(node: NodeView): NodeView {
    const state = this.members.get(node.id);
    if (state === undefined) return node;
    const view: NodeView = { ...node, voting: state.info.voting, reachable: state.reachable };
    if (state.info.endpoint !== null) view.host = state.info.endpoint;
    if (this.runner !== null) view.pid = node.status === 'down' ? null : this.runner.pid(node.id);
    return view;
  }
}

