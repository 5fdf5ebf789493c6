/**
 * Agent-to-agent transport. Each agent dials every other member and sends its own messages over
 * that outbound connection; what arrives on inbound connections is delivered to the state
 * machine, once checked: a valid frame, sent by the member the connection authenticated as, to
 * us, within the connection's rate, and not cut by the fault rules in force. Faults apply to our
 * sends with the same LinkRules as the embedded fabric (a real network's own delay is real; a
 * fault's latency adds to it). A peer is lost (a crash hint) when no connection to or from it is
 * left and it did not say goodbye.
 *
 * An outbound connection with nothing to carry for a heartbeat interval carries a keepalive, so
 * every member hears every other one at least that often. A peer silent for an election timeout
 * (a pulled cable, a frozen host: no socket closes) is logged once, its connections are taken for
 * dead and closed, and it is dialled again and again with short attempts, so that it is back within
 * a few heartbeat intervals of its cable rather than after TCP's retransmission backoff.
 */
import { ALGORITHM_INFO } from '../../shared/algorithms.js';
import { Backoff } from '../../shared/core/backoff.js';
import type { Message } from '../../shared/core/election.js';
import type { Random } from '../../shared/core/random.js';
import { MIN_LATENCY_MS, type LinkRules } from '../../shared/network/link-rules.js';
import { peerFrame, type AgentEvent, type membershipSchema, type sentMessageSchema } from '../../shared/protocol/agent-wire.js';
import type { z } from 'zod';
import { DialError, dialWire, type Hello, type TlsFiles, type WireConnection } from '../wire/connection.js';
import { FRAME_AUTHENTICATION_FAILED } from '../wire/frames.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from './log.js';

export type SentMessage = z.infer<typeof sentMessageSchema>;

/**
 * Redial backoff: from the minimum, doubling to the cap (two heartbeat intervals, at least the
 * minimum), with equal jitter (backoff.ts): no other caller contends for our connection to a peer.
 */
export const RECONNECT_MS_MIN = 50;
const RECONNECT_HEARTBEATS_MAX = 2;
/** A dial to a peer gives up after this many heartbeat intervals (at least DIAL_MS_MIN): a fresh attempt gets through as soon as the path is back. */
const DIAL_HEARTBEATS = 4;
const DIAL_MS_MIN = 250;
/** Messages one inbound connection may deliver per second; the rest are dropped (and counted). */
export const PEER_MESSAGES_PER_SECOND_MAX = 1_000;
/** A peer whose connection holds more unsent bytes than this gets no more messages until it catches up. */
export const PEER_BACKLOG_BYTES_MAX = 1024 * 1024;
/** Messages held back by a fault's delay at any moment; beyond, they are dropped as unsent. */
export const DELAYED_SENDS_MAX = 10_000;
/** Instances of one peer remembered as replaced (a restarted process's old ones): one that comes back is a second process. */
const RETIRED_INSTANCES_MAX = 16;
/** How often a connection's dropped messages are logged (once per interval, with a count). */
const DROP_LOG_INTERVAL_MS = 5_000;

/** One peer's redial waits, its cap following the heartbeat so that a peer is back within a few intervals of its cable. */
export function redialBackoff(heartbeatMs: number, random: Random): Backoff {
  return new Backoff({ delayMsMin: RECONNECT_MS_MIN, delayMsMax: Math.max(RECONNECT_MS_MIN, RECONNECT_HEARTBEATS_MAX * heartbeatMs), jitter: 'equal' }, random);
}

/** Messages per second, as a token bucket refilled continuously. */
export class RateLimit {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.last = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) * this.perSecond) / 1_000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface PeerTransportOptions {
  self: string;
  /** The other members and the addresses they listen on. */
  peers: ReadonlyArray<{ id: string; address: string }>;
  token: string;
  tls: TlsFiles | null;
  membership: z.infer<typeof membershipSchema>;
  fingerprint: string;
  /** The instance our hellos carry (this process's unless a test runs several transports in one). */
  instance?: string;
  clock: Clock;
  rules: LinkRules;
  random: Random;
  log: Logger;
  deliver: (message: Message) => void;
  onEvent: (event: AgentEvent) => void;
  onSent: (sent: SentMessage) => void;
  /** Connections changed (for the status). */
  onChange: () => void;
}

interface PeerLink {
  id: string;
  address: string;
  outbound: WireConnection | null;
  /** The instance our outbound connection reached (its welcome's). */
  outboundInstance: string | null;
  /** Since when (performance.now()) our outbound connection has held unsent bytes; null while it keeps up. */
  backlogSince: number | null;
  inbound: WireConnection | null;
  /** The instance the peer's latest admitted inbound connection carried. */
  inboundInstance: string | null;
  /** Its instances that a newer one has replaced: a process that restarted never shows its old one again. */
  retired: string[];
  /** A connection to or from it is up. */
  present: boolean;
  /** It said goodbye on a connection since it last connected: it is stopping on purpose. */
  leaving: boolean;
  /** The waits between failed dials, reset once one connects. */
  redial: Backoff;
  timer: ReturnType<typeof setTimeout> | null;
  dialing: boolean;
  /** The last dial failure logged, so that a peer that stays down is logged once. */
  lastFailure: string | null;
  /** When it was last heard from (performance.now()): any frame on its inbound connection. */
  heardAt: number;
  /** When our outbound connection last carried a frame. */
  sentAt: number;
  /** Since when it has been silent, once taken for dead (for the log when it is back). */
  silentSince: number | null;
}

interface InboundState {
  limit: RateLimit;
  dropped: number;
  droppedLoggedAt: number;
}

export class PeerTransport {
  private readonly links = new Map<string, PeerLink>();
  private readonly inboundState = new WeakMap<WireConnection, InboundState>();
  private readonly delayed = new Set<ReturnType<typeof setTimeout>>();
  private readonly messageKinds: ReadonlySet<string>;
  private watch: ReturnType<typeof setInterval> | null = null;
  private stopped = false;

  constructor(private readonly options: PeerTransportOptions) {
    this.messageKinds = new Set(ALGORITHM_INFO[options.membership.algorithm].messageKinds);
    const now = performance.now();
    for (const peer of options.peers) {
      this.links.set(peer.id, {
        id: peer.id,
        address: peer.address,
        outbound: null,
        outboundInstance: null,
        backlogSince: null,
        inbound: null,
        inboundInstance: null,
        retired: [],
        present: false,
        leaving: false,
        redial: redialBackoff(options.membership.config.heartbeatMs, options.random.fork(`redial-${peer.id}`)),
        timer: null,
        dialing: false,
        lastFailure: null,
        heardAt: now,
        sentAt: now,
        silentSince: null,
      });
    }
  }

  private get heartbeatMs(): number {
    return this.options.membership.config.heartbeatMs;
  }

  start(): void {
    for (const link of this.links.values()) void this.dial(link);
    this.watch = setInterval(() => this.keepAndWatch(), this.heartbeatMs);
  }

  /** Each peer's connections, both ways, and how long ago it was last heard from (null: never, or it is not connected). */
  view(): Record<string, { outbound: boolean; inbound: boolean; heardMsAgo: number | null }> {
    const now = performance.now();
    const view: Record<string, { outbound: boolean; inbound: boolean; heardMsAgo: number | null }> = {};
    for (const link of this.links.values()) {
      view[link.id] = { outbound: link.outbound?.isOpen ?? false, inbound: link.inbound?.isOpen ?? false, heardMsAgo: link.present ? Math.round(now - link.heardAt) : null };
    }
    return view;
  }

  /**
   * Every heartbeat interval: a keepalive on each outbound connection that carried nothing for one,
   * and a peer silent for an election timeout taken for dead: its connections closed, dialled at once.
   */
  private keepAndWatch(): void {
    if (this.stopped) return;
    const now = performance.now();
    const silentAfterMs = this.options.membership.config.electionTimeoutMinMs;
    for (const link of this.links.values()) {
      const outbound = link.outbound;
      if (outbound !== null && outbound.isOpen && now - link.sentAt >= this.heartbeatMs && outbound.backlogBytes === 0) {
        outbound.send({ t: 'ka' });
        link.sentAt = now;
      }
      const silentMs = now - link.heardAt;
      if (!link.present || silentMs < silentAfterMs) continue;
      link.silentSince = link.heardAt;
      this.options.log.warn({ peer: link.id, address: link.address, silentMs: Math.round(silentMs) }, 'peer silent: its connections are taken for dead');
      const reason = `silent for ${Math.round(silentMs)} ms (no message or keepalive): taken for dead`;
      link.inbound?.close(reason);
      link.outbound?.close(reason);
      this.dialNow(link);
    }
  }

  /** Dials at once rather than when the backoff says (a peer back, or one taken for dead). */
  private dialNow(link: PeerLink): void {
    if ((link.outbound !== null && link.outbound.isOpen) || link.dialing || this.stopped) return;
    if (link.timer !== null) clearTimeout(link.timer);
    link.timer = null;
    link.redial.reset();
    void this.dial(link);
  }

  /** Sends one message of our state machine, through the fault rules in force. */
  send(message: Message): void {
    const { self, rules, random, clock } = this.options;
    const link = this.links.get(message.to);
    if (link === undefined || this.stopped) return;
    const sentT = clock.now();
    const decision = rules.decide(self, message.to, random, { latencyMs: 0, jitterMs: 0 });
    const granted = (message as Message & { granted?: unknown }).granted;
    const record = { from: self, to: message.to, kind: message.kind, ...(typeof granted === 'boolean' ? { granted } : {}), sentT };
    if (decision.dropped !== null) {
      this.options.onSent({ ...record, deliverT: null, dropped: decision.dropped, duplicate: false });
      return;
    }
    decision.delaysMs.forEach((delayMs, index) => {
      const sent: SentMessage = { ...record, deliverT: sentT + delayMs, dropped: null, duplicate: index > 0 };
      if (delayMs <= MIN_LATENCY_MS) {
        this.write(link, message, sent);
        return;
      }
      if (this.delayed.size >= DELAYED_SENDS_MAX) {
        this.options.onSent({ ...sent, deliverT: null, unsent: 'backlog' });
        return;
      }
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        if (!this.stopped) this.write(link, message, sent);
      }, delayMs);
      this.delayed.add(timer);
    });
  }

  /**
   * Whether an authenticated peer may replace the inbound connection we hold from it: not when a
   * second process speaks as that member (two agents started with one id), which would let both
   * vote in one term. Evidence of one: another instance while the live connection comes from
   * another host, or an instance that a newer one already replaced (it is still running). A
   * restart shows a new instance from the same host, or after the old connection closed.
   */
  admit(hello: Pick<Hello, 'id' | 'instance'>, remoteAddress: string): string | null {
    const link = this.links.get(hello.id);
    if (link === undefined) return null;
    const live = link.inbound !== null && link.inbound.isOpen ? link.inbound : null;
    let evidence: string | null = null;
    if (link.retired.includes(hello.instance)) {
      evidence = `a process of ${hello.id} that another one replaced (from ${live?.remoteAddress ?? 'elsewhere'}) dials again from ${remoteAddress}`;
    } else if (live !== null && link.inboundInstance !== hello.instance && hostOf(live.remoteAddress) !== hostOf(remoteAddress)) {
      evidence = `one is connected from ${live.remoteAddress}, another dials from ${remoteAddress}`;
    }
    if (evidence === null) return null;
    this.options.log.error({ peer: hello.id, address: remoteAddress, connected: live?.remoteAddress ?? null }, `two agents claim to be ${hello.id}`);
    return `two agents claim to be ${hello.id}: ${evidence}; give each member its own id (the first keeps its place)`;
  }

  /** A peer dialed us, authenticated and was admitted; a newer connection from the same peer replaces the older. */
  acceptInbound(connection: WireConnection, hello: Pick<Hello, 'instance'>): void {
    const link = this.links.get(connection.remoteId);
    if (link === undefined || this.stopped) {
      connection.close('not a peer');
      return;
    }
    if (link.inboundInstance !== null && link.inboundInstance !== hello.instance) {
      link.retired = [...link.retired, link.inboundInstance].slice(-RETIRED_INSTANCES_MAX);
    }
    link.inboundInstance = hello.instance;
    const previous = link.inbound;
    link.inbound = connection;
    if (previous !== null && previous.isOpen) previous.close('replaced by a newer connection from the same peer');
    this.inboundState.set(connection, { limit: new RateLimit(PEER_MESSAGES_PER_SECOND_MAX, performance.now()), dropped: 0, droppedLoggedAt: -Infinity });
    this.options.log.info({ peer: link.id, address: connection.remoteAddress, direction: 'inbound' }, 'peer connected');
    this.connected(link);
    connection.on('frame', (frame) => this.receive(link, connection, frame));
    connection.on('close', (reason) => this.closed(link, connection, reason));
    // A new process: our outbound connection reaches the old one, or nothing at all when its host lost
    // power (no socket is left there to reset ours, and we never read from it): replace it.
    const outbound = link.outbound;
    if (outbound !== null && outbound.isOpen && link.outboundInstance !== hello.instance) {
      this.options.log.info({ peer: link.id, address: link.address }, 'peer restarted: outbound connection replaced');
      outbound.close('the peer restarted (another instance)');
    }
    // It is back (a restart, a healed link): dial it now rather than when the backoff says.
    this.dialNow(link);
  }

  /** Says goodbye on every connection and closes them; no more dialing. Resolves once the goodbyes are delivered (or given up on). */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    if (this.watch !== null) clearInterval(this.watch);
    const released: Array<Promise<void>> = [];
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    for (const link of this.links.values()) {
      if (link.timer !== null) clearTimeout(link.timer);
      link.timer = null;
      for (const connection of [link.outbound, link.inbound]) {
        if (connection === null || !connection.isOpen) continue;
        connection.send({ t: 'bye' });
        connection.close('stopping');
        released.push(connection.released);
      }
    }
    return Promise.all(released).then(() => undefined);
  }

  private write(link: PeerLink, message: Message, sent: SentMessage): void {
    const connection = link.outbound;
    if (connection === null || !connection.isOpen) {
      this.options.onSent({ ...sent, deliverT: null, unsent: 'no-connection' });
      return;
    }
    if (this.stuck(link, connection)) {
      this.options.onSent({ ...sent, deliverT: null, unsent: 'no-connection' });
      return;
    }
    if (connection.backlogBytes > PEER_BACKLOG_BYTES_MAX) {
      this.options.onSent({ ...sent, deliverT: null, unsent: 'backlog' });
      return;
    }
    connection.send({ t: 'msg', m: message });
    link.sentAt = performance.now();
    this.options.onSent(sent);
  }

  /**
   * Closes an outbound connection that has not drained for an election timeout: the peer takes
   * nothing (a frozen or dead host); a new connection finds out whether it is there at all.
   */
  private stuck(link: PeerLink, connection: WireConnection): boolean {
    const now = performance.now();
    if (connection.backlogBytes === 0) {
      link.backlogSince = null;
      return false;
    }
    link.backlogSince ??= now;
    const timeoutMs = this.options.membership.config.electionTimeoutMaxMs;
    if (now - link.backlogSince < timeoutMs) return false;
    this.options.log.warn({ peer: link.id, address: link.address, backlogBytes: connection.backlogBytes, forMs: Math.round(now - link.backlogSince) }, 'peer not reading: outbound connection closed');
    connection.close(`not drained for ${timeoutMs} ms (an election timeout)`);
    return true;
  }

  private receive(link: PeerLink, connection: WireConnection, frame: unknown): void {
    const { self, log } = this.options;
    const parsed = peerFrame.safeParse(frame);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      log.warn({ peer: link.id, address: connection.remoteAddress, problem: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}` }, 'invalid frame: connection closed');
      connection.close('invalid frame');
      return;
    }
    link.heardAt = performance.now();
    if (parsed.data.t === 'bye') {
      link.leaving = true;
      return;
    }
    if (parsed.data.t === 'ka') return;
    const message = parsed.data.m as Message;
    if (!this.messageKinds.has(message.kind)) {
      log.warn({ peer: link.id, address: connection.remoteAddress, kind: message.kind.slice(0, 32) }, 'invalid frame: connection closed');
      connection.close(`a message of a kind ${this.options.membership.algorithm} does not have`);
      return;
    }
    if (message.from !== connection.remoteId || message.to !== self) {
      log.warn({ peer: link.id, address: connection.remoteAddress, from: message.from, to: message.to }, 'spoofed sender: connection closed');
      connection.close('spoofed sender');
      return;
    }
    const state = this.inboundState.get(connection)!;
    const now = performance.now();
    if (!state.limit.take(now)) {
      state.dropped += 1;
      if (now - state.droppedLoggedAt >= DROP_LOG_INTERVAL_MS) {
        log.warn({ peer: link.id, address: connection.remoteAddress, dropped: state.dropped, limitPerSecond: PEER_MESSAGES_PER_SECOND_MAX }, 'peer above its message rate: messages dropped');
        state.droppedLoggedAt = now;
        state.dropped = 0;
      }
      return;
    }
    if (!this.options.rules.open(message.from, self)) return;
    this.options.deliver(message);
  }

  private connected(link: PeerLink): void {
    link.lastFailure = null;
    link.leaving = false;
    const now = performance.now();
    if (link.silentSince !== null) {
      this.options.log.info({ peer: link.id, address: link.address, silentMs: Math.round(now - link.silentSince) }, 'peer back after a silence');
      link.silentSince = null;
    }
    // A new connection is a sign of life.
    link.heardAt = now;
    if (!link.present) {
      link.present = true;
      this.options.onEvent({ type: 'peer-joined', t: this.options.clock.now(), peer: link.id });
    }
    this.options.onChange();
  }

  /** A connection closed: the peer is gone (left, or lost: a crash hint) only when no other connects us. */
  private closed(link: PeerLink, connection: WireConnection, reason: string): void {
    const direction = link.outbound === connection ? 'outbound' : 'inbound';
    if (link.inbound === connection) link.inbound = null;
    if (link.outbound === connection) {
      link.outbound = null;
      link.outboundInstance = null;
      link.backlogSince = null;
    }
    if (this.stopped) return;
    const { log, onEvent, clock } = this.options;
    if (reason === FRAME_AUTHENTICATION_FAILED) log.warn({ peer: link.id, address: connection.remoteAddress, direction }, 'frame failed authentication: connection closed');
    const remaining = [link.inbound, link.outbound].some((other) => other !== null && other.isOpen);
    if (link.present && !remaining) {
      link.present = false;
      if (link.leaving) {
        log.info({ peer: link.id, address: connection.remoteAddress }, 'peer left');
        onEvent({ type: 'peer-left', t: clock.now(), peer: link.id });
      } else {
        log.warn({ peer: link.id, address: connection.remoteAddress, reason, direction }, 'peer lost');
        onEvent({ type: 'peer-lost', t: clock.now(), peer: link.id, reason: reason.slice(0, 200) });
      }
    } else if (link.present) {
      log.debug({ peer: link.id, address: connection.remoteAddress, reason, direction }, 'peer connection closed, another remains');
    }
    this.options.onChange();
  }

  private schedule(link: PeerLink): void {
    if (this.stopped || link.timer !== null) return;
    link.timer = setTimeout(() => {
      link.timer = null;
      void this.dial(link);
    }, link.redial.next());
  }

  private async dial(link: PeerLink): Promise<void> {
    if (this.stopped || link.dialing || (link.outbound !== null && link.outbound.isOpen)) return;
    link.dialing = true;
    const { self, token, tls, membership, fingerprint, instance, log, onEvent, clock } = this.options;
    try {
      const { connection, welcome, serverInstance } = await dialWire({
        address: link.address,
        token,
        role: 'peer',
        id: self,
        expectId: link.id,
        timeoutMs: Math.max(DIAL_MS_MIN, DIAL_HEARTBEATS * this.heartbeatMs),
        membership,
        fingerprint,
        ...(instance === undefined ? {} : { instance }),
        ...(tls === null ? {} : { tls }),
      });
      if (this.stopped) {
        connection.close('stopping');
        return;
      }
      if (welcome.fingerprint !== fingerprint) {
        const reason = `${link.id}'s welcome carries another membership fingerprint`;
        connection.close(reason);
        throw new DialError(reason, true);
      }
      link.redial.reset();
      link.outbound = connection;
      link.outboundInstance = serverInstance;
      link.backlogSince = null;
      log.info({ peer: link.id, address: link.address, direction: 'outbound' }, 'peer connected');
      connection.on('frame', (frame) => {
        const parsed = peerFrame.safeParse(frame);
        if (parsed.success && parsed.data.t === 'bye') link.leaving = true;
        else {
          log.warn({ peer: link.id, address: link.address }, 'unexpected frame on our outbound connection: closed');
          connection.close('unexpected frame');
        }
      });
      connection.on('close', (reason) => {
        this.closed(link, connection, reason);
        this.schedule(link);
      });
      this.connected(link);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const refused = error instanceof DialError && error.refused;
      if (message !== link.lastFailure) {
        link.lastFailure = message;
        if (refused) {
          log.warn({ peer: link.id, address: link.address, reason: message }, 'peer refused us');
          onEvent({ type: 'peer-refused', t: clock.now(), peer: link.id, address: link.address, reason: message.slice(0, 500) });
        } else {
          log.info({ peer: link.id, address: link.address, reason: message }, 'peer unreachable');
        }
      }
      this.schedule(link);
    } finally {
      link.dialing = false;
    }
  }
}

/** The host of "host:port" (or "[v6]:port"): two connections from one host may be one restarted process. */
function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}
