/**
 * An agent drives one election state machine: it feeds it time and messages, persists the
 * durable state it hands out *before* sending the messages that depend on it, and keeps a
 * single timer armed for the machine's next deadline. Embedded agents keep their durable
 * state in memory (a crash keeps it, as a disk would); LAN agents write it to a file.
 */
import { createElectionNode } from '../../shared/algorithms.js';
import type { ActionResult, AlgorithmName, DurableState, ElectionConfig, ElectionNode, Message, NodeStatus } from '../../shared/core/election.js';
import type { Random } from '../../shared/core/random.js';
import type { Clock, TimerHandle } from './clock.js';

export interface DurableStorage {
  load(): DurableState | null;
  /** Must not return before the state is durable. */
  save(state: DurableState): void;
}

export class MemoryStorage implements DurableStorage {
  private state: DurableState | null = null;
  load(): DurableState | null {
    return this.state === null ? null : { ...this.state };
  }
  save(state: DurableState): void {
    this.state = { ...state };
  }
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
  algorithm: AlgorithmName;
  config: ElectionConfig;
  clock: Clock;
  /** Each boot draws a fresh stream from this one, so restarts do not repeat timeouts. */
  random: Random;
  storage: DurableStorage;
  send: (message: Message) => void;
  /** Called after every step or tick that may have changed the status. */
  onUpdate: (agent: Agent, previous: NodeStatus | null) => void;
  /** Called after durable state was saved. */
  onPersist?: (agent: Agent, state: DurableState) => void;
}

export class Agent {
  readonly id: string;
  private readonly options: AgentOptions;
  private machine: ElectionNode | null = null;
  private wakeTimer: TimerHandle | null = null;
  private boots = 0;
  private paused = false;
  private inbox: Message[] = [];

  constructor(options: AgentOptions) {
    this.id = options.id;
    this.options = options;
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

  inspect(): Record<string, unknown> | null {
    return this.machine?.inspect(this.options.clock.now()) ?? null;
  }

  /** Boots the machine from persisted state. */
  start(): void {
    if (this.machine !== null) return;
    const { id, members, algorithm, config, clock, random, storage } = this.options;
    this.boots += 1;
    this.machine = createElectionNode(algorithm, {
      id,
      members,
      config,
      random: random.fork(`boot-${this.boots}`),
      durable: storage.load(),
      now: clock.now(),
    });
    this.flush(null);
  }

  /** Crash: volatile state is lost, persisted state is kept, nothing more is sent. */
  crash(): void {
    if (this.machine === null) return;
    this.machine = null;
    this.paused = false;
    this.inbox = [];
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
    const waiting = this.inbox;
    this.inbox = [];
    for (const message of waiting) this.receive(message);
    this.tick();
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

  receive(message: Message): void {
    const machine = this.machine;
    if (machine === null) return;
    if (this.paused) {
      this.inbox.push(message);
      if (this.inbox.length > PAUSED_INBOX_LIMIT) this.inbox.shift();
      return;
    }
    const previous = machine.status();
    machine.step(message, this.options.clock.now());
    this.flush(previous);
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
    if (ready.persist !== null) {
      this.options.storage.save(ready.persist);
      this.options.onPersist?.(this, ready.persist);
    }
    for (const message of ready.messages) this.options.send(message);
    this.scheduleWake(ready.wakeAt);
    this.options.onUpdate(this, previous);
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
