/**
 * Everything a run's event stream means, derived incrementally and purely, so that the hub
 * (for /metrics), the live dashboard and a replay compute the same answers from the same events:
 * per-node role bands, who led which term, leaderless gaps, fault windows, failovers, safety
 * alarms, and the figures an operator watches (etcd-like names in docs/protocol.md).
 */
import type { Role } from '../core/election.js';
import type { ActiveFault, ClusterEvent, ClusterEventBody, LeaderLossCause, NetworkView, NodeView } from '../protocol/types.js';
import { FaultBook } from './fault-book.js';
import { SafetyMonitor, type SafetyViolation } from './safety.js';
import { summarize, type Summary } from './stats.js';

export type NodeState = Role | 'down' | 'paused';

export interface NodeSegment {
  nodeId: string;
  state: NodeState;
  term: number;
  start: number;
  end: number | null;
}

export interface LeadershipPeriod {
  nodeId: string;
  term: number;
  startT: number;
  startAt: number;
  endT: number | null;
  endReason: 'stepped down' | 'killed' | 'restarted' | null;
}

/** A stretch without a leader followed by a majority; `cause` says how it began. */
export interface LeaderlessGap {
  start: number;
  end: number | null;
  cause: LeaderLossCause | 'lost majority' | 'startup';
  /** The leader that was lost (null at startup). */
  lostLeader: string | null;
  /** Who led once it ended. */
  newLeader: string | null;
}

export interface FaultWindow {
  id: string;
  kind: 'down' | 'paused' | 'partition' | 'link';
  label: string;
  nodes: string[];
  start: number;
  /** Wall-clock epoch ms of the start. */
  startAt: number;
  end: number | null;
}

export type AlarmSeverity = 'violation' | 'warning' | 'expected';

export interface Alarm {
  kind: SafetyViolation['kind'] | 'stale-leader' | 'split-brain' | 'term-refused';
  severity: AlarmSeverity;
  message: string;
  nodes: string[];
  start: number;
  /** When it stopped (stale leaders, split brain); violations are instants. */
  end: number | null;
}

export interface RunMetrics {
  /** Cluster ms covered by the events. */
  elapsedMs: number;
  hasLeader: boolean;
  leaderChanges: number;
  electionsStarted: number;
  preVotesStarted: number;
  failovers: number;
  lastFailoverMs: number | null;
  failoverMs: Summary;
  leaderlessMs: number;
  /** Fraction of the elapsed time with a leader followed by a majority. */
  availability: number;
  /** Messages per second by kind over the last traffic interval. */
  messagesPerSecond: Record<string, number>;
  messagesTotal: Record<string, number>;
  droppedTotal: number;
  safetyViolations: number;
}

/** Records of each kind kept at most: beyond it the oldest closed ones are folded into running totals (open ones always stay). */
export const MAX_RECORDS = 20_000;
/** Events between two prunings: a list may exceed MAX_RECORDS by this many (plus its open records). */
export const PRUNE_EVERY = 1_000;

export interface RunInfo {
  members: readonly string[];
  /** False for Bully: two coordinators are its expected behaviour under a partition. */
  singleLeaderPerTerm: boolean;
}

export class RunAnalysis {
  readonly segments: NodeSegment[] = [];
  readonly leadership: LeadershipPeriod[] = [];
  readonly gaps: LeaderlessGap[] = [];
  readonly faults: FaultWindow[] = [];
  readonly alarms: Alarm[] = [];
  startT: number | null = null;
  lastT = 0;
  /** Wall-clock epoch ms of the last event. */
  lastAt = 0;

  private readonly safety: SafetyMonitor;
  private readonly running = new Map<string, 'up' | 'paused' | 'down'>();
  private readonly role = new Map<string, { role: Role; term: number; votedFor: string | null; leaderId: string | null }>();
  /** The faults in force, kept as the live model keeps them; each one's window is in `faults`. */
  private readonly book: FaultBook;
  clockSpeed = 1;
  private readonly openSegment = new Map<string, NodeSegment>();
  private readonly openLeadership = new Map<string, LeadershipPeriod>();
  private readonly openWindows = new Map<string, FaultWindow>();
  private openGap: LeaderlessGap | null = null;
  private openConcurrent: Alarm | null = null;
  private majorityLeaderId: string | null = null;
  private readonly electionTimes: number[] = [];
  private readonly preVoteTimes: number[] = [];
  private readonly trafficLog: Array<{ t: number; sent: Record<string, number>; dropped: number; intervalMs: number }> = [];
  /** What pruned records added up to; whole-run figures include it. */
  private readonly before = {
    leaderChanges: 0,
    elections: 0,
    preVotes: 0,
    failovers: 0,
    /** Durations of the most recent folded failovers (at most MAX_RECORDS), for the percentiles. */
    failoverSample: [] as number[],
    leaderlessMs: 0,
    /** Counts by message kind, with no prototype: a kind is data, never a property of Object. */
    messages: Object.create(null) as Record<string, number>,
    dropped: 0,
    violations: 0,
  };
  /** Records before this cluster time may have been folded into `before`. */
  private horizonT = -Infinity;
  private observed = 0;

  constructor(private readonly info: RunInfo) {
    this.safety = new SafetyMonitor({ singleLeaderPerTerm: info.singleLeaderPerTerm });
    this.book = new FaultBook(info.members, {
      started: (fault) => this.openWindow(fault),
      ended: (id, t) => this.closeWindow(id, t),
    });
  }

  observe(event: ClusterEvent): void {
    if (this.startT === null) {
      this.startT = event.t;
      this.openGap = { start: event.t, end: null, cause: 'startup', lostLeader: null, newLeader: null };
      this.gaps.push(this.openGap);
    }
    this.lastT = Math.max(this.lastT, event.t);
    this.lastAt = event.at;
    const violation = this.safety.observe(event);
    if (violation !== null) {
      this.alarms.push({ kind: violation.kind, severity: 'violation', message: violation.message, nodes: violation.nodes, start: event.t, end: event.t });
    }
    const t = event.t;
    this.book.observe(event);
    switch (event.type) {
      case 'status':
        this.role.set(event.nodeId, { role: event.role, term: event.term, votedFor: event.votedFor, leaderId: event.leaderId });
        if (!this.running.has(event.nodeId)) this.running.set(event.nodeId, 'up');
        this.updateNode(event.nodeId, t);
        break;
      case 'role':
        if (event.to === 'candidate') this.electionTimes.push(t);
        if (event.to === 'precandidate') this.preVoteTimes.push(t);
        if (event.from === 'leader') this.closeLeadership(event.nodeId, t, 'stepped down');
        break;
      case 'leader':
        this.closeLeadership(event.nodeId, t, 'stepped down');
        this.openLeadershipPeriod(event.nodeId, event.term, t, event.at);
        break;
      case 'kill':
        this.running.set(event.nodeId, 'down');
        this.closeLeadership(event.nodeId, t, 'killed');
        this.updateNode(event.nodeId, t);
        break;
      case 'restart':
        this.closeLeadership(event.nodeId, t, 'restarted');
        this.running.set(event.nodeId, 'up');
        break;
      case 'pause':
        this.running.set(event.nodeId, 'paused');
        this.updateNode(event.nodeId, t);
        break;
      case 'resume':
        this.running.set(event.nodeId, 'up');
        this.updateNode(event.nodeId, t);
        break;
      case 'clock':
        this.clockSpeed = event.speed;
        break;
      case 'quorum':
        this.majorityLeaderId = event.leaderId;
        if (event.leaderId === null) {
          if (this.openGap === null) this.openGapAt(t, 'lost majority', null);
        } else if (this.openGap !== null) {
          this.openGap.end = t;
          this.openGap.newLeader = event.leaderId;
          this.openGap = null;
        }
        break;
      case 'leader-lost':
        if (this.openGap === null) this.openGapAt(t, event.cause, event.leaderId);
        break;
      case 'traffic':
        this.trafficLog.push({ t, sent: event.sent, dropped: event.dropped, intervalMs: event.intervalMs });
        break;
      case 'term-refused':
        this.alarms.push({
          kind: 'term-refused',
          severity: 'warning',
          message: `${event.nodeId} refused ${event.refused === 1 ? 'a message' : `${event.refused} messages`} from ${event.from} in term ${event.term}, ${event.term - event.ownTerm} ahead of its own (${event.ownTerm}) with no majority behind it: a broken member, or someone who holds the cluster token (docs/operators.md, "Inflated terms")`,
          nodes: [event.nodeId, event.from],
          start: t,
          end: t,
        });
        break;
      default:
        break;
    }
    this.trackConcurrentLeaders(t);
    if (++this.observed % PRUNE_EVERY === 0) this.prune();
  }

  /**
   * Keeps memory bounded in long runs: folds the oldest closed records into running totals.
   * Open records stay wherever they are (a node killed and never restarted keeps its band open
   * for the whole run), so closed ones after them are folded too.
   */
  private prune(): void {
    const trim = <T>(list: T[], endOf: (item: T) => number | null, fold: (item: T) => void = () => undefined): void => {
      let excess = list.length - MAX_RECORDS;
      if (excess <= 0) return;
      let kept = 0;
      for (const item of list) {
        const end = endOf(item);
        if (excess > 0 && end !== null) {
          this.horizonT = Math.max(this.horizonT, end);
          fold(item);
          excess -= 1;
        } else {
          list[kept++] = item;
        }
      }
      list.length = kept;
    };
    trim(this.segments, (segment) => segment.end);
    trim(this.faults, (window) => window.end);
    trim(this.leadership, (period) => period.endT, () => (this.before.leaderChanges += 1));
    trim(this.gaps, (gap) => gap.end, (gap) => {
      this.before.leaderlessMs += gap.end! - gap.start;
      if (gap.cause !== 'startup') {
        this.before.failovers += 1;
        this.before.failoverSample.push(gap.end! - gap.start);
      }
    });
    trim(this.alarms, (alarm) => alarm.end, (alarm) => {
      if (alarm.severity === 'violation') this.before.violations += 1;
    });
    trim(this.electionTimes, (t) => t, () => (this.before.elections += 1));
    trim(this.preVoteTimes, (t) => t, () => (this.before.preVotes += 1));
    trim(this.trafficLog, (entry) => entry.t, (entry) => {
      for (const [kind, count] of Object.entries(entry.sent)) this.before.messages[kind] = (this.before.messages[kind] ?? 0) + count;
      this.before.dropped += entry.dropped;
    });
    const { failoverSample } = this.before;
    if (failoverSample.length > MAX_RECORDS) failoverSample.splice(0, failoverSample.length - MAX_RECORDS);
  }

  /** The figures over the whole run up to cluster time `now` (defaults to the last event). */
  metrics(now = this.lastT): RunMetrics {
    return this.metricsBetween(this.startT ?? now, now);
  }

  /**
   * The figures of a window of the run, [from, to] in cluster ms (a scenario's, say). A window
   * reaching back before records were pruned includes the pruned totals.
   */
  metricsBetween(from: number, to: number): RunMetrics {
    const within = (t: number): boolean => t >= from && t <= to;
    const before = from <= this.horizonT ? this.before : null;
    const recentFailovers = this.gaps
      .filter((gap) => gap.cause !== 'startup' && gap.end !== null && within(gap.start) && gap.end <= to)
      .map((gap) => gap.end! - gap.start);
    const failovers = [...(before?.failoverSample ?? []), ...recentFailovers];
    const elapsedMs = Math.max(0, to - from);
    const leaderlessMs = (before?.leaderlessMs ?? 0) + this.gaps.reduce((sum, gap) => sum + Math.max(0, Math.min(gap.end ?? to, to) - Math.max(gap.start, from)), 0);
    const traffic = this.trafficLog.filter((entry) => within(entry.t));
    const messagesTotal: Record<string, number> = Object.assign(Object.create(null) as Record<string, number>, before?.messages);
    for (const entry of traffic) for (const [kind, count] of Object.entries(entry.sent)) messagesTotal[kind] = (messagesTotal[kind] ?? 0) + count;
    const last = traffic.at(-1);
    const openGap = this.gaps.find((gap) => gap.start <= to && (gap.end === null || gap.end > to));
    return {
      elapsedMs,
      hasLeader: openGap === undefined && this.majorityLeaderId !== null,
      leaderChanges: (before?.leaderChanges ?? 0) + this.leadership.filter((period) => within(period.startT)).length,
      electionsStarted: (before?.elections ?? 0) + this.electionTimes.filter(within).length,
      preVotesStarted: (before?.preVotes ?? 0) + this.preVoteTimes.filter(within).length,
      failovers: (before?.failovers ?? 0) + recentFailovers.length,
      lastFailoverMs: failovers.at(-1) ?? null,
      failoverMs: summarize(failovers),
      leaderlessMs,
      availability: elapsedMs === 0 ? 0 : Math.max(0, 1 - leaderlessMs / elapsedMs),
      messagesPerSecond: last === undefined ? {} : Object.fromEntries(Object.entries(last.sent).map(([kind, count]) => [kind, (count * 1000) / last.intervalMs])),
      messagesTotal,
      droppedTotal: (before?.dropped ?? 0) + traffic.reduce((sum, entry) => sum + entry.dropped, 0),
      safetyViolations: (before?.violations ?? 0) + this.alarms.filter((alarm) => alarm.severity === 'violation' && within(alarm.start)).length,
    };
  }

  /** The leader a majority of running nodes follows, as last reported (null: none). */
  get majorityLeader(): string | null {
    return this.majorityLeaderId;
  }

  /** How long after `t` a leader was followed by a majority again (0 if one was; null if none yet). */
  recoveryAfter(t: number): number | null {
    const gap = this.gaps.find((candidate) => candidate.start <= t && (candidate.end === null || candidate.end > t));
    if (gap === undefined) return 0;
    return gap.end === null ? null : gap.end - t;
  }

  /** Every node as a snapshot would show it, from the events seen so far (for replay). */
  nodeViews(): NodeView[] {
    return this.info.members.map((id) => {
      const running = this.running.get(id) ?? 'down';
      const role = this.role.get(id);
      if (role === undefined) return { id, status: running, role: null, term: 0, votedFor: null, leaderId: null };
      if (running === 'down') return { id, status: 'down', role: null, term: role.term, votedFor: role.votedFor, leaderId: null };
      return { id, status: running, role: role.role, term: role.term, votedFor: role.votedFor, leaderId: role.leaderId };
    });
  }

  /**
   * The state reached, as events that put a fresh analysis in it: each node's role and run state,
   * who leads and whether a majority follows, the partition, link faults and the clock speed.
   * What a record whose oldest events are gone starts from (the export's `initial`, a rewind).
   */
  stateEvents(): ClusterEventBody[] {
    const bodies: ClusterEventBody[] = [];
    const views = this.nodeViews();
    for (const node of views) {
      const role = this.role.get(node.id);
      if (role !== undefined) bodies.push({ type: 'status', nodeId: node.id, role: role.role, term: role.term, votedFor: role.votedFor, leaderId: role.leaderId });
      if (node.status === 'down') bodies.push({ type: 'kill', nodeId: node.id });
      if (node.status === 'paused') bodies.push({ type: 'pause', nodeId: node.id });
      if (node.status === 'up' && node.role === 'leader') bodies.push({ type: 'leader', nodeId: node.id, term: node.term });
    }
    const partition = this.book.partition;
    if (partition !== null) bodies.push({ type: 'partition', ...partition });
    for (const link of this.book.links()) bodies.push({ type: 'link', ...link });
    if (this.clockSpeed !== 1) bodies.push({ type: 'clock', speed: this.clockSpeed });
    if (this.majorityLeaderId !== null) {
      const term = views.find((node) => node.id === this.majorityLeaderId)?.term ?? 0;
      bodies.push({ type: 'quorum', leaderId: this.majorityLeaderId, term });
    }
    return bodies;
  }

  network(): NetworkView {
    const partition = this.book.partition;
    return {
      partition: partition === null ? null : { label: partition.label, groups: partition.groups },
      blocked: partition?.blocked ?? [],
      links: this.book.links().map((link) => ({ ...link })),
    };
  }

  activeFaults(): ActiveFault[] {
    return this.book.active();
  }

  private openGapAt(t: number, cause: LeaderlessGap['cause'], lostLeader: string | null): void {
    this.openGap = { start: t, end: null, cause, lostLeader, newLeader: null };
    this.gaps.push(this.openGap);
  }

  private stateOf(nodeId: string): { state: NodeState; term: number } | null {
    const running = this.running.get(nodeId);
    const role = this.role.get(nodeId);
    if (running === undefined || role === undefined) return null;
    return { state: running === 'up' ? role.role : running, term: role.term };
  }

  private updateNode(nodeId: string, t: number): void {
    const next = this.stateOf(nodeId);
    if (next === null) return;
    const open = this.openSegment.get(nodeId);
    if (open !== undefined && open.state === next.state && open.term === next.term) return;
    if (open !== undefined) open.end = t;
    const segment: NodeSegment = { nodeId, state: next.state, term: next.term, start: t, end: null };
    this.segments.push(segment);
    this.openSegment.set(nodeId, segment);
  }

  private openLeadershipPeriod(nodeId: string, term: number, t: number, at: number): void {
    const period: LeadershipPeriod = { nodeId, term, startT: t, startAt: at, endT: null, endReason: null };
    this.leadership.push(period);
    this.openLeadership.set(nodeId, period);
  }

  private closeLeadership(nodeId: string, t: number, reason: NonNullable<LeadershipPeriod['endReason']>): void {
    const period = this.openLeadership.get(nodeId);
    if (period === undefined) return;
    period.endT = t;
    period.endReason = reason;
    this.openLeadership.delete(nodeId);
  }

  private openWindow(fault: ActiveFault): void {
    const window: FaultWindow = { id: fault.id, kind: fault.kind, label: fault.label, nodes: fault.nodes, start: fault.sinceT, startAt: fault.sinceAt, end: null };
    this.faults.push(window);
    this.openWindows.set(fault.id, window);
  }

  private closeWindow(id: string, t: number): void {
    const window = this.openWindows.get(id);
    if (window === undefined) return;
    window.end = t;
    this.openWindows.delete(id);
  }

  /** Two or more nodes (running or frozen) that each believe they lead. */
  private trackConcurrentLeaders(t: number): void {
    const leaders: Array<{ id: string; term: number }> = [];
    for (const [id, role] of this.role) {
      if (role.role === 'leader' && this.running.get(id) !== 'down') leaders.push({ id, term: role.term });
    }
    leaders.sort((a, b) => (a.id < b.id ? -1 : 1));
    const key = leaders.map((leader) => leader.id).join(',');
    if (this.openConcurrent !== null && (leaders.length < 2 || this.openConcurrent.nodes.join(',') !== key)) {
      this.openConcurrent.end = t;
      this.openConcurrent = null;
    }
    if (leaders.length < 2 || this.openConcurrent !== null) return;
    const described = leaders.map((leader) => `${leader.id} (term ${leader.term})`).join(' and ');
    const partitioned = this.book.networkFaults().length > 0;
    const alarm: Alarm = this.info.singleLeaderPerTerm
      ? {
          kind: 'stale-leader',
          severity: 'warning',
          message: `${described} each believe they lead: the older one has not yet learned of the newer term (allowed briefly)`,
          nodes: leaders.map((leader) => leader.id),
          start: t,
          end: null,
        }
      : {
          kind: 'split-brain',
          severity: partitioned ? 'expected' : 'warning',
          message: `${described} both coordinate: ${
            partitioned
              ? 'Bully has no quorum, so each side of a partition elects its own coordinator (expected)'
              : 'a handover between coordinators is in progress'
          }`,
          nodes: leaders.map((leader) => leader.id),
          start: t,
          end: null,
        };
    this.alarms.push(alarm);
    this.openConcurrent = alarm;
  }
}
