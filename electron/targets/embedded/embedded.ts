/**
 * The embedded cluster as the app runs it: a Cluster on a RealClock, which `configure` replaces
 * with a fresh one of other settings (algorithm, size, timings) as a new run. Priorities,
 * capabilities and the leadership rules carry over to the new cluster (for the nodes it still
 * has), except for a scenario that names its cluster: it starts from the defaults, as on the
 * simulator. Every control applies here; the base (model-target.ts) does the rest.
 */
import { parseElectionConfig } from '../../../shared/core/config.js';
import type { AlgorithmName, ElectionConfig } from '../../../shared/core/election.js';
import type { Capabilities } from '../../../shared/core/leadership.js';
import type { ClusterCommand, CommandAck, NodeDetail, RuntimeCommand } from '../../../shared/protocol/types.js';
import { ValidationError } from '../../../shared/protocol/validate.js';
import type { Scenario } from '../../../shared/scenario/format.js';
import { RealClock } from '../../runtime/clock.js';
import { ModelTarget } from '../model-target.js';
import type { Refusals } from '../target.js';
import { Cluster, MAX_NODES, memberIds } from './cluster.js';

export interface EmbeddedSettings {
  algorithm: AlgorithmName;
  nodes: number;
  config: ElectionConfig;
  seed: number;
  /** Whether a killed node's peers get a crash hint (default true); off to measure failover by timeouts alone. */
  crashHints?: boolean;
}

export class EmbeddedTarget extends ModelTarget {
  private live: Cluster;
  private settings: EmbeddedSettings;
  private generation = 0;

  constructor(settings: EmbeddedSettings) {
    const clock = new RealClock();
    const cluster = createCluster(settings, 0, clock);
    super(settings.seed);
    this.firstRun({ model: cluster.model, clock });
    this.settings = settings;
    this.live = cluster;
  }

  get cluster(): Cluster {
    return this.live;
  }

  protected refusals(): Refusals {
    return {};
  }

  protected begin(): void {
    this.live.start();
  }

  protected close(): void {
    this.live.stop();
  }

  protected override carryOut(command: ClusterCommand): CommandAck {
    return this.live.execute(command);
  }

  inspect(nodeId: string): NodeDetail | null {
    return this.live.inspect(nodeId);
  }

  override timers(): Array<{ id: string; startedAt: number; dueAt: number }> {
    return this.live.timers();
  }

  protected override otherCommand(command: Extract<RuntimeCommand, { type: 'configure' }>): CommandAck {
    return this.configure(command);
  }

  /** A scenario that names cluster settings first restarts the cluster with them (and the default priorities). */
  protected override runScenario(scenario: Scenario): CommandAck {
    const { cluster, ...rest } = scenario;
    if (cluster === undefined) return super.runScenario(scenario);
    const running = this.snapshot().scenario;
    if (running !== null) return { ok: false, error: `the scenario "${running.name}" is still running; stop it first` };
    const configured = this.configure({ type: 'configure', ...cluster }, false);
    if (!configured.ok) return { ok: false, error: `the scenario's cluster: ${configured.error}` };
    return super.runScenario(rest);
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
    const previous = this.live;
    const clock = new RealClock();
    clock.setSpeed(this.clock.speed);
    this.settings = { ...this.settings, algorithm: command.algorithm ?? this.settings.algorithm, nodes, config };
    this.generation += 1;
    this.live = createCluster(this.settings, this.generation, clock, keepLeadership ? previous : null);
    const previousClock = this.clock as RealClock;
    this.replaceRun({ model: this.live.model, clock }, () => {
      previous.stop();
      previousClock.stop();
    });
    return { ok: true };
  }
}

/** A cluster of these settings, with the priorities and capabilities of `previous` for the nodes both have. */
function createCluster(settings: EmbeddedSettings, generation: number, clock: RealClock, previous: Cluster | null = null): Cluster {
  const { algorithm, nodes, config, seed, crashHints } = settings;
  const options = { algorithm, nodeCount: nodes, config, seed: (seed + generation) >>> 0, clock, ...(crashHints === undefined ? {} : { crashHints }) };
  if (previous === null) return new Cluster(options);
  const members = new Set(memberIds(nodes));
  const kept = <T>(table: Readonly<Record<string, T>>): Record<string, T> => Object.fromEntries(Object.entries(table).filter(([id]) => members.has(id)));
  const leadership = previous.leadership();
  const capabilities: Record<string, Capabilities> = kept(Object.fromEntries(previous.members.map((id) => [id, previous.capabilities(id)])));
  return new Cluster({ ...options, leadership: { ...leadership, priorities: kept(leadership.priorities) }, capabilities });
}
