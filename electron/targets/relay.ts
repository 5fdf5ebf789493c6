/**
 * Listeners that follow a source of events across replacements (a target's new run, the
 * console's new target): moved to the new source before its first event, then told with onReset,
 * so nobody sees one run's events follow another's. The base of targets and the switch between
 * targets both relay through it.
 */
import type { TargetListener } from './target.js';

export interface Subscribable {
  subscribe(listener: TargetListener): () => void;
}

export class ListenerRelay {
  private readonly listeners = new Map<TargetListener, () => void>();

  constructor(private source: Subscribable) {}

  subscribe(listener: TargetListener): () => void {
    this.listeners.set(listener, this.source.subscribe(listener));
    return () => {
      this.listeners.get(listener)?.();
      this.listeners.delete(listener);
    };
  }

  /** Listeners follow `next` from now on (call `reset` once its run is about to start). */
  moveTo(next: Subscribable): void {
    this.source = next;
    for (const [listener, unsubscribe] of this.listeners) {
      unsubscribe();
      this.listeners.set(listener, next.subscribe(listener));
    }
  }

  /** Tells every listener that a new run is about to start. */
  reset(): void {
    for (const listener of this.listeners.keys()) listener.onReset?.();
  }

  /** Unsubscribes everyone. */
  clear(): void {
    for (const unsubscribe of this.listeners.values()) unsubscribe();
    this.listeners.clear();
  }
}
