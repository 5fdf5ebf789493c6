/**
 * The leader lease's two halves on their own (shared/core/lease.ts): a follower's promise and a
 * leader's lease, with the timing that keeps them apart and the early round that starts a new
 * lease as soon as the old leader's promises end. The simulator checks the whole (lease-check.ts).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { FRESH_IN_MS_MAX, FRESH_ROUND_MARGIN_MS, LeaderLease, LeasePromise, isFreshInMsField, leaseTiming } from '../../shared/core/lease.js';
import { Membership } from '../../shared/core/membership.js';
import { RaftNode } from '../../shared/raft/raft.js';
import { createRandom } from '../../shared/core/random.js';
import { DriftingClock, VirtualClock } from '../../electron/runtime/clock.js';

const CONFIG = { ...DEFAULT_ELECTION_CONFIG, heartbeatMs: 50 };
const TIMING = leaseTiming(CONFIG, 0.01);
const MEMBERS = ['n1', 'n2', 'n3', 'n4', 'n5'];

function membership(self = 'n1'): Membership {
  return new Membership(self, MEMBERS);
}

describe('lease timing', () => {
  it('a lease outlives none of the promises behind it, however the clocks drift within the bound', () => {
    expect(TIMING.promiseMs).toBe(2 * CONFIG.heartbeatMs);
    for (const drift of [0, 0.01, 0.1, 0.5]) {
      const { promiseMs, leaseMs } = leaseTiming(CONFIG, drift);
      // The leader's clock fast by the bound, the follower's slow by it.
      expect(leaseMs * (1 + drift)).toBeLessThan(promiseMs * (1 - drift));
    }
    expect(leaseTiming(CONFIG, 0.5).leaseMs).toBeLessThan(leaseTiming(CONFIG, 0.01).leaseMs);
  });
});

describe('a follower\'s promise', () => {
  it('after a boot no answer is fresh for a promise\'s length, and it says when answers will be', () => {
    const promise = new LeasePromise(TIMING, 1000);
    expect(promise.accept('n1', 3, 1010)).toBe(false);
    expect(promise.freshInMs(1010)).toBe(TIMING.promiseMs - 10);
    expect(promise.accept('n1', 3, 1000 + TIMING.promiseMs)).toBe(true);
    expect(promise.freshInMs(1000 + TIMING.promiseMs)).toBe(0);
  });

  it('a promise to one leader keeps the next from fresh answers until it ends, renewed by every heartbeat', () => {
    const promise = new LeasePromise(TIMING, -1000);
    expect(promise.accept('n1', 3, 0)).toBe(true);
    expect(promise.accept('n1', 3, 40)).toBe(true);
    // A new leader (or the same one in a new term) 10 ms after the last heartbeat of the old.
    expect(promise.accept('n2', 4, 50)).toBe(false);
    expect(promise.freshInMs(50)).toBe(40 + TIMING.promiseMs - 50);
    expect(promise.accept('n2', 4, 40 + TIMING.promiseMs - 1)).toBe(false);
    expect(promise.accept('n2', 4, 40 + TIMING.promiseMs)).toBe(true);
    // Back to the first leader in its old term is a change too.
    expect(promise.accept('n1', 3, 40 + TIMING.promiseMs + 1)).toBe(false);
  });

  it('a crash hint changes nothing', () => {
    const promise = new LeasePromise(TIMING, -1000);
    promise.accept('n1', 3, 0);
    promise.hinted('n1', 1);
    expect(promise.accept('n2', 4, 2)).toBe(false);
    expect(promise.inspect(2)).toEqual({ to: 'n2', term: 4, remainingMs: TIMING.promiseMs, freshInMs: TIMING.promiseMs - 2 });
  });
});

describe('a leader\'s lease', () => {
  it('starts when the round a majority acknowledged freshly was sent, and lasts the lease length', () => {
    const lease = new LeaderLease(TIMING, membership());
    lease.lead();
    const round = lease.send(100);
    lease.answer('n1', round, true, 100);
    lease.answer('n2', round, true, 130);
    expect(lease.expiresAt(130)).toBeNull();
    lease.answer('n3', round, true, 140);
    expect(lease.expiresAt(140)).toBe(100 + TIMING.leaseMs);
    expect(lease.expiresAt(100 + TIMING.leaseMs)).toBeNull();
  });

  it('stale answers, answers of non-voters and answers to rounds never sent back nothing', () => {
    const lease = new LeaderLease(TIMING, membership());
    lease.lead();
    const round = lease.send(100);
    lease.answer('n1', round, true, 100);
    lease.answer('n2', round, false, 110);
    lease.answer('n9', round, true, 110);
    lease.answer('n3', round + 1, true, 110);
    lease.answer('n4', round, true, 111);
    expect(lease.expiresAt(111)).toBeNull();
    lease.answer('n5', round, true, 112);
    expect(lease.expiresAt(112)).toBe(100 + TIMING.leaseMs);
    lease.stop();
    expect(lease.expiresAt(113)).toBeNull();
  });

  it('sends a round when enough promises to the old leader have ended, not at its next heartbeat', () => {
    const lease = new LeaderLease(TIMING, membership());
    lease.lead();
    expect(lease.roundDue()).toBe(Infinity);
    const round = lease.send(100);
    lease.answer('n1', round, false, 100, 60);
    lease.answer('n2', round, false, 102, 40);
    // One majority member's figure is still unknown.
    expect(lease.roundDue()).toBe(Infinity);
    lease.answer('n3', round, false, 103, 80);
    // The third-earliest (a majority of five): n1 at 100 + 60, stretched for both clocks' drift.
    const stretch = (1.01 / 0.99);
    const n1 = 100 + 60 * stretch + FRESH_ROUND_MARGIN_MS;
    const n3 = 103 + 80 * stretch + FRESH_ROUND_MARGIN_MS;
    expect(lease.roundDue()).toBeCloseTo(Math.max(n1, n3, 102 + 40 * stretch + FRESH_ROUND_MARGIN_MS), 9);
    expect(lease.roundDue()).toBeCloseTo(n3, 9);
    // Sent then: nothing more is due until answers say otherwise.
    const early = lease.send(n3);
    expect(lease.roundDue()).toBe(Infinity);
    for (const peer of ['n1', 'n2', 'n3']) lease.answer(peer, early, true, n3 + 2);
    expect(lease.expiresAt(n3 + 2)).toBe(n3 + TIMING.leaseMs);
    expect(lease.roundDue()).toBe(Infinity);
  });

  it('a follower that keeps saying "now" gets at most one round per eighth of a promise', () => {
    const lease = new LeaderLease(TIMING, membership());
    lease.lead();
    let at = 0;
    let sent = 0;
    for (let i = 0; i < 100; i += 1) {
      const round = lease.send(at);
      sent += 1;
      for (const peer of ['n1', 'n2', 'n3']) lease.answer(peer, round, false, at + 0.1, 0);
      const due = lease.roundDue();
      expect(due - at).toBeGreaterThanOrEqual(TIMING.promiseMs / 8);
      at = due;
    }
    expect(at).toBeGreaterThanOrEqual((sent - 1) * (TIMING.promiseMs / 8));
  });

  it('a follower\'s figure must be a bounded duration', () => {
    for (const ok of [undefined, 0, 1.5, FRESH_IN_MS_MAX]) expect(isFreshInMsField(ok)).toBe(true);
    for (const bad of [-1, Number.NaN, Infinity, FRESH_IN_MS_MAX + 1, '5', null]) expect(isFreshInMsField(bad)).toBe(false);
  });
});

describe('Raft with the lease: a new leader takes it within a round trip of the old promises ending', () => {
  it('sends a round at the moment its followers said, and holds the lease once they answer it', () => {
    const config = { ...CONFIG, checkQuorum: true, preVote: false };
    const leader = new RaftNode({ id: 'n2', members: ['n1', 'n2', 'n3'], config, random: createRandom(1), durable: null, now: 0 });
    leader.ready();
    leader.tick(config.electionTimeoutMaxMs + 1);
    const term = leader.status().term;
    leader.ready();
    leader.step({ kind: 'RequestVoteResp', from: 'n1', to: 'n2', term, granted: true } as never, 310);
    expect(leader.status().role).toBe('leader');
    const first = leader.ready();
    const round = (first.messages.find((m) => m.kind === 'Heartbeat') as unknown as { round: number }).round;
    // n1 still keeps a promise to the old leader for 20 ms; n3 is silent.
    leader.step({ kind: 'HeartbeatResp', from: 'n1', to: 'n2', term, round, fresh: false, freshInMs: 20 } as never, 312);
    expect(leader.leaseExpiresAt(312)).toBeNull();
    const wake = leader.ready().wakeAt;
    expect(wake).toBeGreaterThan(312 + 20);
    expect(wake).toBeLessThan(310 + config.heartbeatMs);
    leader.tick(wake);
    const early = leader.ready().messages.filter((m) => m.kind === 'Heartbeat');
    expect(early.map((m) => m.to).sort()).toEqual(['n1', 'n3']);
    const earlyRound = (early[0] as unknown as { round: number }).round;
    expect(earlyRound).toBe(round + 1);
    leader.step({ kind: 'HeartbeatResp', from: 'n1', to: 'n2', term, round: earlyRound, fresh: true } as never, wake + 1);
    expect(leader.leaseExpiresAt(wake + 1)).toBe(wake + leaseTiming(config).leaseMs);
    // The heartbeat schedule restarts from the early round.
    expect(leader.ready().wakeAt).toBeLessThanOrEqual(wake + config.heartbeatMs);
  });
});

describe('the simulator\'s drifting clocks', () => {
  it('run off by the drift at every instant, stay within drift × period of true time, and map back exactly', () => {
    for (const [drift, phase] of [[0.01, 0], [-0.01, 700], [0.1, 1900], [-0.3, 123]] as const) {
      const base = new VirtualClock();
      const clock = new DriftingClock(base, drift, 1000, phase);
      const start = clock.now();
      const baseStart = base.now();
      let previous = start;
      let previousBase = baseStart;
      let offByDrift = 0;
      for (let step = 1; step <= 600; step += 1) {
        base.runUntil(previousBase + 10);
        const reading = clock.now();
        const rate = (reading - previous) / 10;
        expect(Math.abs(rate - 1)).toBeLessThanOrEqual(Math.abs(drift) + 1e-9);
        if (Math.abs(Math.abs(rate - 1) - Math.abs(drift)) < 1e-6) offByDrift += 1;
        // Off true time by at most a period's drift (the cycle may start anywhere in a half).
        expect(Math.abs(reading - start - (base.now() - baseStart))).toBeLessThanOrEqual(Math.abs(drift) * 1000 + 1e-6);
        expect(clock.baseTimeAt(reading)).toBeCloseTo(base.now(), 6);
        previous = reading;
        previousBase = base.now();
      }
      // Every step but those across a turn from fast to slow.
      expect(offByDrift).toBeGreaterThanOrEqual(590);
    }
  });

  it('run at 1 ± the drift for good with no period, and fire timers never early', () => {
    const base = new VirtualClock();
    const clock = new DriftingClock(base, 0.05);
    const start = clock.now();
    base.runUntil(base.now() + 1000);
    expect(clock.now() - start).toBeCloseTo(1050, 6);
    const fired: number[] = [];
    const slewed = new DriftingClock(base, -0.2, 100, 50);
    for (const ahead of [1, 49.9, 50, 130.3, 777]) {
      const at = slewed.now() + ahead;
      slewed.setTimer(at, () => fired.push(slewed.now() - at));
    }
    base.runUntil(base.now() + 2000);
    expect(fired).toHaveLength(5);
    for (const late of fired) expect(late).toBeGreaterThanOrEqual(0);
    expect(() => new DriftingClock(base, 1)).toThrow(RangeError);
  });
});
