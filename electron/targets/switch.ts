/**
 * The cluster a hub serves, and the switch between clusters: the embedded one, agent processes
 * on this machine, a real cluster attached to. `open` builds the new target first (a cluster
 * that cannot be reached leaves the current one in place, with the reason), then stops the old
 * one, resets every listener to the new run's empty history, and starts it. A stop waits for an
 * open under way, so that what it built is stopped too.
 */
import type { TargetSpec } from '../../shared/protocol/types.js';
import type { ClusterEvent, ClusterSnapshot, Command, CommandAck, NodeDetail } from '../../shared/protocol/types.js';
import { ListenerRelay } from './relay.js';
import type { ManagedTarget, OpenTarget, Target, TargetListener } from './target.js';

export class TargetSwitch implements Target {
  private current: ManagedTarget;
  private readonly relay: ListenerRelay;
  /** The open under way, if any. */
  private opening: Promise<CommandAck> | null = null;
  private stopped = false;

  constructor(
    initial: ManagedTarget,
    private readonly openTarget: OpenTarget,
  ) {
    this.current = initial;
    this.relay = new ListenerRelay(initial);
  }

  start(): void {
    this.current.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Its caller hears how it went; what it built is stopped either way.
    await this.opening?.catch(() => undefined);
    this.relay.clear();
    await this.current.stop();
  }

  snapshot(): ClusterSnapshot {
    return this.current.snapshot();
  }

  history(limit?: number): ClusterEvent[] {
    return this.current.history(limit);
  }

  inspect(nodeId: string): NodeDetail | null | Promise<NodeDetail | null> {
    return this.current.inspect(nodeId);
  }

  timers(): Array<{ id: string; startedAt: number; dueAt: number }> {
    return this.current.timers();
  }

  now(): number {
    return this.current.now();
  }

  subscribe(listener: TargetListener): () => void {
    return this.relay.subscribe(listener);
  }

  execute(command: Command): CommandAck | Promise<CommandAck> {
    return command.type === 'open' ? this.open(command.target) : this.current.execute(command);
  }

  private async open(spec: TargetSpec): Promise<CommandAck> {
    if (this.stopped) return { ok: false, error: 'the console is stopping' };
    if (this.opening !== null) return { ok: false, error: 'another cluster is being opened; wait for it' };
    this.opening = this.replaceWith(spec);
    try {
      return await this.opening;
    } finally {
      this.opening = null;
    }
  }

  private async replaceWith(spec: TargetSpec): Promise<CommandAck> {
    let next: ManagedTarget;
    try {
      next = await this.openTarget(spec);
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    if (this.stopped) {
      await next.stop();
      return { ok: false, error: 'the console stopped while the cluster was being opened' };
    }
    const previous = this.current;
    this.relay.moveTo(next);
    this.current = next;
    await previous.stop();
    // Listeners restart from the new run's empty history before its first event.
    this.relay.reset();
    next.start();
    return { ok: true };
  }
}
