/**
 * What strangers cause is counted, not logged line by line: connections refused before they
 * authenticated (a wrong token, a port scan, a flood of idle sockets). The first refusal from an
 * address in a window is logged at once ('connection refused'); when the window closes, one line
 * counts them all ('connections refused', summary "412 refused handshakes from 10.0.0.9 in the
 * last 10 s"). Addresses tracked
 * at once are bounded: beyond, the rest are counted together.
 */
import type { Logger } from './log.js';

/** How long refusals from one address are counted before they are said in one line. */
export const REFUSAL_LOG_WINDOW_MS = 10_000;
/** Addresses counted at once; refusals from others are counted together. */
export const REFUSAL_LOG_ADDRESSES_MAX = 256;
const OTHERS = 'other addresses';

interface Tally {
  refused: number;
  lastReason: string;
}

export class RefusalLog {
  private readonly tallies = new Map<string, Tally>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly log: Logger,
    private readonly windowMs = REFUSAL_LOG_WINDOW_MS,
  ) {}

  /** A connection from `address` ("host:port") refused before it authenticated, and why. */
  refused(address: string, reason: string): void {
    const host = hostOf(address);
    const key = this.tallies.has(host) || this.tallies.size < REFUSAL_LOG_ADDRESSES_MAX ? host : OTHERS;
    const tally = this.tallies.get(key);
    if (tally === undefined) {
      this.tallies.set(key, { refused: 1, lastReason: reason });
      this.log.warn({ address, reason }, 'connection refused');
      this.timer ??= setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref();
      return;
    }
    tally.refused += 1;
    tally.lastReason = reason;
  }

  /** Says what was counted in the window that ends, and starts another. */
  flush(): void {
    this.timer = null;
    const seconds = Math.round(this.windowMs / 1000);
    for (const [host, tally] of this.tallies) {
      if (tally.refused <= 1) continue;
      const summary = `${tally.refused} refused handshakes from ${host} in the last ${seconds} s`;
      this.log.warn({ address: host, refused: tally.refused, windowMs: this.windowMs, lastReason: tally.lastReason, summary }, 'connections refused');
    }
    this.tallies.clear();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.flush();
  }
}

/** The host of "host:port" or "[v6]:port". */
function hostOf(address: string): string {
  const at = address.lastIndexOf(':');
  return at < 0 ? address : address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
}
