/**
 * Consoles attached to an agent or a supervisor: each is an authenticated connection that sends
 * requests and gets answers, status, events and batches of sent messages. Everything a console
 * gets is bounded: a console that reads slowly gets fewer message batches and a count of what it
 * missed, and one that stops reading altogether is disconnected; the agent never waits for it.
 */
import { SENT_FRAME_MESSAGES_MAX, requestFrame, type PushFrame, type RefusalCode, type RequestOp } from '../../shared/protocol/agent-wire.js';
import type { WireConnection } from '../wire/connection.js';
import { FrameError } from '../wire/frames.js';
import type { Logger } from './log.js';
import { RateLimit, type SentMessage } from './peers.js';

/** At most this many consoles at once per agent (or supervisor). */
export const CONSOLES_MAX = 16;
/**
 * Sockets an agent's or a supervisor's port holds at once, in handshake or not: every other
 * member's inbound connection (at most 100), the consoles, the sockets in their handshake (at
 * most HANDSHAKES_MAX, so strangers never take a member's place), and room for replacements.
 */
export const WIRE_CONNECTIONS_MAX = 256;
/** Requests one console may send per second; beyond, they are answered with an error. */
export const CONSOLE_REQUESTS_PER_SECOND_MAX = 200;
/** Sent messages are batched this often. */
export const SENT_BATCH_INTERVAL_MS = 100;
/** Messages held for one console between batches; beyond, they are counted as missed. */
export const SENT_BATCH_MAX = 2_000;
/** A console with more unsent bytes than this gets no message batch (they are counted as missed). */
export const CONSOLE_BACKLOG_BYTES_SOFT = 256 * 1024;
/** A console with more unsent bytes than this is disconnected: it stopped reading. */
export const CONSOLE_BACKLOG_BYTES_HARD = 8 * 1024 * 1024;

/** A refusal that also carries a code the console acts on (a `renew` that lapsed or was replaced). */
export class CodedRefusal extends Error {
  constructor(
    message: string,
    readonly code: RefusalCode,
  ) {
    super(message);
    this.name = 'CodedRefusal';
  }
}

/** What a console may ask; the answer's value, or an Error whose message is the refusal in words. */
export type RequestHandler = (op: RequestOp, session: ConsoleSession) => unknown;

export class ConsoleSession {
  private pendingSent: SentMessage[] = [];
  private missed = 0;
  private readonly requests = new RateLimit(CONSOLE_REQUESTS_PER_SECOND_MAX, performance.now());

  constructor(
    readonly connection: WireConnection,
    private readonly handle: RequestHandler,
    private readonly log: Logger,
  ) {
    connection.on('frame', (frame) => this.receive(frame));
  }

  get name(): string {
    return this.connection.remoteId;
  }

  push(frame: PushFrame): void {
    if (!this.connection.isOpen) return;
    if (this.connection.backlogBytes > CONSOLE_BACKLOG_BYTES_HARD) {
      this.log.warn({ console: this.name, address: this.connection.remoteAddress, backlogBytes: this.connection.backlogBytes }, 'console stopped reading: disconnected');
      this.connection.close('the console stopped reading');
      return;
    }
    try {
      this.connection.send(frame);
    } catch (error) {
      // Above the frame limit (a status with a huge fault table): this frame is lost, not the agent.
      if (!(error instanceof FrameError)) throw error;
      this.log.error({ console: this.name, frame: frame.t, error: error.message }, 'frame too large for a console: not sent');
      if (frame.t === 'res') this.connection.send({ t: 'res', id: frame.id, ok: false, error: `the answer is too large to send (${error.message})` });
    }
  }

  recordSent(sent: SentMessage): void {
    if (this.pendingSent.length >= SENT_BATCH_MAX) this.missed += 1;
    else this.pendingSent.push(sent);
  }

  /** Sends the batch of messages since the last one, unless the console is behind. */
  flushSent(): void {
    if (this.pendingSent.length === 0 && this.missed === 0) return;
    if (this.connection.backlogBytes > CONSOLE_BACKLOG_BYTES_SOFT) {
      this.missed += this.pendingSent.length;
      this.pendingSent = [];
      return;
    }
    const pending = this.pendingSent;
    for (let start = 0; start < pending.length || start === 0; start += SENT_FRAME_MESSAGES_MAX) {
      const last = start + SENT_FRAME_MESSAGES_MAX >= pending.length;
      this.push({ t: 'sent', messages: pending.slice(start, start + SENT_FRAME_MESSAGES_MAX), missed: last ? this.missed : 0 });
    }
    this.pendingSent = [];
    this.missed = 0;
  }

  private receive(frame: unknown): void {
    const parsed = requestFrame.safeParse(frame);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.log.warn({ console: this.name, address: this.connection.remoteAddress, problem: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}` }, 'invalid frame: connection closed');
      this.connection.close('invalid frame');
      return;
    }
    const { id, op } = parsed.data;
    if (!this.requests.take(performance.now())) {
      this.push({ t: 'res', id, ok: false, error: `too many requests: at most ${CONSOLE_REQUESTS_PER_SECOND_MAX} per second` });
      return;
    }
    Promise.resolve()
      .then(() => this.handle(op, this))
      .then(
        (value) => this.push({ t: 'res', id, ok: true, ...(value === undefined ? {} : { value }) }),
        (error: unknown) =>
          this.push({
            t: 'res',
            id,
            ok: false,
            error: (error instanceof Error ? error.message : String(error)).slice(0, 500),
            ...(error instanceof CodedRefusal ? { code: error.code } : {}),
          }),
      );
  }
}
