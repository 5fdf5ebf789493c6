/**
 * How far an agent's clock is from ours, from ping round trips (as NTP does): the agent read its
 * clock somewhere between our send and our receipt, so the offset is its reading minus our
 * midpoint, uncertain by half the round trip. The sample with the shortest round trip among the
 * recent ones is the best estimate.
 */
export const OFFSET_SAMPLES_KEPT = 8;

export interface OffsetEstimate {
  /** The agent's clock minus ours, ms. */
  offsetMs: number;
  roundTripMs: number;
}

export class ClockOffset {
  private samples: OffsetEstimate[] = [];

  /** `sentAt` and `receivedAt` on our clock, `agentNow` on the agent's (same units: epoch ms). */
  add(sentAt: number, agentNow: number, receivedAt: number): void {
    const roundTripMs = Math.max(0, receivedAt - sentAt);
    this.samples.push({ offsetMs: agentNow - (sentAt + roundTripMs / 2), roundTripMs });
    if (this.samples.length > OFFSET_SAMPLES_KEPT) this.samples.shift();
  }

  /** The best estimate, or null before the first sample. */
  estimate(): OffsetEstimate | null {
    let best: OffsetEstimate | null = null;
    for (const sample of this.samples) if (best === null || sample.roundTripMs < best.roundTripMs) best = sample;
    return best;
  }

  clear(): void {
    this.samples = [];
  }
}
