/**
 * The leader lease's checker (docs/lease.md): at no instant of the simulator's (real) time may
 * two members claim leadership to applications. A claim is counted until the lease's end as
 * that member computed it, even when it stepped down or crashed before: what it said stays said.
 */

export interface LeaseFinding {
  kind: 'two-lease-holders';
  message: string;
}

export class LeaseChecker {
  /** Each member's latest claim: until when (simulator time), and since when. */
  private readonly claims = new Map<string, { since: number; until: number }>();
  /** Claims made, for the run's figures. */
  acquisitions = 0;

  /** `nodeId` holds the lease until `untilT` (null: none) as of `now`. */
  claim(nodeId: string, untilT: number | null, now: number): LeaseFinding | null {
    if (untilT === null || untilT <= now) return null;
    const own = this.claims.get(nodeId);
    const fresh = own === undefined || own.until <= now;
    for (const [other, claim] of this.claims) {
      if (other === nodeId || claim.until <= now) continue;
      return {
        kind: 'two-lease-holders',
        message: `${nodeId} claims the leader lease from t=${now.toFixed(3)} while ${other} holds one (claimed since t=${claim.since.toFixed(3)}) until t=${claim.until.toFixed(3)}`,
      };
    }
    if (fresh) this.acquisitions += 1;
    this.claims.set(nodeId, { since: fresh ? now : own!.since, until: Math.max(untilT, own?.until ?? -Infinity) });
    return null;
  }
}
