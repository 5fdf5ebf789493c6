/**
 * How many connections the hub takes, and how fast. Each client's requests are limited per
 * connection (session.ts); these limits stop a client from multiplying that allowance, and the
 * history every new client is sent, by opening more connections.
 */
import { TokenBucket } from './session.js';

/** `/control` clients at a time, in all. */
export const CONTROL_CLIENTS_MAX = 64;
/** `/control` clients at a time from one address (a few dashboards and tools on one machine). */
export const CONTROL_CLIENTS_PER_ADDRESS_MAX = 16;
/**
 * Transport connections, which a client opens before it joins `/control` (and which socket.io
 * closes after 45 s if it joins nothing): twice the clients, so that a client over the limit
 * still gets through to `/control` and hears why it is refused.
 */
const CONNECTIONS_PER_CLIENT = 2;
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
  private readonly handshakes = new Map<string, TokenBucket>();
  private readonly connections = new Tally();
  private readonly clients = new Tally();

  constructor(
    limits: AdmissionLimits = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.clientsMax = limits.clientsMax ?? CONTROL_CLIENTS_MAX;
    this.clientsPerAddressMax = limits.clientsPerAddressMax ?? CONTROL_CLIENTS_PER_ADDRESS_MAX;
    this.handshakesPerSecondMax = limits.handshakesPerSecondMax ?? HANDSHAKES_PER_SECOND_MAX;
    this.handshakeBurstMax = limits.handshakeBurstMax ?? HANDSHAKE_BURST_MAX;
  }

  /** Why a new transport connection from `address` is refused, or null when it may open (it counts against the rate). */
  handshakeRefusal(address: string): string | null {
    const crowded = this.crowding(this.connections, address, CONNECTIONS_PER_CLIENT);
    if (crowded !== null) return crowded;
    let bucket = this.handshakes.get(address);
    if (bucket === undefined) {
      if (this.handshakes.size >= HANDSHAKE_ADDRESSES_KEPT) this.forgetFullAllowances();
      bucket = new TokenBucket(this.handshakeBurstMax, this.handshakesPerSecondMax, this.now);
      this.handshakes.set(address, bucket);
    }
    if (bucket.take(1)) return null;
    return `too many connection attempts from ${address}: at most ${this.handshakesPerSecondMax} a second; retry in ${(bucket.waitMs(1) / 1000).toFixed(1)} s`;
  }

  /** Counts an open transport connection; call the result when it closes. */
  connectionOpened(address: string): () => void {
    return this.connections.add(address);
  }

  /** Why a new `/control` client from `address` is refused, or null when it may join. */
  clientRefusal(address: string): string | null {
    return this.crowding(this.clients, address, 1);
  }

  /** Counts a `/control` client; call the result when it leaves. */
  clientJoined(address: string): () => void {
    return this.clients.add(address);
  }

  private crowding(tally: Tally, address: string, scale: number): string | null {
    if (tally.count(address) >= this.clientsPerAddressMax * scale) {
      return `too many connections from ${address}: the hub takes at most ${this.clientsPerAddressMax} clients from one address`;
    }
    if (tally.total >= this.clientsMax * scale) return `the hub is full: it takes at most ${this.clientsMax} clients`;
    return null;
  }

  /** An allowance that refilled to its burst is the same as a new one. */
  private forgetFullAllowances(): void {
    for (const [address, bucket] of this.handshakes) if (bucket.waitMs(this.handshakeBurstMax) === 0) this.handshakes.delete(address);
  }
}
