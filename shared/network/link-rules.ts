/**
 * The fault rules of the network between nodes: which directed links a partition blocks, and
 * the fault of each link (cut, loss, delay with jitter, duplication). One implementation for
 * every runtime: the embedded fabric and the simulator schedule what `decide` says on their
 * clock; a real agent applies it to its own sends (and its receives, for cuts) with real timers.
 */
import type { Random } from '../core/random.js';
import { linkKey, type LinkFault } from '../protocol/faults.js';

export interface LinkSettings {
  latencyMs: number;
  jitterMs: number;
}

export type DropReason = 'partition' | 'cut' | 'loss';

/** What happens to one message: dropped, or delivered after each delay (two when duplicated). */
export type LinkDecision = { dropped: DropReason } | { dropped: null; delaysMs: number[] };

/** The whole rule table as plain data, as a console hands it to agents. */
export interface NetworkTable {
  /** Directed links a partition blocks, as "from->to". */
  blocked: string[];
  /** Link faults; from/to null means every link. */
  links: Array<{ from: string | null; to: string | null; fault: LinkFault }>;
}

/** Every directed link between two different groups of a partition, as "from->to". */
export function linksBetween(groups: readonly (readonly string[])[]): Set<string> {
  const blocked = new Set<string>();
  for (const a of groups) {
    for (const b of groups) {
      if (a === b) continue;
      for (const from of a) for (const to of b) blocked.add(linkKey(from, to));
    }
  }
  return blocked;
}

/** The smallest one-way delay, so that no exchange of messages can loop without time passing. */
export const MIN_LATENCY_MS = 0.05;
const ALL_LINKS = '*';

export class LinkRules {
  private blocked = new Set<string>();
  /** Per-link faults by "from->to", and the fault of every link under "*"; a link's own wins. */
  private readonly faults = new Map<string, LinkFault>();

  setBlocked(blocked: Iterable<string>): void {
    this.blocked = new Set(blocked);
  }

  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(linkKey(from, to));
  }

  blockedLinks(): string[] {
    return [...this.blocked];
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

  /** Whether any link has loss, extra delay or duplication (as opposed to cuts). */
  degraded(): boolean {
    for (const fault of this.faults.values()) if (!fault.cut) return true;
    return false;
  }

  /** Whether a message from one node gets through at all (ignoring loss). */
  open(from: string, to: string): boolean {
    return !this.isBlocked(from, to) && !(this.faultOf(from, to)?.cut ?? false);
  }

  /**
   * The fate of one message on a link whose own latency and jitter are `base` (a real network
   * passes zeros: its delay is real, and a fault's latency adds to it).
   */
  decide(from: string, to: string, random: Random, base: LinkSettings): LinkDecision {
    if (this.isBlocked(from, to)) return { dropped: 'partition' };
    const fault = this.faultOf(from, to);
    if (fault === undefined) return { dropped: null, delaysMs: [delayMs(base.latencyMs, base.jitterMs, random)] };
    if (fault.cut) return { dropped: 'cut' };
    if (random.chance(fault.dropProbability)) return { dropped: 'loss' };
    const latencyMs = fault.latencyMs ?? base.latencyMs;
    const jitterMs = fault.jitterMs ?? base.jitterMs;
    const delaysMs = [delayMs(latencyMs, jitterMs, random)];
    if (random.chance(fault.duplicateProbability)) delaysMs.push(delayMs(latencyMs, jitterMs, random));
    return { dropped: null, delaysMs };
  }

  toTable(): NetworkTable {
    return { blocked: this.blockedLinks(), links: this.linkFaults().map(([from, to, fault]) => ({ from, to, fault })) };
  }

  /** Replaces every rule with the table's. */
  load(table: NetworkTable): void {
    this.setBlocked(table.blocked);
    this.faults.clear();
    for (const { from, to, fault } of table.links) this.setLinkFault(from, to, fault);
  }
}

function delayMs(latencyMs: number, jitterMs: number, random: Random): number {
  return Math.max(MIN_LATENCY_MS, latencyMs + (jitterMs > 0 ? random.between(-jitterMs, jitterMs) : 0));
}
