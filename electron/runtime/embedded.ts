/**
 * The embedded cluster as the app runs it: a Cluster on a RealClock, which `configure` replaces
 * with a fresh one of other settings (algorithm, size, timings). Listeners follow across the
 * replacement and are told with onReset, so dashboards start the new run's history.
 */
import { parseElectionConfig } from '../../shared/core/config.js';
import type { AlgorithmName, ElectionConfig } from '../../shared/core/election.js';
import type { ClusterEvent, ClusterSnapshot, Command, CommandAck, RuntimeCommand } from '../../shared/protocol/types.js';
import { ValidationError } from '../../shared/protocol/validate.js';
import { RealClock } from './clock.js';
import { Cluster, MAX_NODES, type ClusterListener } from './cluster.js';

export interface RuntimeSettings {
  algorithm: AlgorithmName;
  nodes: number;
  config: ElectionConfig;
  seed: number;
}

export interface RuntimeListener extends ClusterListener {
  /** The cluster was replaced: what came before is history of another run. */
  onReset?: () => void;
}

export class EmbeddedRuntime {
  private clock: RealClock;
  private current: Cluster;
  private settings: RuntimeSettings;
  private generation = 0;
  private readonly listeners = new Map<RuntimeListener, () => void>();

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
    this.current.stop();
    this.clock.stop();
    this.listeners.clear();
  }

  snapshot(): ClusterSnapshot {
    return this.current.snapshot();
  }

  history(limit?: number): ClusterEvent[] {
    return this.current.history(limit);
  }

  subscribe(listener: RuntimeListener): () => void {
    this.listeners.set(listener, this.current.subscribe(listener));
    return () => {
      this.listeners.get(listener)?.();
      this.listeners.delete(listener);
    };
  }

  execute(command: Command): CommandAck {
    return command.type === 'configure' ? this.configure(command) : this.current.execute(command);
  }

  /** Replaces the cluster with a fresh one; the clock speed carries over. */
  private configure(command: RuntimeCommand): CommandAck {
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
    this.current.stop();
    this.clock.stop();
    this.settings = { ...this.settings, algorithm: command.algorithm ?? this.settings.algorithm, nodes, config };
    this.generation += 1;
    this.clock = new RealClock();
    this.clock.setSpeed(speed);
    this.current = this.createCluster();
    for (const listener of this.listeners.keys()) this.listeners.set(listener, this.current.subscribe(listener));
    this.current.start();
    for (const listener of this.listeners.keys()) listener.onReset?.();
    return { ok: true };
  }

  private createCluster(): Cluster {
    const { algorithm, nodes, config, seed } = this.settings;
    return new Cluster({ algorithm, nodeCount: nodes, config, seed: (seed + this.generation) >>> 0, clock: this.clock });
  }
}
