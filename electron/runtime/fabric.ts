/**
 * The network between agents: every message crosses one directed link, and each link
 * applies its faults (partition, cut, drop probability, latency with jitter, duplication).
 * Delay and loss come from a seeded Random and time from a Clock, so the simulator replays it
 * exactly. Jitter reorders messages naturally.
 */
import type { Message } from '../../shared/core/election.js';
import type { Random } from '../../shared/core/random.js';
import { linkKey, type LinkFault } from '../../shared/protocol/faults.js';
import type { Clock } from './clock.js';

export interface LinkSettings {
  latencyMs: number;
  jitterMs: number;
}

export type DropReason = 'partition' | 'cut' | 'loss';

/** What happened to one message on the wire, for metrics and animation. */
export interface Transit {
  message: Message;
  sentAt: number;
  /** Delivery time, or null when the fabric dropped it. */
  deliverAt: number | null;
  dropped: DropReason | null;
  duplicate: boolean;
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
const ALL_LINKS = '*';

export class Fabric {
  private readonly base: LinkSettings;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly deliver: (message: Message) => void;
  private readonly onTransit: ((transit: Transit) => void) | undefined;
  /** Directed links a partition blocks. */
  private blocked = new Set<string>();
  /** Per-link faults by "from->to", and the fault of every link under "*"; a link's own wins. */
  private readonly faults = new Map<string, LinkFault>();

  constructor(options: FabricOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.deliver = options.deliver;
    this.onTransit = options.onTransit;
    this.base = options.link;
  }

  setBlocked(blocked: ReadonlySet<string>): void {
    this.blocked = new Set(blocked);
  }

  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(linkKey(from, to));
  }

  /** Sets (or with null clears) the fault of one directed link, or of every link when from/to are null. */
  setLinkFault(from: string | null, to: string | null, fault: LinkFault | null): void {
    const key = from === null || to === null ? ALL_LINKS : linkKey(from, to);
    if (fault === null) this.faults.delete(key);
    else this.faults.set(key, fault);
  }

  /** The fault in force on a link: its own, else the all-links one. */
  faultOf(from: string, to: string): LinkFault | undefined {
    return this.faults.get(linkKey(from, to)) ?? this.faults.get(ALL_LINKS);
  }

  /** Every explicitly set fault: [from, to, fault], with null endpoints for the all-links fault. */
  linkFaults(): Array<[string | null, string | null, LinkFault]> {
    return [...this.faults].map(([key, fault]) => {
      if (key === ALL_LINKS) return [null, null, fault];
      const [from, to] = key.split('->') as [string, string];
      return [from, to, fault];
    });
  }

  send(message: Message): void {
    const sentAt = this.clock.now();
    const fault = this.faultOf(message.from, message.to);
    let dropped: DropReason | null = null;
    if (this.blocked.has(linkKey(message.from, message.to))) dropped = 'partition';
    else if (fault?.cut) dropped = 'cut';
    else if (fault !== undefined && this.random.chance(fault.dropProbability)) dropped = 'loss';
    if (dropped !== null) {
      this.onTransit?.({ message, sentAt, deliverAt: null, dropped, duplicate: false });
      return;
    }
    this.schedule(message, sentAt, fault, false);
    if (fault !== undefined && this.random.chance(fault.duplicateProbability)) this.schedule(message, sentAt, fault, true);
  }

  private schedule(message: Message, sentAt: number, fault: LinkFault | undefined, duplicate: boolean): void {
    const latencyMs = fault?.latencyMs ?? this.base.latencyMs;
    const jitterMs = fault?.jitterMs ?? this.base.jitterMs;
    const delayMs = Math.max(MIN_LATENCY_MS, latencyMs + (jitterMs > 0 ? this.random.between(-jitterMs, jitterMs) : 0));
    const deliverAt = sentAt + delayMs;
    this.clock.setTimer(deliverAt, () => this.deliver(message));
    this.onTransit?.({ message, sentAt, deliverAt, dropped: null, duplicate });
  }
}
