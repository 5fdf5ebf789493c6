/**
 * The nemesis: fault episodes drawn from the seed (crash, crash in the middle of a durable
 * write, pause, partitions of every preset, one-way cuts, loss, delay with jitter,
 * duplication, and false crash hints: a node told that a live peer, often the leader, crashed),
 * each undone after its duration. A real crash sends true hints to the peers it could reach. Faults go through Cluster.execute, the very
 * path the dashboard's commands take.
 *
 * Two more kinds change what leadership is chosen by rather than break anything, and are left
 * out of DEFAULT_FAULTS (so that its seeds replay as they always did): `priority` sets a node's
 * priority (often the leader's) to another value, 0 included, and restores it after the
 * episode; `capability` shifts a node's load average (the capability the simulator's
 * preferred-leader rule reads) to another level for the episode, while every node's value jitters
 * around its level all the time, by less than the rule's margin (noise that must move nothing).
 */
import type { Random } from '../../shared/core/random.js';
import type { ClusterCommand } from '../../shared/protocol/types.js';
import type { VirtualClock } from '../runtime/clock.js';
import type { Cluster } from '../targets/embedded/cluster.js';
import type { DiskListener } from './disk.js';

export const FAULT_KINDS = ['crash', 'crash-in-write', 'pause', 'partition', 'cut', 'loss', 'delay', 'duplicate', 'false-hint', 'priority', 'capability'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** The kinds that change priorities and capabilities. */
export const LEADERSHIP_FAULT_KINDS: readonly FaultKind[] = ['priority', 'capability'];

export interface FaultProfile {
  kinds: readonly FaultKind[];
  /** Mean time between episode starts (exponentially distributed). */
  meanIntervalMs: number;
  /** Each episode lasts a uniform time in [min, max]. */
  durationMs: readonly [number, number];
  /** Probability that a node-targeted fault picks the current leader. */
  leaderBias: number;
  /** Episodes in force at once, at most. */
  maxConcurrent: number;
}

export const DEFAULT_FAULTS: FaultProfile = {
  kinds: FAULT_KINDS.filter((kind) => !LEADERSHIP_FAULT_KINDS.includes(kind)),
  meanIntervalMs: 2_500,
  durationMs: [300, 6_000],
  leaderBias: 0.5,
  maxConcurrent: 2,
};

/** Every kind, priorities and capabilities included. */
export const LEADERSHIP_FAULTS: FaultProfile = { ...DEFAULT_FAULTS, kinds: FAULT_KINDS };

/** The priorities the `priority` kind picks from. */
export const NEMESIS_PRIORITIES = [0, 1, 2, 3] as const;
/** The capability the `capability` kind and the noise move (what the simulator's rule reads). */
export const NOISY_CAPABILITY = 'loadavg';
/** Every node's level is drawn from this range, and a shift moves it to another in it. */
export const LOAD_LEVELS: readonly [number, number] = [0.2, 4];
/**
 * Noise: every so often one node's value is redrawn within ± this of its level. Twice this is
 * below the simulated rule's margin (0.5), so the rule can move leadership only to a node of a
 * lower level, never back.
 */
export const NOISE_AMPLITUDE = 0.2;
export const NOISE_INTERVAL_MS = 1_000;

const PARTITION_VARIANTS = ['isolate-one', 'isolate-leader', 'halves', 'majorities-ring', 'bridge'] as const;

export class Nemesis implements DiskListener {
  private active = 0;
  private partitioned = false;
  /** A crash-in-write episode waits for the next durable write to start. */
  private armedWriteCrash: { expires: number } | null = null;
  /** Each node's load level, around which its value jitters (the `capability` kind). */
  private readonly loadLevels = new Map<string, number>();
  private readonly noise: Random;

  constructor(
    private readonly cluster: Cluster,
    private readonly clock: VirtualClock,
    private readonly profile: FaultProfile,
    private readonly random: Random,
    /** Told whenever an episode starts or is undone (the background noise is not an episode). */
    private readonly onEpisode: () => void = () => undefined,
  ) {
    this.noise = random.fork('noise');
  }

  start(): void {
    if (this.profile.kinds.includes('capability')) {
      for (const id of this.cluster.members) {
        this.loadLevels.set(id, round(this.noise.between(...LOAD_LEVELS)));
        this.setLoad(id);
      }
      this.scheduleNoise();
    }
    this.scheduleNext();
  }

  /**
   * Crashes the node whose write just started at a random instant before the write lands, when
   * armed, and reboots it soon (as a service manager would), while the election it voted in
   * may still be going on.
   */
  onWriteStart(nodeId: string, durableAt: number): void {
    const armed = this.armedWriteCrash;
    if (armed === null || this.clock.now() > armed.expires) return;
    this.armedWriteCrash = null;
    const crashAt = this.clock.now() + this.random.between(0, durableAt - this.clock.now());
    this.clock.setTimer(crashAt, () => {
      const killed = this.cluster.execute({ type: 'kill', nodeId }).ok;
      this.clock.setTimer(this.clock.now() + this.random.between(0, this.profile.durationMs[0]), () => {
        if (killed) this.cluster.execute({ type: 'restart', nodeId });
        this.active -= 1;
      });
    });
  }

  private scheduleNext(): void {
    const waitMs = -Math.log(1 - this.random.next()) * this.profile.meanIntervalMs;
    this.clock.setTimer(this.clock.now() + Math.max(1, waitMs), () => {
      if (this.active < this.profile.maxConcurrent) this.startEpisode();
      this.scheduleNext();
    });
  }

  private startEpisode(): void {
    const kinds = this.profile.kinds.filter((kind) => kind !== 'partition' || !this.partitioned);
    if (kinds.length === 0) return;
    const kind = kinds[this.random.int(0, kinds.length - 1)]!;
    if (kind === 'crash-in-write') {
      this.armWriteCrash();
      return;
    }
    if (kind === 'false-hint') {
      this.onEpisode();
      this.falseHint();
      return;
    }
    this.onEpisode();
    const undo = this.inject(kind);
    if (undo === null) return;
    this.active += 1;
    const [min, max] = this.profile.durationMs;
    this.clock.setTimer(this.clock.now() + this.random.between(min, max), () => {
      this.onEpisode();
      undo();
      this.active -= 1;
    });
  }

  /** Tells every running node but one live peer (the leader, with the leader bias) that the peer crashed. */
  private falseHint(): void {
    const peer = this.pickTarget();
    if (peer === null) return;
    for (const node of this.cluster.states()) if (node.id !== peer && node.state === 'up') this.cluster.hint(node.id, peer);
  }

  /** The episode starts when the next write does; one that sees no write in time lapses. */
  private armWriteCrash(): void {
    if (this.armedWriteCrash !== null) return;
    this.active += 1;
    const armed = { expires: this.clock.now() + this.profile.durationMs[1] };
    this.armedWriteCrash = armed;
    this.clock.setTimer(armed.expires, () => {
      if (this.armedWriteCrash !== armed) return;
      this.armedWriteCrash = null;
      this.active -= 1;
    });
  }

  /** A node's load level (what its value jitters around), while the `capability` kind is on. */
  loadLevel(id: string): number | undefined {
    return this.loadLevels.get(id);
  }

  /** One node's value is redrawn around its level, now and then: noise smaller than the rule's margin. */
  private scheduleNoise(): void {
    this.clock.setTimer(this.clock.now() + NOISE_INTERVAL_MS, () => {
      this.setLoad(this.cluster.members[this.noise.int(0, this.cluster.members.length - 1)]!);
      this.scheduleNoise();
    });
  }

  private setLoad(id: string): void {
    const value = round(Math.max(0, this.loadLevels.get(id)! + this.noise.between(-NOISE_AMPLITUDE, NOISE_AMPLITUDE)));
    this.cluster.execute({ type: 'capabilities', nodeId: id, capabilities: { [NOISY_CAPABILITY]: value } });
  }

  /** Starts one fault; returns how to undo it, or null when it could not apply. */
  private inject(kind: Exclude<FaultKind, 'crash-in-write' | 'false-hint'>): (() => void) | null {
    const run = (command: ClusterCommand): boolean => this.cluster.execute(command).ok;
    const networked = this.cluster.members.length > 1;
    if (!networked && (kind === 'partition' || kind === 'cut')) return null;
    switch (kind) {
      case 'crash': {
        const target = this.pickTarget();
        if (target === null || !run({ type: 'kill', nodeId: target })) return null;
        return () => void run({ type: 'restart', nodeId: target });
      }
      case 'pause': {
        const target = this.pickTarget();
        if (target === null || !run({ type: 'pause', nodeId: target })) return null;
        return () => void run({ type: 'resume', nodeId: target });
      }
      case 'partition': {
        const variant = PARTITION_VARIANTS[this.random.int(0, PARTITION_VARIANTS.length - 1)]!;
        const applied =
          variant === 'isolate-one'
            ? run({ type: 'partition', groups: [[this.pick(this.cluster.members)]] })
            : run({ type: 'partition', preset: variant });
        if (!applied) return null;
        this.partitioned = true;
        return () => {
          run({ type: 'heal', faultId: 'partition' });
          this.partitioned = false;
        };
      }
      case 'cut': {
        const [from, to] = this.pickLink();
        if (!run({ type: 'link', from, to, cut: true })) return null;
        return () => void run({ type: 'link', from, to });
      }
      case 'loss':
      case 'delay':
      case 'duplicate': {
        const scope = !networked || this.random.chance(0.5) ? {} : this.pickScope();
        const fault =
          kind === 'loss'
            ? { dropProbability: round(this.random.between(0.05, 0.5)) }
            : kind === 'delay'
              ? { latencyMs: round(this.random.between(5, 80)), jitterMs: round(this.random.between(0, 40)) }
              : { duplicateProbability: round(this.random.between(0.05, 0.5)) };
        if (!run({ type: 'link', ...scope, ...fault })) return null;
        return () => void run({ type: 'link', ...scope });
      }
      case 'priority': {
        const target = this.pickTarget() ?? this.pick(this.cluster.members);
        const previous = this.cluster.leadership().priorities[target] ?? 1;
        const priority = this.pick(NEMESIS_PRIORITIES.filter((value) => value !== previous));
        if (!run({ type: 'priority', nodeId: target, priority })) return null;
        return () => void run({ type: 'priority', nodeId: target, priority: previous });
      }
      case 'capability': {
        if (this.loadLevels.size === 0) return null;
        const target = this.pickTarget() ?? this.pick(this.cluster.members);
        const previous = this.loadLevels.get(target)!;
        this.loadLevels.set(target, round(this.random.between(...LOAD_LEVELS)));
        this.setLoad(target);
        return () => {
          this.loadLevels.set(target, previous);
          this.setLoad(target);
        };
      }
    }
  }

  /** A running node, the leader with probability leaderBias. */
  private pickTarget(): string | null {
    const states = this.cluster.states();
    const running = states.filter((node) => node.state === 'up').map((node) => node.id);
    if (running.length === 0) return null;
    const leaders = states.filter((node) => node.state === 'up' && node.status?.role === 'leader').map((node) => node.id);
    if (leaders.length > 0 && this.random.chance(this.profile.leaderBias)) return this.pick(leaders);
    return this.pick(running);
  }

  private pickLink(): [string, string] {
    const members = this.cluster.members;
    const from = this.pick(members);
    const to = this.pick(members.filter((id) => id !== from));
    return [from, to];
  }

  /** One directed link, or every link out of (or into) one node. */
  private pickScope(): { from?: string; to?: string } {
    const roll = this.random.int(0, 2);
    if (roll === 0) {
      const [from, to] = this.pickLink();
      return { from, to };
    }
    const node = this.pick(this.cluster.members);
    return roll === 1 ? { from: node } : { to: node };
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.random.int(0, items.length - 1)]!;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
