/**
 * A console's side of one authenticated connection to an agent or a supervisor: requests with
 * ids, answered within a deadline, and the frames the other end pushes, each checked against its
 * schema before it reaches anyone (a frame that fails the check closes the connection).
 */
import { pushFrame, type PushFrame, type RefusalCode, type RequestOp } from '../../../shared/protocol/agent-wire.js';
import type { WireConnection } from '../../wire/connection.js';

export const REQUEST_TIMEOUT_MS = 4_000;
/** Requests awaiting an answer on one connection, at most. */
export const REQUESTS_IN_FLIGHT_MAX = 256;

type Push = Exclude<PushFrame, { t: 'res' }>;

/** The other end refused a request: its reason in words, and its code when it gave one. */
export class RequestRefused extends Error {
  constructor(
    message: string,
    readonly code: RefusalCode | null,
  ) {
    super(message);
    this.name = 'RequestRefused';
  }
}

/** No answer came within the deadline. */
export class RequestTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestTimeout';
  }
}

export class RequestChannel {
  /** When the other end was last heard from (performance.now()): any frame. */
  heardAt = performance.now();
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    readonly connection: WireConnection,
    onPush: (frame: Push) => void,
    onClose: (reason: string) => void,
  ) {
    connection.on('frame', (raw) => {
      this.heardAt = performance.now();
      const parsed = pushFrame.safeParse(raw);
      if (!parsed.success) {
        connection.close(`${connection.remoteAddress} sent a frame that is not in the protocol: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        return;
      }
      const frame = parsed.data;
      if (frame.t !== 'res') {
        onPush(frame);
        return;
      }
      const pending = this.waiting.get(frame.id);
      if (pending === undefined) return;
      this.waiting.delete(frame.id);
      clearTimeout(pending.timer);
      if (frame.ok) pending.resolve(frame.value);
      else pending.reject(new RequestRefused(frame.error ?? 'refused without a reason', frame.code ?? null));
    });
    connection.once('close', (reason) => {
      for (const pending of this.waiting.values()) {
        clearTimeout(pending.timer);
        pending.reject(new Error(`the connection to ${connection.remoteAddress} closed (${reason})`));
      }
      this.waiting.clear();
      onClose(reason);
    });
  }

  get isOpen(): boolean {
    return this.connection.isOpen;
  }

  request(op: RequestOp, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
    if (!this.connection.isOpen) return Promise.reject(new Error(`not connected to ${this.connection.remoteAddress}`));
    if (this.waiting.size >= REQUESTS_IN_FLIGHT_MAX) return Promise.reject(new Error(`${this.connection.remoteAddress} has too many requests unanswered`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new RequestTimeout(`${this.connection.remoteAddress} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.connection.send({ t: 'req', id, op });
    });
  }

  close(reason: string): void {
    this.connection.close(reason);
  }
}
