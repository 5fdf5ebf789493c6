/**
 * One etcd member as a console watches it: its client, what it last said and when, whether it
 * answers, and the poll that asks it every STATUS_POLL_INTERVAL_MS, at most one request in flight,
 * backing off (seeded jitter) while it does not answer. What its answers mean for the run is the
 * adapter's (cluster.ts): the member only says when one came, and when it stopped answering.
 */
import type { Etcd3, IStatusResponse } from 'etcd3';
import { Backoff } from '../../../shared/core/backoff.js';
import type { Random } from '../../../shared/core/random.js';
import { explainEtcdError, hexId, memberClient, within, type EtcdAccess } from '../../clients/etcd.js';
import type { EtcdMemberInfo } from './members.js';

/** How often each member's status is asked for: a leader change shows within about this, plus a round trip. */
export const STATUS_POLL_INTERVAL_MS = 20;
/** A status request without an answer by then has failed. */
export const STATUS_TIMEOUT_MS = 400;
/** A member is shown unreachable after this many failed requests in a row (at once when its port refuses). */
export const UNREACHABLE_AFTER_FAILURES = 2;
/** Retries of a member that does not answer back off from this to that. */
export const RETRY_MS_MIN = 50;
export const RETRY_MS_MAX = 1_000;

export interface MemberEvents {
  /** It answered: `cameBack` when it had been unreachable, `learned` when its member id was new. */
  answered(member: PolledMember, status: IStatusResponse, change: { cameBack: boolean; learned: boolean }): void;
  /** It stopped answering (UNREACHABLE_AFTER_FAILURES failures in a row, or its port refused). */
  lost(member: PolledMember): void;
}

export class PolledMember {
  client: Etcd3 | null;
  status: IStatusResponse | null = null;
  /** When the last status came (epoch ms), and how long it took. */
  statusAt: number | null = null;
  roundTripMs: number | null = null;
  reachable = false;
  failures = 0;
  lastError: string | null = null;
  alarms: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private polling = false;
  private retired = false;
  private readonly retry: Backoff;

  constructor(
    readonly info: EtcdMemberInfo,
    private readonly access: EtcdAccess,
    random: Random,
    private readonly events: MemberEvents,
  ) {
    this.client = info.endpoint === null || info.withheld !== undefined ? null : memberClient(info.endpoint, access);
    this.retry = new Backoff({ delayMsMin: RETRY_MS_MIN, delayMsMax: RETRY_MS_MAX, jitter: 'equal' }, random);
  }

  get name(): string {
    return this.info.name;
  }

  /** No more polls; the client closes. */
  retire(): void {
    this.retired = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.client?.close();
    this.client = null;
  }

  /** Asks again at once (a member that was just started or resumed). */
  wake(): void {
    this.failures = 0;
    this.retry.reset();
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    void this.poll();
  }

  async poll(): Promise<void> {
    const client = this.client;
    if (client === null || this.polling || this.retired) {
      if (client === null) this.lastError = this.info.withheld ?? `${this.name} advertises no client URL (has it started?)`;
      return;
    }
    this.polling = true;
    const sentMs = performance.now();
    try {
      const status = await client.maintenance.status(within(STATUS_TIMEOUT_MS));
      this.polling = false;
      if (this.retired) return;
      this.roundTripMs = performance.now() - sentMs;
      this.received(status);
      this.schedule(Math.max(0, STATUS_POLL_INTERVAL_MS - this.roundTripMs));
    } catch (error) {
      this.polling = false;
      if (this.retired) return;
      this.failed(error);
      this.schedule(this.retry.next());
    }
  }

  private schedule(delayMs: number): void {
    if (this.retired) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll();
    }, delayMs);
  }

  private received(status: IStatusResponse): void {
    const memberId = status.header.member_id;
    if (this.info.memberId !== null && this.info.memberId !== memberId) {
      this.failed(new Error(`${this.info.endpoint} answers as another member (${hexId(memberId)}): is it a load balancer? Give each member's own URL`));
      return;
    }
    const learned = this.info.memberId === null;
    this.info.memberId = memberId;
    this.status = status;
    this.statusAt = Date.now();
    this.failures = 0;
    this.retry.reset();
    this.lastError = null;
    const cameBack = !this.reachable;
    this.reachable = true;
    this.events.answered(this, status, { cameBack, learned });
  }

  private failed(error: unknown): void {
    const problem = explainEtcdError(error, this.info.endpoint ?? this.name, this.access);
    this.failures += 1;
    this.lastError = problem.message;
    const lost = this.failures >= UNREACHABLE_AFTER_FAILURES || problem.kind === 'unreachable';
    if (!lost || !this.reachable) return;
    this.reachable = false;
    this.events.lost(this);
  }
}
