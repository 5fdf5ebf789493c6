/**
 * What the consoles of real nodes share (agents: console/attached.ts; etcd: etcd/cluster.ts): a
 * command's ack that waits for the requests it sent, and waiting for the nodes' first word.
 */
import type { NetworkTable } from '../../../shared/network/link-rules.js';
import type { ClusterCommand, CommandAck } from '../../../shared/protocol/types.js';
import type { ClusterModel } from './model.js';

/** How often waitUntil asks again. */
export const WAIT_POLL_MS = 10;

/** Requests sent to real nodes on the model's behalf: a command being executed waits for those it sent. */
export class TrackedRequests {
  private inflight: Array<Promise<unknown>> | null = null;

  /** A request to wait for if a command is being executed; otherwise its failure is of no one's concern. */
  track(request: Promise<unknown>): void {
    if (this.inflight !== null) this.inflight.push(request);
    else request.catch(() => undefined);
  }

  /**
   * Executes `command` on the model, hands a network table it changed to `tableChanged`, and
   * answers once every request either sent is answered: with the model's refusal, or with
   * `failed` of the requests' failures in words.
   */
  async execute(model: ClusterModel, command: ClusterCommand, tableChanged: (table: NetworkTable) => void, failed: (reasons: string) => string): Promise<CommandAck> {
    const before = JSON.stringify(model.rules.toTable());
    const sent: Array<Promise<unknown>> = [];
    this.inflight = sent;
    try {
      const ack = model.execute(command);
      if (!ack.ok) return ack;
      const table = model.rules.toTable();
      if (JSON.stringify(table) !== before) tableChanged(table);
    } finally {
      this.inflight = null;
    }
    const failures = (await Promise.allSettled(sent)).flatMap((result) => (result.status === 'rejected' ? [result.reason instanceof Error ? result.reason.message : String(result.reason)] : []));
    return failures.length === 0 ? { ok: true } : { ok: false, error: failed(failures.join('; ')) };
  }
}

/** Resolves once `predicate` holds, or after `timeoutMs` (asking every WAIT_POLL_MS). */
export async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
}
