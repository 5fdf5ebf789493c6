/**
 * An etcd-backed agent's election (`conclave agent --backend etcd`): etcd's election recipe, as
 * its Go client (`concurrency.Election`) and `etcdctl elect` run it. Each candidate holds a lease
 * that the client keeps alive, and one key on it: NAME/<lease id in hex>, whose value names the
 * member. The key with the lowest create revision leads (Observe); that revision is the leader's
 * term and fencing token, since a later leader's key was created later. Resign revokes the lease,
 * which deletes the key, and the next in line leads at once; a crashed leader's key stays until
 * etcd expires its lease, up to the TTL after its last renewal.
 *
 * Not etcd3's own Campaign and observer: its Lease declares itself lost only 2 TTLs after the last
 * renewal (a leader cut off from etcd would go on leading while etcd elects another), and its
 * observer hides the leader key's revision. Here the agent renews its lease itself, one keep-alive
 * at a time, and a leader stops leading before etcd can have expired it: the TTL counted from when
 * it sent the last keep-alive etcd answered, less a margin.
 *
 * Everything read from etcd is checked before it is used; every failure is retried with backoff.
 */
import { randomInt } from 'node:crypto';
import { EtcdLeaseInvalidError, type Etcd3, type IKeyValue, type Lease, type Watcher } from 'etcd3';
import { z } from 'zod';
import { Backoff } from '../../shared/core/backoff.js';
import type { NodeStatus } from '../../shared/core/election.js';
import { createRandom, type Random } from '../../shared/core/random.js';
import type { EtcdBackendStatus } from '../../shared/protocol/agent-wire.js';
import { MEMBER_ID_PATTERN } from '../../shared/protocol/cluster-file.js';
import { hexId } from '../clients/etcd.js';
import type { Logger } from './log.js';

/** Calls to etcd that are not watches fail after this long. */
export const ETCD_CALL_TIMEOUT_MS = 2_000;
/** A keep-alive that failed is sent again after this long, while the lease may still be alive. */
export const KEEPALIVE_RETRY_MS = 250;
/**
 * Failed calls to etcd are retried after this long, doubling to the maximum, with full jitter
 * (backoff.ts): every agent calls the same etcd, so their retries are spread the most, and once it
 * is back they wait the least on average.
 */
export const ETCD_RETRY_MS_MIN = 250;
export const ETCD_RETRY_MS_MAX = 5_000;
/** A leader stops leading this share of the TTL before etcd could expire its lease (clock rates, scheduling). */
export const LEASE_MARGIN_SHARE = 0.1;
/** Resigning on the way out waits at most this long; the lease expires by itself otherwise. */
export const RESIGN_TIMEOUT_MS = 2_000;
/** A campaign value longer than this is not one of ours. */
export const CAMPAIGN_VALUE_BYTES_MAX = 1_024;

/** What a candidate's key holds: the member it campaigns for. */
export const campaignValueSchema = z.object({ id: z.string().regex(MEMBER_ID_PATTERN), address: z.string().max(300) }).strict();
export type CampaignValue = z.infer<typeof campaignValueSchema>;

/** etcd's revisions are int64 in decimal text; beyond 2^53 they are not ours to compare. */
const revisionSchema = z
  .string()
  .regex(/^[1-9]\d{0,15}$/)
  .transform(Number)
  .refine(Number.isSafeInteger);

export interface EtcdElectionOptions {
  client: Etcd3;
  election: string;
  /** This member, as its key's value says. */
  self: CampaignValue;
  /** Voting members campaign; the others only observe. */
  campaign: boolean;
  leaseTtlS: number;
  /** Every member's id and address (the cluster file's), to check what keys say. */
  members: ReadonlyMap<string, string>;
  endpoints: string[];
  /** In words, for the log and the status. */
  explain: (error: unknown) => string;
  log: Logger;
  /** Something the status depends on may have changed. */
  onChange: () => void;
  /** Draws the retries' jitter; one seeded from the OS when left out. */
  random?: Random;
}

interface LeaderKey {
  key: string;
  revision: number;
  /** The member it names, or null when it names none of ours (said once in the log). */
  memberId: string | null;
}

interface Session {
  lease: Lease;
  /** This member's key (known once the lease is granted) and its create revision (once it exists). */
  key: string | null;
  revision: number | null;
  /** The TTL asked for, then the one etcd granted. */
  ttlS: number;
  granted: boolean;
  /** performance.now() before which etcd cannot have expired the lease. */
  validUntil: number;
  end: (error: Error) => void;
}

class Stopped extends Error {}

/** What this side found wrong, already in words (not an error of the client's to explain). */
class ElectionError extends Error {}

const NOT_OURS = "etcd election leader is not one of this cluster file's agents";

export class EtcdElection {
  private readonly prefix: string;
  private session: Session | null = null;
  /** The leader key as last read; `current` says whether that read still stands (the watch is connected). */
  private leader: LeaderKey | null = null;
  private current = false;
  /** The revision etcd was at when `leader` was read, so that an older answer never replaces a newer one. */
  private readAt = 0;
  /** The last leader's revision: the term, kept while no leader is known. */
  private term = 0;
  private problems: { campaign: string | null; observe: string | null } = { campaign: null, observe: null };
  /** Keys already reported as naming no member, or naming this member from another agent. */
  private readonly reported = new Set<string>();
  private watcher: Watcher | null = null;
  /** Whether the watch is connected now (a read is current only while it is). */
  private watching = false;
  private endObservation: ((error: Error) => void) | null = null;
  private reading = false;
  private readAgain = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Retries waiting out their backoff: stopping wakes them. */
  private readonly sleepers = new Set<() => void>();
  private stepDownTimer: ReturnType<typeof setTimeout> | null = null;
  private wasLeading = false;
  private stopped = false;
  private readonly loops: Array<Promise<void>> = [];
  private readonly random: Random;

  constructor(private readonly options: EtcdElectionOptions) {
    this.prefix = `${options.election}/`;
    this.random = options.random ?? createRandom(randomInt(2 ** 32 - 1));
  }

  start(): void {
    this.loops.push(this.keep('observe', (established) => this.observe(established)));
    if (this.options.campaign) this.loops.push(this.keep('campaign', (established) => this.campaign(established)));
  }

  /** Whether this member leads now: its key is the oldest, and its lease cannot have expired yet. */
  leading(now = performance.now()): boolean {
    const session = this.session;
    return !this.stopped && session !== null && session.revision !== null && this.leader?.key === session.key && now < deadline(session);
  }

  /** How long this member may still claim to lead unless its lease is renewed (before etcd can expire it); null when it does not lead. */
  leaseRemainingMs(now = performance.now()): number | null {
    return this.leading(now) ? deadline(this.session!) - now : null;
  }

  status(): NodeStatus {
    const { id } = this.options.self;
    if (this.leading()) return { role: 'leader', term: this.leader!.revision, votedFor: null, leaderId: id };
    // A key naming this member that does not lead now (its lease is not vouched for, or it is a killed run's): nobody known leads.
    const known = this.current && this.leader !== null && this.leader.memberId !== id ? this.leader.memberId : null;
    return { role: 'follower', term: this.term, votedFor: null, leaderId: known };
  }

  describe(): EtcdBackendStatus {
    const session = this.session;
    return {
      kind: 'etcd',
      election: this.options.election,
      endpoints: this.options.endpoints,
      campaigning: this.options.campaign,
      leaseTtlS: session?.granted === true ? session.ttlS : null,
      key: session?.revision == null ? null : session.key,
      revision: session?.revision ?? null,
      leaderKey: this.current ? (this.leader?.key ?? null) : null,
      problem: this.problems.campaign ?? this.problems.observe,
    };
  }

  /**
   * Resigns and stops: revokes the lease, which deletes this member's key, so that the next in
   * line leads at once (if etcd cannot be reached, the key stays until its lease expires).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const wake of this.sleepers) wake();
    if (this.stepDownTimer !== null) clearTimeout(this.stepDownTimer);
    this.endObservation?.(new Stopped());
    const session = this.session;
    if (session !== null) {
      try {
        await withTimeout(session.lease.revoke(), RESIGN_TIMEOUT_MS, 'etcd did not answer the revoke in time');
        if (session.revision !== null) this.options.log.info({ key: session.key, revision: session.revision }, 'resigned: key deleted');
      } catch (error) {
        this.options.log.warn({ key: session.key, problem: this.options.explain(error) }, 'could not resign: the key stays until its lease expires');
      }
      session.end(new Stopped());
    }
    await Promise.all(this.loops);
  }

  // ---- Retries ----

  /** Runs `task` again and again until stopped, with backoff after failures (reset once a run got going). */
  private async keep(what: 'campaign' | 'observe', task: (established: () => void) => Promise<void>): Promise<void> {
    const backoff = new Backoff({ delayMsMin: ETCD_RETRY_MS_MIN, delayMsMax: ETCD_RETRY_MS_MAX, jitter: 'full' }, this.random.fork(what));
    while (!this.stopped) {
      let problem = 'ended';
      try {
        await task(() => {
          backoff.reset();
          this.setProblem(what, null);
        });
      } catch (error) {
        if (this.stopped || error instanceof Stopped) return;
        problem = this.words(error);
      }
      const retryInMs = Math.round(backoff.next());
      this.setProblem(what, problem);
      this.options.log.warn({ problem, retryInMs }, what === 'campaign' ? 'etcd campaign failed: retrying' : 'etcd observation failed: retrying');
      await this.sleep(retryInMs);
    }
  }

  private words(error: unknown): string {
    return error instanceof ElectionError ? error.message : this.options.explain(error);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private setProblem(what: 'campaign' | 'observe', problem: string | null): void {
    if (this.problems[what] === problem) return;
    this.problems[what] = problem;
    this.changed();
  }

  // ---- Campaign ----

  /** One session: a lease, this member's key on it, until the lease is lost (rejects) or the election stops. */
  private async campaign(established: () => void): Promise<void> {
    const { client, leaseTtlS, log } = this.options;
    const askedAt = performance.now();
    // Kept alive here, one request at a time, so that each renewal is known by when it was sent.
    const lease = client.lease(leaseTtlS, { autoKeepAlive: false });
    let end!: (error: Error) => void;
    const ended = new Promise<never>((_resolve, reject) => (end = reject));
    ended.catch(() => undefined);
    // etcd grants at least the TTL asked for, counted from when the grant arrives.
    const session: Session = { lease, key: null, revision: null, ttlS: leaseTtlS, granted: false, validUntil: askedAt + leaseTtlS * 1_000, end };
    this.session = session;
    lease.on('lost', (error: Error) => end(error));
    try {
      const leaseId = await Promise.race([lease.grant(), ended]);
      const key = `${this.prefix}${hexId(leaseId)}`;
      // Known before the key exists, so that a read that sees it first knows it for ours.
      session.key = key;
      this.keepAlive(session).catch(end);
      const value = JSON.stringify(this.options.self);
      const answer = await Promise.race([client.if(key, 'Create', '==', 0).then(client.put(key).value(value).lease(leaseId)).else(client.get(key)).commit(), ended]);
      const created = answer.succeeded ? answer.header.revision : answer.responses[0]?.response_range?.kvs[0]?.create_revision;
      const revision = revisionSchema.safeParse(created);
      if (!revision.success) throw new ElectionError(`etcd answered the campaign for ${key} without a valid revision`);
      session.revision = revision.data;
      log.info({ key, revision: revision.data, leaseTtlS: session.ttlS }, 'campaigning');
      established();
      this.changed();
      // Our key may already be the oldest: the watch says so, and this makes sure of it.
      this.readSoon();
      await ended;
    } finally {
      if (this.session === session) this.session = null;
      // A key left in line would lead with nobody behind it: revoke it (it expires by itself if etcd is out of reach).
      if (!this.stopped) lease.revoke().catch(() => undefined);
      this.changed();
    }
  }

  /**
   * Renews the session's lease every third of its TTL, as etcd's Go client does; rejects when etcd
   * says the lease is gone, or when it could not be renewed before it may have expired.
   */
  private async keepAlive(session: Session): Promise<void> {
    const { log, explain } = this.options;
    let failing = false;
    while (!this.stopped && this.session === session) {
      const sentAt = performance.now();
      let answer: { TTL: string };
      try {
        answer = await session.lease.keepaliveOnce({ deadline: Date.now() + ETCD_CALL_TIMEOUT_MS });
      } catch (error) {
        if (error instanceof EtcdLeaseInvalidError) throw error;
        if (performance.now() >= session.validUntil) throw new ElectionError(`the lease of ${session.key} may have expired: it could not be renewed for ${session.ttlS} s (${explain(error)})`, { cause: error });
        // Said once, until a renewal gets through.
        if (!failing) log.warn({ key: session.key, problem: explain(error) }, 'etcd lease keep-alive failed: retrying');
        failing = true;
        await this.sleep(KEEPALIVE_RETRY_MS);
        continue;
      }
      // An answer etcd would never give is no network trouble to retry: the session ends, with the reason.
      const ttlS = Number(answer.TTL);
      if (!Number.isSafeInteger(ttlS) || ttlS < 1) throw new ElectionError(`etcd answered a keep-alive of ${session.key} with a TTL of "${String(answer.TTL).slice(0, 20)}"`);
      if (failing) log.info({ key: session.key }, 'etcd lease renewed again');
      failing = false;
      if (!session.granted && ttlS !== session.ttlS) log.info({ askedS: session.ttlS, grantedS: ttlS }, 'etcd granted a longer lease than asked (its minimum)');
      session.granted = true;
      session.ttlS = ttlS;
      // etcd renewed the lease when the request arrived, after it was sent.
      session.validUntil = Math.max(session.validUntil, sentAt + ttlS * 1_000);
      this.changed();
      await this.sleep((ttlS * 1_000) / 3);
    }
  }

  // ---- Observe ----

  /**
   * Watches the election's keys and reads the oldest one each time the watch (re)connects and
   * after every change, until the watch fails for good. A read made once the watch is in place
   * misses nothing: whatever changes after it makes another read.
   */
  private async observe(established: () => void): Promise<void> {
    const watcher = this.options.client.watch().prefix(this.prefix).watcher();
    this.watcher = watcher;
    try {
      await new Promise<void>((_resolve, reject) => {
        this.endObservation = reject;
        watcher.on('connected', () => {
          this.watching = true;
          established();
          this.readSoon();
        });
        watcher.on('data', () => this.readSoon());
        // Our key gone while the session lives (deleted by hand, or its lease expired): campaign again with a new one.
        watcher.on('delete', (kv: IKeyValue) => {
          const session = this.session;
          if (session?.revision != null && kv.key.toString('utf8') === session.key && !this.stopped) session.end(new ElectionError(`this member's key ${session.key} was deleted`));
        });
        // The client reconnects by itself, with backoff.
        watcher.on('disconnected', (error: Error) => {
          const problem = this.options.explain(error);
          // Said when a working watch breaks, and when there was no word yet; not on every attempt.
          if (this.watching || this.problems.observe === null) this.options.log.warn({ problem }, 'etcd watch disconnected: reconnecting');
          this.watching = false;
          this.current = false;
          this.setProblem('observe', problem);
          this.changed();
        });
        watcher.on('error', reject);
      });
    } finally {
      this.endObservation = null;
      this.watcher = null;
      this.watching = false;
      this.current = false;
      // Not waited for: a frozen etcd would never confirm it (closing the client ends it anyway).
      watcher.cancel().catch(() => undefined);
      this.changed();
    }
  }

  /** Reads the oldest key again (one read at a time; changes meanwhile make one more). */
  private readSoon(): void {
    if (this.stopped || this.watcher === null) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    this.read()
      .catch((error: unknown) => {
        this.current = false;
        this.setProblem('observe', this.words(error));
        this.changed();
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.readSoon();
        }, ETCD_RETRY_MS_MAX);
        this.timers.add(timer);
      })
      .finally(() => {
        this.reading = false;
        if (this.readAgain) {
          this.readAgain = false;
          this.readSoon();
        }
      });
  }

  /** Reads the oldest key under the election's prefix (a linearizable read). */
  private async read(): Promise<void> {
    const answer = await this.options.client.getAll().prefix(this.prefix).sort('Create', 'Ascend').limit(1).exec();
    const at = revisionSchema.safeParse(answer.header.revision);
    if (!at.success) throw new ElectionError('etcd answered a read without a valid revision');
    if (at.data < this.readAt || this.stopped) return;
    this.readAt = at.data;
    const kv = answer.kvs[0];
    this.leader = kv === undefined ? null : this.leaderOf(kv);
    if (this.leader !== null) this.term = this.leader.revision;
    this.current = this.watching;
    if (this.current) this.setProblem('observe', null);
    this.changed();
  }

  private leaderOf(kv: IKeyValue): LeaderKey | null {
    const key = kv.key.toString('utf8').slice(0, 300);
    const revision = revisionSchema.safeParse(kv.create_revision);
    if (!key.startsWith(this.prefix) || !revision.success) {
      this.report(key, `etcd returned a key outside the election or without a valid revision (${key})`, NOT_OURS);
      return null;
    }
    const named = this.memberNamed(kv.value);
    const self = this.options.self.id;
    if (typeof named !== 'string') {
      this.report(key, `the election's leader key ${key} ${named.problem}`, NOT_OURS);
      return { key, revision: revision.data, memberId: null };
    }
    if (named === self && key !== this.session?.key && this.options.campaign) {
      const problem = `${key} names ${self} but is not this run's key: a killed run's key stays until its lease expires (up to the TTL); if it stays longer, another agent runs as ${self}`;
      this.report(key, problem, 'another key of this member leads');
    }
    return { key, revision: revision.data, memberId: named };
  }

  /** The member a key's value names, checked against the cluster file, or what is wrong with it. */
  private memberNamed(value: Buffer): string | { problem: string } {
    if (value.length > CAMPAIGN_VALUE_BYTES_MAX) return { problem: `holds ${value.length} bytes, more than a Conclave agent's ${CAMPAIGN_VALUE_BYTES_MAX}` };
    let document: unknown;
    try {
      document = JSON.parse(value.toString('utf8'));
    } catch {
      return { problem: `holds "${value.toString('utf8').slice(0, 60)}", not a Conclave agent's JSON (another program campaigns in this election?)` };
    }
    const parsed = campaignValueSchema.safeParse(document);
    if (!parsed.success) return { problem: `is not a Conclave agent's: ${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
    const { id, address } = parsed.data;
    const listed = this.options.members.get(id);
    if (listed === undefined) return { problem: `names "${id}", which is not a member in this agent's cluster file` };
    if (listed !== address) return { problem: `names ${id} at ${address}, but this agent's cluster file has ${listed} (another cluster file?)` };
    return id;
  }

  /** Says once per key what is wrong with it. */
  private report(key: string, problem: string, msg: string): void {
    if (this.reported.has(key)) return;
    if (this.reported.size >= 1_000) this.reported.clear();
    this.reported.add(key);
    this.options.log.warn({ key, problem }, msg);
  }

  // ---- Changes ----

  /** Tells the agent to look again, and wakes it when a leader's lease would run out without a renewal. */
  private changed(): void {
    const leading = this.leading();
    if (this.wasLeading && !leading && this.session !== null && this.leader?.key === this.session.key && !this.stopped) {
      this.options.log.warn({ key: this.session.key, ttlS: this.session.ttlS }, 'lease not renewed in time: stopped leading');
    }
    this.wasLeading = leading;
    if (this.stepDownTimer !== null) clearTimeout(this.stepDownTimer);
    this.stepDownTimer = null;
    if (leading) {
      this.stepDownTimer = setTimeout(() => {
        this.stepDownTimer = null;
        this.changed();
      }, Math.max(0, deadline(this.session!) - performance.now()) + 1);
    }
    this.options.onChange();
  }
}

/** When a leader must stop leading unless its lease is renewed: before etcd can expire it. */
function deadline(session: Session): number {
  return session.validUntil - session.ttlS * 1_000 * LEASE_MARGIN_SHARE;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([promise, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}
