/**
 * The Bully algorithm (Garcia-Molina, "Elections in a Distributed Computing System", 1982) as a
 * pure state machine. Nodes are ranked by priority, then by their position in the member list
 * (with equal priorities n5 outranks n4): the same criteria as Raft's and Paxos' priorities.
 *
 * - A node that suspects the coordinator (no heartbeat within its election timeout), or that
 *   boots, holds an election: ELECTION to every higher-ranked node.
 * - A higher-ranked node that gets ELECTION answers ANSWER and holds its own election.
 * - A candidate that gets no ANSWER within the answer timeout wins and announces COORDINATOR
 *   to everyone; one that got an ANSWER waits for a COORDINATOR, and starts over if none comes.
 * - A node that hears a COORDINATOR or heartbeat from a lower-ranked node bullies it: it holds
 *   an election, which it wins.
 *
 * Members that do not vote, and priority-0 members, are not ranked: they follow whoever
 * coordinates and never hold an election (one whose coordinator falls silent forgets it, and
 * follows the next ranked coordinator it hears). A change of priorities takes effect at once: a node that
 * now outranks its coordinator holds an election (and wins); a coordinator whose priority became 0
 * steps down and sends ELECTION to the ranked nodes. The preferred-leader rule does not apply:
 * Bully's rank must be the same on every node, and measured values are not.
 *
 * Elections are numbered (kept durable so numbers only grow); the number is shown as the
 * "term". Bully has no votes and no quorum: on both sides of a partition the highest node
 * becomes coordinator, so two coordinators coexist until the partition heals. That split brain
 * is the algorithm's real behaviour, not a bug of this implementation.
 */
import {
  isTerm,
  TERM_MAX,
  type ActionResult,
  type DurableState,
  type ElectionConfig,
  type ElectionNode,
  type Hint,
  type Message,
  type NodeInspection,
  type NodeOptions,
  type NodeStatus,
  type Ready,
  type Role,
} from '../core/election.js';
import { DEFAULT_LEADERSHIP, type LeadershipConfig } from '../core/leadership.js';
import { contactAges } from '../core/contact-ages.js';
import { randomTimeoutMs } from '../core/election-timer.js';
import { Membership } from '../core/membership.js';
import type { Random } from '../core/random.js';

export type BullyMessage = Message & { kind: 'Election' | 'Answer' | 'Coordinator' | 'Heartbeat' };

export const BULLY_TRANSFER_REFUSAL =
  'Bully always makes the highest-ranked running node coordinator, so leadership cannot be handed to another node (change priorities to change the ranking)';

export const BULLY_MESSAGE_KINDS = ['Election', 'Answer', 'Coordinator', 'Heartbeat'] as const;

export function isBullyMessage(message: Message): message is BullyMessage {
  return (BULLY_MESSAGE_KINDS as readonly string[]).includes(message.kind);
}

export function readBullyDurable(durable: DurableState | null): { term: number } {
  const term = durable?.term;
  return { term: isTerm(term) ? term : 0 };
}

type Phase = 'idle' | 'awaiting-answer' | 'awaiting-coordinator';

export class BullyNode implements ElectionNode {
  readonly id: string;
  private readonly membership: Membership;
  /** The voters of priority above 0 in rank order (the last outranks all); an unranked node's rank is -1. */
  private ranked: readonly string[] = [];
  private rank = -1;
  private readonly config: ElectionConfig;
  private readonly random: Random;

  private term: number;
  /** The election number last handed to the runtime to persist, and the last one it confirmed. */
  private handedOutTerm: number;
  private confirmedTerm: number;
  private role: Role = 'follower';
  private leaderId: string | null = null;
  private phase: Phase = 'idle';
  /** Follower: when to suspect the coordinator. Candidate: when the current wait ends. */
  private deadline: number;
  private waitStartedAt: number;
  private heartbeatDeadline = Infinity;
  private readonly lastContact = new Map<string, number>();
  private outbox: BullyMessage[] = [];

  constructor(options: NodeOptions) {
    this.id = options.id;
    this.membership = new Membership(options.id, options.members, options.voters, (options.leadership ?? DEFAULT_LEADERSHIP).priorities);
    this.rerank();
    this.config = options.config;
    this.random = options.random;
    this.term = readBullyDurable(options.durable).term;
    this.handedOutTerm = this.term;
    this.confirmedTerm = this.term;
    // A recovering node holds an election at once: if it outranks the coordinator, it takes over.
    this.deadline = this.ranks ? options.now : Infinity;
    this.waitStartedAt = options.now;
  }

  /** How long a candidate waits for an ANSWER: a round trip with room to spare. */
  get answerTimeoutMs(): number {
    return 2 * this.config.heartbeatMs;
  }

  status(): NodeStatus {
    return { role: this.role, term: this.term, votedFor: null, leaderId: this.leaderId };
  }

  /** Bully has no majority to back a lease: each side of a partition has its coordinator (docs/lease.md). */
  leaseExpiresAt(): null {
    return null;
  }

  ready(): Ready {
    let persist: DurableState | null = null;
    if (this.term !== this.handedOutTerm) {
      persist = { term: this.term };
      this.handedOutTerm = this.term;
    }
    const messages = this.outbox;
    this.outbox = [];
    return { persist, messages, wakeAt: this.role === 'leader' ? this.heartbeatDeadline : this.deadline, notices: [] };
  }

  persisted(state: DurableState): void {
    this.confirmedTerm = readBullyDurable(state).term;
  }

  /** The coordinator's connection closed: hold the election now instead of waiting to suspect it. */
  hint(hint: Hint, now: number): void {
    if (hint.kind !== 'peer-down' || this.role !== 'follower' || hint.peer !== this.leaderId || !this.ranks) return;
    this.waitUntil(now, Math.min(this.deadline, now));
  }

  setLeadership(leadership: LeadershipConfig, now: number): void {
    const wasRanked = this.ranks;
    this.membership.setPriorities(leadership.priorities);
    this.rerank();
    if (!this.ranks) {
      if (this.role === 'leader') for (const peer of this.ranked) this.send('Election', peer); // the ranked nodes answer and take over
      if (this.role !== 'follower') this.leaderId = null;
      this.role = 'follower';
      this.phase = 'idle';
      this.heartbeatDeadline = Infinity;
      this.waitUntil(now, Infinity);
    } else if (!wasRanked || (this.role === 'follower' && this.leaderId !== null && this.rank > this.ranked.indexOf(this.leaderId))) {
      this.startElection(now); // now outranks its coordinator (or may stand at all): bullies it
    }
  }

  /** Bully ranks by priority only; the preferred-leader rule and capabilities do not apply. */
  setCapabilities(): void {}

  tick(now: number): void {
    if (this.role === 'leader') {
      if (now >= this.heartbeatDeadline) this.broadcastHeartbeat(now);
      return;
    }
    if (now < this.deadline) return;
    if (!this.ranks) this.forgetCoordinator(now);
    else if (this.phase === 'awaiting-answer') this.becomeCoordinator(now);
    else this.startElection(now);
  }

  step(input: Message, now: number): void {
    if (!isBullyMessage(input)) return;
    const message = input;
    if (message.to !== this.id || message.from === this.id || !this.membership.isMember(message.from) || !isTerm(message.term)) return;
    const senderRank = this.ranked.indexOf(message.from);
    this.lastContact.set(message.from, now);
    const stale = message.term < this.term;
    const newerElection = message.term > this.term;
    this.term = Math.max(this.term, message.term);

    switch (message.kind) {
      case 'Election':
        if (senderRank > this.rank || !this.ranks) break;
        this.send('Answer', message.from);
        if (this.role === 'leader') {
          if (!newerElection) this.send('Coordinator', message.from); // else the announcement below reaches it
        } else if (this.role !== 'candidate') {
          this.startElection(now);
        }
        break;
      case 'Answer':
        if (this.role === 'candidate' && this.phase === 'awaiting-answer') {
          this.phase = 'awaiting-coordinator';
          this.waitUntil(now, now + this.config.electionTimeoutMaxMs);
        }
        break;
      case 'Coordinator':
      case 'Heartbeat':
        // An unranked node holds no elections, so nobody would tell a coordinator it follows no
        // more that a later one came and went: it follows a higher-ranked coordinator than its
        // own even under an older election number.
        if (stale && (this.ranks || senderRank <= this.rankOf(this.leaderId))) break;
        if (senderRank > this.rank || !this.ranks) {
          this.followCoordinator(message.from, now);
        } else if (this.role === 'leader') {
          // A lower-ranked node claims to coordinate: bully it (the announcement below does if newer).
          if (!newerElection) this.send('Coordinator', message.from);
        } else if (this.role !== 'candidate') {
          this.startElection(now);
        }
        break;
    }
    // A coordinator that learns of a later election (held while it was away or cut off)
    // claims the coordinatorship again under a fresh number.
    if (newerElection && this.role === 'leader') {
      if (this.term < TERM_MAX) this.announce();
      else this.standDown(now);
    }
  }

  electionTimer(): { startedAt: number; dueAt: number } | null {
    return this.role === 'leader' || !this.ranks ? null : { startedAt: this.waitStartedAt, dueAt: this.deadline };
  }

  transferLeadership(): ActionResult {
    return { ok: false, error: BULLY_TRANSFER_REFUSAL };
  }

  inspect(now: number): NodeInspection {
    return {
      votes: this.membership.votes,
      priority: this.membership.priority(this.id),
      rank: this.ranks ? this.rank + 1 : null,
      phase: this.phase,
      outranks: this.ranked.slice(0, Math.max(0, this.rank)),
      answerTimeoutMs: this.answerTimeoutMs,
      waitEndsInMs: this.role === 'leader' ? null : Math.max(0, this.deadline - now),
      heartbeatDueInMs: this.role === 'leader' ? Math.max(0, this.heartbeatDeadline - now) : null,
      lastContactMsAgo: contactAges(this.lastContact, now),
      persisted: { term: this.confirmedTerm },
    };
  }

  private rankOf(id: string | null): number {
    return id === null ? -1 : this.ranked.indexOf(id);
  }

  /** Whether this node is ranked: it votes and its priority is above 0. */
  private get ranks(): boolean {
    return this.rank >= 0;
  }

  /** Ranks the voters of priority above 0: by priority, then member order (the last outranks all). */
  private rerank(): void {
    const order = (id: string): number => this.membership.members.indexOf(id);
    this.ranked = this.membership.members
      .filter((id) => this.membership.canLead(id))
      .sort((a, b) => this.membership.priority(a) - this.membership.priority(b) || order(a) - order(b));
    this.rank = this.ranked.indexOf(this.id);
  }

  private startElection(now: number): void {
    if (this.term >= TERM_MAX) {
      this.standDown(now);
      return;
    }
    this.role = 'candidate';
    this.leaderId = null;
    this.heartbeatDeadline = Infinity;
    const higher = this.ranked.slice(this.rank + 1);
    if (higher.length === 0) {
      this.becomeCoordinator(now);
      return;
    }
    for (const peer of higher) this.send('Election', peer);
    this.phase = 'awaiting-answer';
    this.waitUntil(now, now + this.answerTimeoutMs);
  }

  private becomeCoordinator(now: number): void {
    if (this.term >= TERM_MAX) {
      this.standDown(now);
      return;
    }
    this.role = 'leader';
    this.leaderId = this.id;
    this.phase = 'idle';
    this.announce();
    this.heartbeatDeadline = now + this.config.heartbeatMs;
  }

  /** COORDINATOR to everyone, under a new election number. */
  private announce(): void {
    this.term += 1;
    for (const peer of this.membership.peers) this.send('Coordinator', peer);
  }

  /** At TERM_MAX there is no next election number to announce under: the node waits as a follower of nobody. */
  private standDown(now: number): void {
    this.role = 'follower';
    this.phase = 'idle';
    this.leaderId = null;
    this.heartbeatDeadline = Infinity;
    this.waitUntil(now, this.membership.votes ? now + randomTimeoutMs(this.config, this.random) : Infinity);
  }

  private followCoordinator(coordinator: string, now: number): void {
    this.role = 'follower';
    this.phase = 'idle';
    this.leaderId = coordinator;
    this.heartbeatDeadline = Infinity;
    // An unranked node holds no election when its coordinator falls silent: it forgets it, so
    // that any ranked coordinator may have it follow (see the stale check in step).
    this.waitUntil(now, now + (this.ranks ? randomTimeoutMs(this.config, this.random) : this.config.electionTimeoutMaxMs));
  }

  private forgetCoordinator(now: number): void {
    this.leaderId = null;
    this.waitUntil(now, Infinity);
  }

  private waitUntil(now: number, deadline: number): void {
    this.waitStartedAt = now;
    this.deadline = deadline;
  }

  private broadcastHeartbeat(now: number): void {
    for (const peer of this.membership.peers) this.send('Heartbeat', peer);
    this.heartbeatDeadline = now + this.config.heartbeatMs;
  }

  private send(kind: BullyMessage['kind'], to: string): void {
    this.outbox.push({ kind, from: this.id, to, term: this.term });
  }
}
