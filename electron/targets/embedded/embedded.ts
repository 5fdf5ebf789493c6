/**
 * The embedded cluster as the app runs it: a Cluster on a RealClock, which `configure` replaces
 * with a fresh one of other settings (algorithm, size, timings). Listeners follow across the
 * replacement and are told with onReset, before the new run starts, so dashboards start its history.
 * Priorities, capabilities and the leadership rules carry over to the new cluster (for the nodes it
 * still has), except for a scenario that names its cluster: it starts from the defaults, as on
 * the simulator.
 */
import { parseElectionConfig } from '../../../shared/core/config.js';
import type { AlgorithmName, ElectionConfig } from '../../../shared/core/election.js';
import type { Capabilities } from '../../../shared/core/leadership.js';
import { createRandom } from '../../../shared/core/random.js';
import type { Scenario } from '../../../shared/scenario/format.js';
import { ScenarioRunner } from '../scenario-runner.js';
import type { ClusterEvent, ClusterSnapshot, Command, CommandAck, NodeDetail, RuntimeCommand } from '../../../shared/protocol/types.js';
import { ValidationError } from '../../../shared/protocol/validate.js';
import { RealClock } from '../../runtime/clock.js';
import { Cluster, MAX_NODES, memberIds } from './cluster.js';
import type { TargetListener } from '../target.js';

export interface RuntimeSettings {
  algorithm: AlgorithmName;
  nodes: number;
  config: ElectionConfig;
  seed: number;
  /** Whether a killed node's peers get a crash hint (default true); off to measure failover by timeouts alone. */
  crashHints?: boolean;
}

export class EmbeddedRuntime {
  private clock: RealClock;
  private current: Cluster;
  private settings: RuntimeSettings;
  private generation = 0;
  private readonly listeners = new Map<TargetListener, () => void>();
  private scenario: ScenarioRunner | null = null;

  constructor(settings: RuntimeSettings) {
    this.settings = settings;
    this.clock = new RealClock();
    this.current = this.createCluster();
  }

  get cluster(): Cluster {
    return this.current;
  }

  start(): void {
    this.current.start();
  }

  stop(): void {
    this.scenario?.stop();
    this.current.stop();
    this.clock.stop();
    this.listeners.clear();
  }

  snapshot(): ClusterSnapshot {
    const running = this.scenario !== null && this.scenario.finished === null ? this.scenario : null;
    return {
      ...this.current.snapshot(),
      scenario: running === null ? null : { name: running.scenario.name, startedT: running.startedT, durationMs: running.scenario.durationMs },
    };
  }

  history(limit?: number): ClusterEvent[] {
    return this.current.history(limit);
  }

  inspect(nodeId: string): NodeDetail | null {
    return this.current.inspect(nodeId);
  }

  timers(): Array<{ id: string; startedAt: number; dueAt: number }> {
    return this.current.timers();
  }

  now(): number {
    return this.current.now();
  }

  subscribe(listener: TargetListener): () => void {
    this.listeners.set(listener, this.current.subscribe(listener));
    return () => {
      this.listeners.get(listener)?.();
      this.listeners.delete(listener);
    };
  }

  execute(command: Command): CommandAck {
    if (command.type === 'configure') return this.configure(command);
    if (command.type === 'scenario') return command.action === 'run' ? this.runScenario(command.scenario) : this.stopScenario(command.keepFaults === true);
    if (command.type === 'open') return { ok: false, error: 'this hub serves one embedded cluster and cannot open another' };
    return this.current.execute(command);
  }

  /** Starts a scenario; if it names cluster settings, the cluster is first restarted with them. */
  private runScenario(scenario: Scenario): CommandAck {
    if (this.scenario !== null && this.scenario.finished === null) {
      return { ok: false, error: `the scenario "${this.scenario.scenario.name}" is still running; stop it first` };
    }
    if (scenario.cluster !== undefined) {
      const configured = this.configure({ type: 'configure', ...scenario.cluster }, false);
      if (!configured.ok) return { ok: false, error: `the scenario's cluster: ${configured.error}` };
    }
    this.scenario = new ScenarioRunner(scenario, this.current, this.clock, {
      random: createRandom(scenario.seed ?? this.settings.seed).fork('scenario'),
      onFinish: () => {
        for (const listener of this.listeners.keys()) listener.onChange?.();
      },
    });
    return { ok: true };
  }

  private stopScenario(keepFaults: boolean): CommandAck {
    if (this.scenario === null || this.scenario.finished !== null) return { ok: false, error: 'no scenario is running' };
    this.scenario.stop(keepFaults);
    return { ok: true };
  }

  /** Replaces the cluster with a fresh one; the clock speed carries over, and the priorities and capabilities unless `keepLeadership` is false. */
  private configure(command: Extract<RuntimeCommand, { type: 'configure' }>, keepLeadership = true): CommandAck {
    const nodes = command.nodes ?? this.settings.nodes;
    if (nodes < 1 || nodes > MAX_NODES) return { ok: false, error: `a cluster has 1 to ${MAX_NODES} nodes (got ${nodes})` };
    let config: ElectionConfig;
    try {
      config = parseElectionConfig({ ...this.settings.config, ...command.config }, 'configure command.config');
    } catch (error) {
      if (error instanceof ValidationError) return { ok: false, error: error.message };
      throw error;
    }
    const speed = this.clock.speed;
    const previous = this.current;
    this.scenario?.stop();
    this.scenario = null;
    this.current.stop();
    this.clock.stop();
    this.settings = { ...this.settings, algorithm: command.algorithm ?? this.settings.algorithm, nodes, config };
    this.generation += 1;
    this.clock = new RealClock();
    this.clock.setSpeed(speed);
    this.current = keepLeadership ? this.createCluster(previous) : this.createCluster();
    for (const listener of this.listeners.keys()) this.listeners.set(listener, this.current.subscribe(listener));
    // Listeners restart from the new run's empty history before its first event, so nobody sees seq go back.
    for (const listener of this.listeners.keys()) listener.onReset?.();
    this.current.start();
    return { ok: true };
  }

  /** A cluster of the current settings, with the priorities and capabilities of `previous` for the nodes both have. */
  private createCluster(previous: Cluster | null = null): Cluster {
    const { algorithm, nodes, config, seed, crashHints } = this.settings;
    const cluster = { algorithm, nodeCount: nodes, config, seed: (seed + this.generation) >>> 0, clock: this.clock, ...(crashHints === undefined ? {} : { crashHints }) };
    if (previous === null) return new Cluster(cluster);
    const members = new Set(memberIds(nodes));
    const kept = <T>(table: Readonly<Record<string, T>>): Record<string, T> => Object.fromEntries(Object.entries(table).filter(([id]) => members.has(id)));
    const leadership = previous.leadership();
    const capabilities: Record<string, Capabilities> = kept(Object.fromEntries(previous.members.map((id) => [id, previous.capabilities(id)])));
    return new Cluster({ ...cluster, leadership: { ...leadership, priorities: kept(leadership.priorities) }, capabilities });
  }
}
