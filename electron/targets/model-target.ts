/**
 * The base of every target: it owns the run's ClusterModel and writes once what all kinds of
 * cluster share, so that an adapter (embedded, agents, etcd, ...) supplies only what differs —
 * how it learns each member's status (it calls `feed`), what it can do to a member (a
 * NodeControl, built with `fedStatus`) and the controls it refuses, with why (`refusals`).
 *
 * Written here, once: the listener relay, which follows a new run (other members, other
 * settings) and tells listeners with onReset before its first event; the snapshot with the
 * adapter's label, refusals and per-node details; refusals checked before a command reaches the
 * model; commands whose requests to real nodes are waited for; and scenarios, which run on every
 * target that can carry out their steps (a step it cannot is refused before the scenario starts,
 * naming the step and the reason) through the same path as the dashboard's commands, so that on
 * real nodes their faults are leased like any other.
 */
import { sameNodeStatus, type NodeStatus } from '../../shared/core/election.js';
import { createRandom } from '../../shared/core/random.js';
import type { NetworkTable } from '../../shared/network/link-rules.js';
import type { ClusterCommand, ClusterEvent, ClusterSnapshot, Command, CommandAck, NodeDetail, NodeView } from '../../shared/protocol/types.js';
import type { Scenario } from '../../shared/scenario/format.js';
import type { Clock } from '../runtime/clock.js';
import type { ClusterModel } from './model/model.js';
import { TrackedRequests } from './model/requests.js';
import { ListenerRelay } from './relay.js';
import { ScenarioRunner, scenarioRefusal, type ScenarioCluster } from './scenario-runner.js';
import { refusalOf, type ManagedTarget, type Refusals, type TargetListener } from './target.js';

/** One run: the model that records it and the clock it is timed by. */
export interface Run {
  model: ClusterModel;
  /** A real clock is stopped with its run; a virtual one has nothing to stop. */
  clock: Clock & { stop?: () => void };
}

export abstract class ModelTarget implements ManagedTarget {
  private active!: Run;
  private relay!: ListenerRelay;
  /** The status each member was last fed with (see feed); absent: it booted, or is down. */
  private readonly fed = new Map<string, NodeStatus>();
  private scenario: ScenarioRunner | null = null;
  private readonly closers: Array<() => void | Promise<void>> = [];
  private started = false;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  /** Requests to real nodes sent on the model's behalf: a command's ack waits for those it sent. */
  protected readonly requests = new TrackedRequests();

  /** `seed`: the random choices of scenarios that name no seed of their own (which follower, ...). The adapter's constructor gives the first run (firstRun). */
  protected constructor(private readonly seed: number = Date.now() >>> 0) {}

  /** The run this target starts with; an adapter's constructor calls it once, before anything else uses the model. */
  protected firstRun(run: Run): void {
    this.active = run;
    this.relay = new ListenerRelay(run.model);
  }

  // ---- What an adapter supplies ----

  /** The controls this target cannot carry out now, with the reason to show (read at every snapshot and command). */
  protected abstract refusals(): Refusals;

  /** Starts the run's nodes or telemetry (the model is started already). */
  protected abstract begin(): void;

  /** Stops what the adapter runs or holds: connections, polls, leases it holds, processes it started. */
  protected abstract close(): void | Promise<void>;

  abstract inspect(nodeId: string): NodeDetail | null | Promise<NodeDetail | null>;

  /** The snapshot's label; the model's by default. */
  protected label(): string {
    return this.active.model.target.label;
  }

  /** A node as the dashboard shows it: the adapter adds what it knows (host, pid, reachability). */
  protected decorate(node: NodeView): NodeView {
    return node;
  }

  /** The network rules changed: real nodes are sent the new table (requests it tracks are waited for). */
  protected networkChanged(_table: NetworkTable): void {}

  /** A command's failed requests, in words, as its ack says. */
  protected requestsFailed(reasons: string): string {
    return reasons;
  }

  /** Why this command cannot be carried out now, or null: by default the refusals table's reason for a control it needs. */
  protected refusalFor(command: ClusterCommand): string | null {
    return refusalOf(command, this.refusals());
  }

  /** Carries out a command on the nodes, once the refusals let it through: on the model, waiting for the requests it sent. */
  protected carryOut(command: ClusterCommand): CommandAck | Promise<CommandAck> {
    return this.requests.execute(this.model, command, (table) => this.networkChanged(table), (reasons) => this.requestsFailed(reasons));
  }

  /** A command the base does not know (an embedded cluster's `configure`); refused with the target's reason by default. */
  protected otherCommand(_command: Extract<Command, { type: 'configure' }>): CommandAck | Promise<CommandAck> {
    return { ok: false, error: this.refusals().configure ?? 'this cluster cannot be configured from here' };
  }

  // ---- The model, fed ----

  protected get model(): ClusterModel {
    return this.active.model;
  }

  protected get clock(): Clock {
    return this.active.clock;
  }

  protected get isStarted(): boolean {
    return this.started;
  }

  protected get isStopped(): boolean {
    return this.stopped;
  }

  /** Feeds a member's status to the model, against the one fed before (none: it booted, or came back). */
  protected feed(id: string, status: NodeStatus): void {
    const previous = this.fed.get(id) ?? null;
    if (sameNodeStatus(previous, status)) return;
    this.fed.set(id, status);
    this.model.observe(id, status, previous);
  }

  /** The member stopped (or is another process now): its next status is a boot. */
  protected forget(id: string): void {
    this.fed.delete(id);
  }

  /** The status a member was last fed with, or null: what a NodeControl's `status` answers while it runs. */
  protected fedStatus(id: string): NodeStatus | null {
    return this.fed.get(id) ?? null;
  }

  /**
   * A new run replaces the current one (other members, other settings): listeners move to its
   * model, `stopPrevious` ends the old one, and listeners are told (onReset) before the new run
   * starts, so that nobody sees its events follow the old run's.
   */
  protected replaceRun(next: Run, stopPrevious: () => void): void {
    this.stopScenario(false);
    this.relay.moveTo(next.model);
    this.active = next;
    this.fed.clear();
    stopPrevious();
    if (!this.started) return;
    this.relay.reset();
    this.begin();
  }

  /** Also stops `close` when this target stops (processes or a playground started for it). */
  whenStopped(close: () => void | Promise<void>): this {
    this.closers.push(close);
    return this;
  }

  // ---- The Target ----

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.begin();
  }

  /** Stops once: a second call while the first is under way waits for the same stop. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    this.stopScenario(false);
    try {
      await this.close();
    } finally {
      this.stopped = true;
      this.relay.clear();
      this.model.stop();
      this.active.clock.stop?.();
      for (const close of this.closers.splice(0)) await close();
    }
  }

  snapshot(): ClusterSnapshot {
    const snapshot = this.model.snapshot();
    const running = this.scenario !== null && this.scenario.finished === null ? this.scenario : null;
    return {
      ...snapshot,
      target: { ...snapshot.target, label: this.label(), unavailable: this.refusals() },
      nodes: snapshot.nodes.map((node) => this.decorate(node)),
      scenario: running === null ? null : { name: running.scenario.name, startedT: running.startedT, durationMs: running.scenario.durationMs },
    };
  }

  history(limit?: number): ClusterEvent[] {
    return this.model.history(limit);
  }

  subscribe(listener: TargetListener): () => void {
    return this.relay.subscribe(listener);
  }

  now(): number {
    return this.clock.now();
  }

  /** Each running node's election timer; none where the target does not know them. */
  timers(): Array<{ id: string; startedAt: number; dueAt: number }> {
    return [];
  }

  execute(command: Command): CommandAck | Promise<CommandAck> {
    switch (command.type) {
      case 'open':
        return { ok: false, error: 'opening another cluster is the console’s job, not a cluster’s' };
      case 'configure':
        return this.otherCommand(command);
      case 'scenario':
        return command.action === 'run' ? this.runScenario(command.scenario) : this.endScenario(command.keepFaults === true);
      default: {
        if (this.stopped) return { ok: false, error: 'the cluster is stopped' };
        const refusal = this.refusalFor(command);
        return refusal === null ? this.carryOut(command) : { ok: false, error: refusal };
      }
    }
  }

  // ---- Scenarios ----

  /** Starts a scenario, unless a step (or a step's undo) is one this target cannot carry out. */
  protected runScenario(scenario: Scenario): CommandAck {
    if (this.scenario !== null && this.scenario.finished === null) {
      return { ok: false, error: `the scenario "${this.scenario.scenario.name}" is still running; stop it first` };
    }
    if (scenario.cluster !== undefined) {
      return { ok: false, error: `the scenario's cluster settings: ${this.refusals().configure ?? 'this cluster cannot be configured from here'}` };
    }
    const refusal = scenarioRefusal(scenario, this.refusals(), this.model.members);
    if (refusal !== null) return { ok: false, error: refusal };
    this.scenario = new ScenarioRunner(scenario, this.scenarioCluster(), this.clock, {
      random: createRandom(scenario.seed ?? this.seed).fork('scenario'),
      onFinish: () => this.model.changed(),
    });
    return { ok: true };
  }

  private endScenario(keepFaults: boolean): CommandAck {
    if (this.scenario === null || this.scenario.finished !== null) return { ok: false, error: 'no scenario is running' };
    this.scenario.stop(keepFaults);
    return { ok: true };
  }

  private stopScenario(keepFaults: boolean): void {
    if (this.scenario?.finished === null) this.scenario.stop(keepFaults);
    this.scenario = null;
  }

  /** The run as a scenario sees it: its steps go through carryOut, as the dashboard's commands do. */
  private scenarioCluster(): ScenarioCluster {
    const model = this.model;
    return {
      members: model.members,
      algorithm: model.algorithm,
      history: () => model.history(),
      subscribe: (listener) => model.subscribe(listener),
      annotate: (body) => model.annotate(body),
      snapshot: () => this.snapshot(),
      execute: (command) => {
        const refusal = this.refusalFor(command);
        return refusal === null ? this.carryOut(command) : { ok: false, error: refusal };
      },
      leadership: () => model.leadership,
      linkOpen: (from, to) => model.linkOpen(from, to),
      linksDegraded: () => model.rules.degraded(),
    };
  }
}
