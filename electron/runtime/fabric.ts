/**
 * The network between embedded agents: every message crosses one directed link, whose fate the
 * shared LinkRules decide (partition, cut, loss, latency with jitter, duplication), scheduled on
 * a Clock. Delay and loss come from a seeded Random, so the simulator replays it exactly; jitter
 * reorders messages naturally.
 */
import type { Message } from '../../shared/core/election.js';
import type { Random } from '../../shared/core/random.js';
import type { DropReason, LinkRules, LinkSettings } from '../../shared/network/link-rules.js';
import type { Clock } from './clock.js';

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
  rules: LinkRules;
  deliver: (message: Message) => void;
  link: LinkSettings;
  onTransit?: (transit: Transit) => void;
}

export class Fabric {
  constructor(private readonly options: FabricOptions) {}

  send(message: Message): void {
    const { clock, random, rules, link, onTransit, deliver } = this.options;
    const sentAt = clock.now();
    const decision = rules.decide(message.from, message.to, random, link);
    if (decision.dropped !== null) {
      onTransit?.({ message, sentAt, deliverAt: null, dropped: decision.dropped, duplicate: false });
      return;
    }
    decision.delaysMs.forEach((delayMs, index) => {
      const deliverAt = sentAt + delayMs;
      clock.setTimer(deliverAt, () => deliver(message));
      onTransit?.({ message, sentAt, deliverAt, dropped: null, duplicate: index > 0 });
    });
  }
}
