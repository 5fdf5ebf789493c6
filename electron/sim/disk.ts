/**
 * The simulator's disk: a write becomes durable a fixed time after it starts (the fsync, part of
 * the paper's "broadcast time"), and a crash before then loses it, as a power cut would. So a
 * crash can land between a vote and its write, where a runtime that sent first gets caught.
 */
import type { DurableState } from '../../shared/core/election.js';
import type { DurableStorage } from '../runtime/agent.js';
import type { TimerHandle, VirtualClock } from '../runtime/clock.js';

export interface DiskListener {
  /** A write started on `nodeId`'s disk and will be durable at `durableAt` unless the node crashes first. */
  onWriteStart(nodeId: string, durableAt: number): void;
}

export class SimulatedDisk implements DurableStorage {
  private durable: DurableState | null = null;
  private inFlight: TimerHandle | null = null;

  constructor(
    private readonly nodeId: string,
    private readonly clock: VirtualClock,
    private readonly writeMs: number,
    private readonly listener: DiskListener | null,
  ) {}

  load(): DurableState | null {
    return this.durable === null ? null : { ...this.durable };
  }

  save(state: DurableState, done: (error: Error | null) => void): void {
    const copy = { ...state };
    if (this.writeMs <= 0) {
      this.durable = copy;
      done(null);
      return;
    }
    const durableAt = this.clock.now() + this.writeMs;
    this.listener?.onWriteStart(this.nodeId, durableAt);
    this.inFlight = this.clock.setTimer(durableAt, () => {
      this.inFlight = null;
      this.durable = copy;
      done(null);
    });
  }

  crashed(): void {
    if (this.inFlight !== null) this.clock.clearTimer(this.inFlight);
    this.inFlight = null;
  }
}
