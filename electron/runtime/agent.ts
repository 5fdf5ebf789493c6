/**
 * An agent drives one election state machine: it feeds it time and messages, persists the
 * durable state it hands out *before* sending the messages that depend on it, and keeps a
 * single timer armed for the machine's next deadline. Writes may take time (a file, a
 * simulated disk): messages wait behind every write that started before them, in order, and
 * the machine hears that a state is durable only when the storage says so. A failed write is
 * retried with backoff while everything behind it waits; nothing leaves on an unsaved vote.
 * While a write is in flight, what comes behind it is coalesced: term, vote and promise only
 * grow, so of the states handed out meanwhile only the newest is written next (and a retry writes
 * the newest state), and at most WAITING_MESSAGES_MAX messages wait, the oldest dropped beyond
 * (the algorithms tolerate loss), so a disk that keeps failing costs bounded memory and no burst
 * of stale replies.
 * Embedded agents keep their durable state in memory (a crash keeps it, as a disk would);
 * LAN agents write it to a file; the simulator's disk takes time and loses writes in flight.
 */
import { createElectionNode } from '../../shared/algorithms.js';
import { Backoff } from '../../shared/core/backoff.js';
import type {
  ActionResult,
  AlgorithmName,
  DurableState,
  ElectionConfig,
  ElectionNode,
  Message,
  NodeOptions,
  NodeStatus,
  Notice,
} from '../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, type Capabilities, type LeadershipConfig } from '../../shared/core/leadership.js';
import type { Random } from '../../shared/core/random.js';
import { TermGuard, type TermRefusal } from '../../shared/core/term-guard.js';
import type { Clock, TimerHandle } from './clock.js';

export interface DurableStorage {
  load(): DurableState | null;
  /**
   * Starts writing `state` and calls `done` once it is durable, or with the error; `done` may
   * be called before save returns. Writes are never overlapped by the agent.
   */
  save(state: DurableState, done: (error: Error | null) => void): void;
  /** The node crashed: a storage that models power loss drops its writes in flight. */
  crashed?(): void;
}

export class MemoryStorage implements DurableStorage {
  private state: DurableState | null = null;
  load(): DurableState | null {
    return this.state === null ? null : { ...this.state };
  }
  save(state: DurableState, done: (error: Error | null) => void): void {
    this.state = { ...state };
    done(null);
  }
}

/** A failed write is retried after this long, doubling up to the cap, with equal jitter (backoff.ts): nobody else contends for this node's disk. */
export const WRITE_RETRY_MS_MIN = 10;
export const WRITE_RETRY_MS_MAX = 1_000;

/** Messages waiting behind a durable write, at most; beyond, the oldest are dropped. */
export const WAITING_MESSAGES_MAX = 1_000;

/** Output of one step or tick: the state to persist first (if any), then the messages. */
export interface Batch {
  state: DurableState | null;
  /** The node's status when the state was handed out: what the state means. */
  status: NodeStatus;
  messages: Message[];
}

export type AgentState = 'up' | 'paused' | 'down';

/**
 * A paused node's inbox: messages wait here, as in a stopped process's socket buffers, and
 * are delivered on resume. Past this many, the oldest are dropped (the buffer overflowed).
 */
export const PAUSED_INBOX_LIMIT = 10_000;

export interface AgentOptions {
  id: string;
  members: readonly string[];
  /** The members that vote and may lead (NodeOptions.voters); every member when left out. */
  voters?: readonly string[];
  algorithm: AlgorithmName;
  config: ElectionConfig;
  /** Every member's priority and the leadership rules at the first boot (the defaults when left out). */
  leadership?: LeadershipConfig;
  /** What this node advertises about itself at the first boot. */
  capabilities?: Capabilities;
  clock: Clock;
  /** Each boot draws a fresh stream from this one, so restarts do not repeat timeouts. */
  random: Random;
  storage: DurableStorage;
  /** Builds the state machine; the algorithm registry's by default (the mutation suite swaps in broken ones). */
  createMachine?: (options: NodeOptions) => ElectionNode;
  /** How far any member's clock may drift (the leader lease's margin); the default when left out. */
  clockDriftMax?: number;
  send: (message: Message) => void;
  /** Called after every step or tick that may have changed the status. */
  onUpdate: (agent: Agent, previous: NodeStatus | null) => void;
  /** Called once a state is durable, with the status it was handed out with. */
  onPersisted?: (agent: Agent, state: DurableState, status: NodeStatus) => void;
  /** Called for each failed write (it is retried). */
  onWriteError?: (agent: Agent, error: Error) => void;
  /** Called for what the machine decided on its own (a transfer it started, with why). */
  onNotice?: (agent: Agent, notice: Notice) => void;
  /** Called for a message refused, not stepped, because its term is implausibly far ahead (term-guard.ts). */
  onTermRefused?: (agent: Agent, message: Message, refusal: TermRefusal) => void;
}

export class Agent {
  readonly id: string;
  private readonly options: AgentOptions;
  private machine: ElectionNode | null = null;
  private readonly guard: TermGuard;
  private wakeTimer: TimerHandle | null = null;
  private boots = 0;
  private paused = false;
  private inbox: Message[] = [];
  /**
   * Batches waiting for a write, at most three: the first one's write is in flight (or failed and
   * is retried); then, if any, the messages handed out since that need no newer state, then the
   * newest state handed out since with every message after the first such state.
   */
  private waiting: Batch[] = [];
  private readonly writeBackoff: Backoff;
  private retryTimer: TimerHandle | null = null;
  private writeDoneWhilePaused: (() => void) | null = null;
  /** The latest priorities and capabilities: what the machine boots with, and what it is told while running. */
  private leadership: LeadershipConfig;
  private capabilities: Capabilities;
  /** They changed while the node was paused. */
  private retellOnResume = false;

  constructor(options: AgentOptions) {
    this.id = options.id;
    this.options = options;
    this.leadership = options.leadership ?? DEFAULT_LEADERSHIP;
    this.capabilities = options.capabilities ?? {};
    this.guard = new TermGuard(options.id, options.voters ?? options.members, options.algorithm, options.members.length);
    // A stream of its own: the machine's draws, and so a simulated seed's run, stay as they were.
    this.writeBackoff = new Backoff({ delayMsMin: WRITE_RETRY_MS_MIN, delayMsMax: WRITE_RETRY_MS_MAX, jitter: 'equal' }, options.random.fork('backoff'));
  }

  get state(): AgentState {
    if (this.machine === null) return 'down';
    return this.paused ? 'paused' : 'up';
  }

  /** Messages waiting for a paused node. */
  get inboxSize(): number {
    return this.inbox.length;
  }

  /** The live status, or null while down. */
  status(): NodeStatus | null {
    return this.machine?.status() ?? null;
  }

  durable(): DurableState | null {
    return this.options.storage.load();
  }

  electionTimer(): { startedAt: number; dueAt: number } | null {
    return this.machine === null || this.paused ? null : this.machine.electionTimer();
  }

  /** When the leader lease this node holds ends (its clock), or null while it holds none (or is down). */
  leaseExpiresAt(): number | null {
    return this.machine?.leaseExpiresAt(this.options.clock.now()) ?? null;
  }

  inspect(): Record<string, unknown> | null {
    return this.machine?.inspect(this.options.clock.now()) ?? null;
  }

  /** Boots the machine from persisted state. */
  start(): void {
    if (this.machine !== null) return;
    const { id, members, voters, algorithm, config, clock, random, storage, createMachine, clockDriftMax } = this.options;
    this.boots += 1;
    const options: NodeOptions = {
      id,
      members,
      ...(voters === undefined ? {} : { voters }),
      ...(clockDriftMax === undefined ? {} : { clockDriftMax }),
      config,
      leadership: this.leadership,
      capabilities: this.capabilities,
      random: random.fork(`boot-${this.boots}`),
      durable: storage.load(),
      now: clock.now(),
    };
    this.machine = createMachine?.(options) ?? createElectionNode(algorithm, options);
    this.flush(null);
  }

  /** Crash: volatile state is lost, a write in flight may or may not land, nothing more is sent. */
  crash(): void {
    if (this.machine === null) return;
    this.machine = null;
    this.paused = false;
    this.inbox = [];
    this.waiting = [];
    this.writeBackoff.reset();
    this.writeDoneWhilePaused = null;
    this.retellOnResume = false;
    if (this.retryTimer !== null) this.options.clock.clearTimer(this.retryTimer);
    this.retryTimer = null;
    this.options.storage.crashed?.();
    this.cancelWake();
  }

  /** Freeze (SIGSTOP): no ticks, no processing; messages wait in the inbox. */
  pause(): void {
    if (this.machine === null || this.paused) return;
    this.paused = true;
    this.cancelWake();
  }

  /** Thaw (SIGCONT): the waiting messages are processed in order, then overdue timers fire. */
  resume(): void {
    if (this.machine === null || !this.paused) return;
    this.paused = false;
    const writeDone = this.writeDoneWhilePaused;
    this.writeDoneWhilePaused = null;
    writeDone?.();
    if (this.retellOnResume) {
      this.retellOnResume = false;
      this.setLeadership(this.leadership);
      this.setCapabilities(this.capabilities);
    }
    const waiting = this.inbox;
    this.inbox = [];
    for (const message of waiting) this.receive(message);
    this.tick();
  }

  /** A peer's connection closed without a goodbye: the machine may act on it as on a timeout. */
  hint(peer: string): void {
    const machine = this.machine;
    if (machine === null || this.paused) return;
    const previous = machine.status();
    machine.hint({ kind: 'peer-down', peer }, this.options.clock.now());
    this.flush(previous);
  }

  /** Asks the machine to hand leadership to `target`. */
  transferLeadership(target: string): ActionResult {
    const machine = this.machine;
    if (machine === null) return { ok: false, error: `${this.id} is down` };
    const previous = machine.status();
    const result = machine.transferLeadership(target, this.options.clock.now());
    this.flush(previous);
    return result;
  }

  /**
   * New priorities or leadership rules (every node gets the same table). A paused node learns
   * them when it resumes, as a frozen process reads its configuration when it runs again.
   */
  setLeadership(leadership: LeadershipConfig): void {
    this.leadership = leadership;
    this.tellMachine((machine, now) => machine.setLeadership(leadership, now));
  }

  /** What this node advertises about itself changed. */
  setCapabilities(capabilities: Capabilities): void {
    this.capabilities = capabilities;
    this.tellMachine((machine, now) => machine.setCapabilities(capabilities, now));
  }

  private tellMachine(tell: (machine: ElectionNode, now: number) => void): void {
    const machine = this.machine;
    if (machine === null) return;
    if (this.paused) {
      this.retellOnResume = true;
      return;
    }
    const previous = machine.status();
    tell(machine, this.options.clock.now());
    this.flush(previous);
  }

  receive(message: Message): void {
    const machine = this.machine;
    if (machine === null) return;
    if (this.paused) {
      this.inbox.push(message);
      if (this.inbox.length > PAUSED_INBOX_LIMIT) this.inbox.shift();
      return;
    }
    const previous = machine.status();
    const refusal = this.termRefusal(message, previous.term);
    if (refusal !== null) {
      this.options.onTermRefused?.(this, message, refusal);
      return;
    }
    machine.step(message, this.options.clock.now());
    this.flush(previous);
  }

  /** Why `message` is not stepped, its term being implausibly far ahead of `ownTerm` (term-guard.ts); null to step it. */
  protected termRefusal(message: Message, ownTerm: number): TermRefusal | null {
    return this.guard.check(message, ownTerm);
  }

  private tick(): void {
    const machine = this.machine;
    if (machine === null || this.paused) return;
    this.wakeTimer = null;
    const previous = machine.status();
    machine.tick(this.options.clock.now());
    this.flush(previous);
  }

  private flush(previous: NodeStatus | null): void {
    const machine = this.machine;
    if (machine === null) return;
    const ready = machine.ready();
    this.dispatch({ state: ready.persist, status: machine.status(), messages: ready.messages });
    this.scheduleWake(ready.wakeAt);
    for (const notice of ready.notices) this.options.onNotice?.(this, notice);
    this.options.onUpdate(this, previous);
  }

  /**
   * Sends a batch's messages once its state, and every state handed out before it, is durable.
   * Protected so that the mutation suite can break the order on purpose.
   */
  protected dispatch(batch: Batch): void {
    if (batch.state === null && this.waiting.length === 0) {
      for (const message of batch.messages) this.transmit(message);
    } else if (batch.state !== null || batch.messages.length > 0) {
      const last = this.waiting.at(-1);
      if (last === undefined || this.waiting.length === 1 || (last.state === null && batch.state !== null)) this.waiting.push({ ...batch, messages: [...batch.messages] });
      else coalesce(last, batch);
      this.capWaitingMessages();
      if (this.waiting.length === 1) this.write(this.boots);
    }
  }

  /** Drops the oldest waiting messages beyond WAITING_MESSAGES_MAX. */
  private capWaitingMessages(): void {
    let excess = this.waiting.reduce((count, batch) => count + batch.messages.length, 0) - WAITING_MESSAGES_MAX;
    for (const batch of this.waiting) {
      if (excess <= 0) return;
      const dropped = Math.min(excess, batch.messages.length);
      batch.messages.splice(0, dropped);
      excess -= dropped;
    }
  }

  protected transmit(message: Message): void {
    this.options.send(message);
  }

  /** Writes the first waiting batch's state; once durable, sends what waited behind it. */
  private write(boot: number): void {
    const batch = this.waiting[0];
    if (batch === undefined || batch.state === null) return;
    const state = batch.state;
    const status = batch.status;
    this.options.storage.save(state, (error) => {
      if (boot !== this.boots || this.machine === null || this.waiting[0] !== batch) return; // crashed meanwhile
      if (error !== null) {
        this.options.onWriteError?.(this, error);
        this.retryTimer = this.options.clock.setTimer(this.options.clock.now() + this.writeBackoff.next(), () => {
          this.retryTimer = null;
          if (boot !== this.boots) return;
          // Nothing of the failed write is durable: retry with the newest state, which covers it.
          for (const behind of this.waiting.splice(1)) coalesce(batch, behind);
          this.write(boot);
        });
        return;
      }
      this.writeBackoff.reset();
      const complete = (): void => {
        this.machine?.persisted(state);
        this.options.onPersisted?.(this, state, status);
        batch.state = null;
        this.release(boot);
      };
      // The disk finished, but a frozen process only notices when it runs again.
      if (this.paused) this.writeDoneWhilePaused = complete;
      else complete();
    });
  }

  /** Sends every batch up to the next one that needs a write, and starts that write. */
  private release(boot: number): void {
    while (this.waiting.length > 0 && this.waiting[0]!.state === null) {
      for (const message of this.waiting.shift()!.messages) this.transmit(message);
    }
    if (this.waiting.length > 0) this.write(boot);
  }

  private scheduleWake(at: number): void {
    if (this.wakeTimer !== null && this.wakeTimer.at === at && !this.wakeTimer.cancelled) return;
    this.cancelWake();
    if (Number.isFinite(at)) this.wakeTimer = this.options.clock.setTimer(at, () => this.tick());
  }

  private cancelWake(): void {
    if (this.wakeTimer !== null) this.options.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = null;
  }
}

/** Folds `later` into `into`: the newer state with the status it was handed out with, and its messages after the earlier ones. */
function coalesce(into: Batch, later: Batch): void {
  if (later.state !== null) {
    into.state = later.state;
    into.status = later.status;
  }
  into.messages.push(...later.messages);
}
