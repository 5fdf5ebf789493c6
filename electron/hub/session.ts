/**
 * One `/control` client as the hub serves it. Requests are rate-limited per connection, so one
 * client cannot starve the others; what the hub sends is paced by what the client reads, so one
 * that stops reading cannot make the hub buffer without limit. Snapshots and message batches
 * are replaceable: while the client is behind, only the latest waits. History and events are
 * not: a client too far behind on them is disconnected, with a `closing` notice saying why.
 */
import type { Socket } from 'socket.io';
import type { MessageBatch } from '../../shared/protocol/messages.js';
import type {
  ClientToServerEvents,
  ClosingNotice,
  ClusterEvent,
  ClusterSnapshot,
  ServerToClientEvents,
} from '../../shared/protocol/types.js';
import { isPlainObject } from '../../shared/protocol/validate.js';

export type ControlSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** Requests (commands, inspections, any other event) one connection may make per second, sustained. */
export const REQUESTS_PER_SECOND_MAX = 20;
/** Requests one connection may make at once after a quiet spell. */
export const REQUEST_BURST_MAX = 40;
/** What `configure`, `open` and running a scenario cost, counted in requests: each rebuilds the cluster (an open may start processes). */
export const EXPENSIVE_REQUEST_COST = 10;
/** Refused requests forgiven per second: a client that overshoots now and then is only refused. */
export const REFUSALS_FORGIVEN_PER_SECOND = 100;
/** Refused requests, beyond those forgiven, after which a connection is dropped as a flood. */
export const REFUSALS_MAX = 1_000;
/** Packets waiting to be sent to one client (its events, acks, pings) beyond which it is dropped. */
export const BACKLOG_PACKETS_MAX = 1_000;
/** How long a client may leave packets waiting without taking any before it is dropped. */
export const STALL_MS_MAX = 10_000;
/** How long a dropped client gets to read its closing notice before its connection is cut regardless. */
export const CLOSE_GRACE_MS = 2_000;

/** A token bucket: `capacity` tokens, refilled continuously at `refillPerSecond`. */
export class TokenBucket {
  private tokens: number;
  private updatedAtMs: number;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number,
  ) {
    this.tokens = capacity;
    this.updatedAtMs = now();
  }

  /** Takes `cost` tokens if there are that many; otherwise takes none and returns false. */
  take(cost: number): boolean {
    this.refill();
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** Milliseconds until `cost` tokens are there. */
  waitMs(cost: number): number {
    this.refill();
    return Math.max(0, ((cost - this.tokens) * 1000) / this.refillPerSecond);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAtMs) * this.refillPerSecond) / 1000);
    this.updatedAtMs = now;
  }
}

/** The cost of a request, read from its payload before it is validated. */
export function requestCost(event: string, payload: unknown): number {
  if (event !== 'command' || !isPlainObject(payload)) return 1;
  return payload.type === 'configure' || payload.type === 'open' || (payload.type === 'scenario' && payload.action === 'run') ? EXPENSIVE_REQUEST_COST : 1;
}

export interface SessionHooks {
  /** The snapshot to send when a skipped one can go out. */
  latestSnapshot(): ClusterSnapshot;
  /** The client was refused a request (rate limited). */
  onRefused(): void;
  /** The hub is disconnecting the client. */
  onDrop(reason: ClosingNotice['reason']): void;
  now(): number;
}

export class ControlSession {
  private readonly requests: TokenBucket;
  private readonly refusals: TokenBucket;
  private snapshotSkipped = false;
  private skippedBatch: MessageBatch | null = null;
  /** Since when packets have waited for this client without any being taken. */
  private behindSinceMs: number | null = null;
  private catchUpScheduled = false;
  private dropped = false;

  constructor(
    private readonly socket: ControlSocket,
    private readonly hooks: SessionHooks,
  ) {
    this.requests = new TokenBucket(REQUEST_BURST_MAX, REQUESTS_PER_SECOND_MAX, hooks.now);
    this.refusals = new TokenBucket(REFUSALS_MAX, REFUSALS_FORGIVEN_PER_SECOND, hooks.now);
    socket.conn.on('drain', this.onDrain);
    socket.once('disconnect', () => socket.conn.off('drain', this.onDrain));
  }

  /** Null when the request may be served, or the error to answer it with (rate limited). */
  admit(event: string, payload: unknown): string | null {
    const cost = requestCost(event, payload);
    if (this.requests.take(cost)) return null;
    this.hooks.onRefused();
    if (!this.refusals.take(1)) {
      this.drop('flood', `disconnected for too many requests: more than ${REFUSALS_MAX} refused beyond ${REFUSALS_FORGIVEN_PER_SECOND} a second`);
    }
    const retryS = Math.ceil(this.requests.waitMs(cost) / 100) / 10;
    return `rate limited: at most ${REQUESTS_PER_SECOND_MAX} requests a second (configure, open and scenario runs count ${EXPENSIVE_REQUEST_COST}); retry in ${retryS} s`;
  }

  /**
   * What a client starts from, on connect and when a new run begins: the history, then a
   * snapshot, in order and never skipped. A batch still waiting belongs to the run before.
   */
  startOver(history: ClusterEvent[], snapshot: ClusterSnapshot): void {
    this.skippedBatch = null;
    if (!this.readyForOrdered()) return;
    this.socket.emit('history', history);
    this.snapshotSkipped = false;
    this.socket.emit('snapshot', snapshot);
  }

  /** Events are sent in order, never skipped. */
  sendEvent(event: ClusterEvent): void {
    if (this.readyForOrdered()) this.socket.emit('event', event);
  }

  /** A snapshot goes out now, or once the client has taken what waits for it (the latest one then). */
  offerSnapshot(snapshot: ClusterSnapshot): void {
    if (this.checkBacklog()) {
      this.snapshotSkipped = true;
    } else if (!this.dropped) {
      this.snapshotSkipped = false;
      this.socket.emit('snapshot', snapshot);
    }
  }

  /** A batch goes out now, or waits in place of the one before, whose messages it counts as omitted. */
  offerBatch(batch: MessageBatch): void {
    if (this.checkBacklog()) {
      const skipped = this.skippedBatch;
      this.skippedBatch = skipped === null ? batch : { ...batch, omitted: batch.omitted + skipped.omitted + skipped.messages.length };
    } else if (!this.dropped) {
      this.socket.emit('messages', batch);
    }
  }

  /** Whether packets wait for the client; drops it when too many wait or they have waited too long. Also run after answering a request: a client that does not read its answers is behind too. */
  checkBacklog(): boolean {
    if (this.dropped) return false;
    const waiting = packetsWaiting(this.socket);
    if (waiting === 0) {
      this.behindSinceMs = null;
      return false;
    }
    this.behindSinceMs ??= this.hooks.now();
    if (waiting > BACKLOG_PACKETS_MAX) {
      this.drop('slow', `disconnected for reading too slowly: more than ${BACKLOG_PACKETS_MAX} packets were waiting for this client`);
    } else if (this.hooks.now() - this.behindSinceMs > STALL_MS_MAX) {
      this.drop('slow', `disconnected for reading too slowly: it took nothing for ${STALL_MS_MAX / 1000} s`);
    }
    return true;
  }

  /**
   * Says why, then disconnects. A flooder is disconnected from the namespace (socket.io clients
   * do not reconnect by themselves after that); a slow client only loses its connection, so a
   * dashboard reconnects and starts over from a fresh history.
   */
  private drop(reason: ClosingNotice['reason'], message: string): void {
    if (this.dropped) return;
    this.dropped = true;
    this.hooks.onDrop(reason);
    const { conn } = this.socket;
    // Closing waits for the client to take what is queued; one that takes nothing is cut off.
    const cutOff = setTimeout(() => conn.close(true), CLOSE_GRACE_MS);
    conn.once('close', () => clearTimeout(cutOff));
    this.socket.emit('closing', { reason, message });
    if (reason === 'flood') this.socket.disconnect(true);
    else conn.close();
  }

  /** Checks the backlog before something that must not be skipped; false once the client is dropped. */
  private readyForOrdered(): boolean {
    this.checkBacklog();
    return !this.dropped;
  }

  /** The engine handed everything waiting to the transport: the client is taking data. */
  private readonly onDrain = (): void => {
    this.behindSinceMs = null;
    if (this.catchUpScheduled || (!this.snapshotSkipped && this.skippedBatch === null)) return;
    // Not from inside the emit that drained: the cluster may be in the middle of an update.
    this.catchUpScheduled = true;
    queueMicrotask(() => {
      this.catchUpScheduled = false;
      if (this.dropped) return;
      if (this.snapshotSkipped) this.offerSnapshot(this.hooks.latestSnapshot());
      const batch = this.skippedBatch;
      this.skippedBatch = null;
      if (batch !== null) this.offerBatch(batch);
    });
  };
}

/** Packets engine.io holds for the client because its transport has not taken the earlier ones yet. */
function packetsWaiting(socket: ControlSocket): number {
  const buffer: unknown = (socket.conn as unknown as { writeBuffer?: unknown }).writeBuffer;
  return Array.isArray(buffer) ? buffer.length : 0;
}
