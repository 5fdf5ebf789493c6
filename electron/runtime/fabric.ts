/**
 * The network between agents: every message crosses one directed link, and each link
 * applies its faults (cut, drop probability, latency with jitter, duplication). Delay and
 * loss come from a seeded Random and time from a Clock, so the simulator replays it exactly.
 */
import type { Message } from '../../shared/core/election.js';
import type { Random } from '../../shared/core/random.js';
import type { Clock } from './clock.js';

export interface LinkSettings {
  latencyMs: number;
  jitterMs: number;
}

/** What happened to one message on the wire, for metrics and animation. */
export interface Transit {
  message: Message;
  sentAt: number;
  /** Delivery time, or null when the fabric dropped it. */
  deliverAt: number | null;
}

export interface FabricOptions {
  clock: Clock;
  random: Random;
  deliver: (message: Message) => void;
  link: LinkSettings;
  onTransit?: (transit: Transit) => void;
}

/** The smallest one-way delay, so that no exchange of messages can loop without time passing. */
export const MIN_LATENCY_MS = 0.05;

export class Fabric {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly deliver: (message: Message) => void;
  private readonly onTransit: ((transit: Transit) => void) | undefined;
  private link: LinkSettings;

  constructor(options: FabricOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.deliver = options.deliver;
    this.onTransit = options.onTransit;
    this.link = options.link;
  }

  send(message: Message): void {
    const sentAt = this.clock.now();
    const { latencyMs, jitterMs } = this.link;
    const delayMs = Math.max(MIN_LATENCY_MS, latencyMs + (jitterMs > 0 ? this.random.between(-jitterMs, jitterMs) : 0));
    const deliverAt = sentAt + delayMs;
    this.clock.setTimer(deliverAt, () => this.deliver(message));
    this.onTransit?.({ message, sentAt, deliverAt });
  }
}
