/**
 * How many connections the hub takes, and how fast. Each client's requests are limited per
 * connection (session.ts); these limits stop a client from multiplying that allowance, and the
 * history every new client is sent, by opening more connections.
 *
 * A transport (engine.io's connection, which a client opens before it joins `/control` with the
 * token) is *pending* until it joins: pending ones have a small budget of their own, per address
 * and in all, and a short life. A new one always gets in, closing the oldest pending one of its
 * own address or of the address that holds the most, so strangers cannot hold the places that
 * clients with the token need; and they never count against the authenticated clients' limits.
 */
import { TokenBucket } from './session.js';

/** `/control` clients at a time, in all. */
export const CONTROL_CLIENTS_MAX = 64;
/** `/control` clients at a time from one address (a few dashboards and tools on one machine). */
export const CONTROL_CLIENTS_PER_ADDRESS_MAX = 16;
/** Transports not yet joined to `/control` from one address at a time; a new one closes the oldest. */
export const PENDING_TRANSPORTS_PER_ADDRESS_MAX = 4;
/** In all; a new one closes the oldest of the address holding the most. */
export const PENDING_TRANSPORTS_MAX = 32;
/** A transport that has not joined `/control` within this long is closed (an honest client joins in a round trip or two). */
export const PENDING_TRANSPORT_MS_MAX = 5_000;
/** New connections from one address, a second, beyond a burst. */
export const HANDSHAKES_PER_SECOND_MAX = 5;
export const HANDSHAKE_BURST_MAX = 20;
/** Addresses whose handshake allowance is kept; full allowances are forgotten past this. */
const HANDSHAKE_ADDRESSES_KEPT = 1_000;

export interface AdmissionLimits {
  clientsMax?: number;
  clientsPerAddressMax?: number;
  handshakesPerSecondMax?: number;
  handshakeBurstMax?: number;
  pendingMsMax?: number;
}

/** A transport until it joins `/control`. */
export interface PendingTransport {
  /** It joined with the token: it leaves the pending budget. */
  joined(): void;
  /** It closed. */
  closed(): void;
}

interface Pending {
  address: string;
  close: () => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Connections open at a time, per address. */
class Tally {
  private readonly byAddress = new Map<string, number>();
  total = 0;

  count(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  /** Counts one more for `address`; the returned function, called any number of times, counts it out. */
  add(address: string): () => void {
    this.byAddress.set(address, this.count(address) + 1);
    this.total += 1;
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      this.total -= 1;
      const left = this.count(address) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    };
  }
}

export class Admission {
  private readonly clientsMax: number;
  private readonly clientsPerAddressMax: number;
  private readonly handshakesPerSecondMax: number;
  private readonly handshakeBurstMax: number;
  private readonly pendingMsMax: number;
  private readonly handshakes = new Map<string, TokenBucket>();
  /** Pending transports, oldest first. */
  private readonly pending = new Set<Pending>();
  private readonly clients = new Tally();

  constructor(
    limits: AdmissionLimits = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.clientsMax = limits.clientsMax ?? CONTROL_CLIENTS_MAX;
    this.clientsPerAddressMax = limits.clientsPerAddressMax ?? CONTROL_CLIENTS_PER_ADDRESS_MAX;
    this.handshakesPerSecondMax = limits.handshakesPerSecondMax ?? HANDSHAKES_PER_SECOND_MAX;
    this.handshakeBurstMax = limits.handshakeBurstMax ?? HANDSHAKE_BURST_MAX;
    this.pendingMsMax = limits.pendingMsMax ?? PENDING_TRANSPORT_MS_MAX;
  }

  /** Why a new transport connection from `address` is refused, or null when it may open (it counts against the rate). */
  handshakeRefusal(address: string): string | null {
    let bucket = this.handshakes.get(address);
    if (bucket === undefined) {
      if (this.handshakes.size >= HANDSHAKE_ADDRESSES_KEPT) this.forgetFullAllowances();
      bucket = new TokenBucket(this.handshakeBurstMax, this.handshakesPerSecondMax, this.now);
      this.handshakes.set(address, bucket);
    }
    if (bucket.take(1)) return null;
    return `too many connection attempts from ${address}: at most ${this.handshakesPerSecondMax} a second; retry in ${(bucket.waitMs(1) / 1000).toFixed(1)} s`;
  }

  /** A transport opened; `close` closes it (it lost its place, or did not join in time). */
  transportOpened(address: string, close: () => void): PendingTransport {
    const ofAddress = [...this.pending].filter((other) => other.address === address);
    if (ofAddress.length >= PENDING_TRANSPORTS_PER_ADDRESS_MAX) this.evict(ofAddress[0]!);
    else if (this.pending.size >= PENDING_TRANSPORTS_MAX) this.evict(this.oldestOfMostCrowded());
    const entry: Pending = { address, close, timer: setTimeout(() => this.evict(entry), this.pendingMsMax) };
    entry.timer.unref();
    this.pending.add(entry);
    const leave = (): void => {
      clearTimeout(entry.timer);
      this.pending.delete(entry);
    };
    return { joined: leave, closed: leave };
  }

  /** Why a new `/control` client from `address` is refused, or null when it may join. */
  clientRefusal(address: string): string | null {
    const tally = this.clients;
    if (tally.count(address) >= this.clientsPerAddressMax) {
      return `too many connections from ${address}: the hub takes at most ${this.clientsPerAddressMax} clients from one address`;
    }
    if (tally.total >= this.clientsMax) return `the hub is full: it takes at most ${this.clientsMax} clients`;
    return null;
  }

  /** Counts a `/control` client; call the result when it leaves. */
  clientJoined(address: string): () => void {
    return this.clients.add(address);
  }

  private evict(entry: Pending): void {
    if (!this.pending.delete(entry)) return;
    clearTimeout(entry.timer);
    entry.close();
  }

  private oldestOfMostCrowded(): Pending {
    const counts = new Map<string, number>();
    for (const entry of this.pending) counts.set(entry.address, (counts.get(entry.address) ?? 0) + 1);
    const most = Math.max(...counts.values());
    return [...this.pending].find((entry) => counts.get(entry.address) === most)!;
  }

  /** An allowance that refilled to its burst is the same as a new one. */
  private forgetFullAllowances(): void {
    for (const [address, bucket] of this.handshakes) if (bucket.waitMs(this.handshakeBurstMax) === 0) this.handshakes.delete(address);
  }
}
