/**
 * Authenticated, framed connections between agents, supervisors and consoles (docs/agent-protocol.md),
 * over TCP or, when certificate files are given, TLS.
 *
 * The server opens with a challenge (a nonce); the client answers with its role, id, its own nonce
 * and an HMAC-SHA256 of both under the cluster token; the server checks it (in constant time) and
 * proves itself the same way. The token never crosses the wire. After that, every frame is
 * length-prefixed JSON below FRAME_BYTES_MAX, sealed with a MAC under a key of the connection and
 * direction (derived from the token and the handshake's frames), checked by the caller against
 * its schema; the identity of the other end is the one it authenticated as. So without TLS too,
 * nobody without the token can inject, alter, replay or reorder frames of a connection.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer as createNetServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type SecureContextOptions } from 'node:tls';
import type { z } from 'zod';
import {
  HANDSHAKES_MAX,
  HANDSHAKES_PER_ADDRESS_MAX,
  HANDSHAKE_TIMEOUT_MS,
  WIRE_VERSION,
  challengeFrame,
  helloFrame,
  proofText,
  refusedFrame,
  welcomeFrame,
  type Role,
} from '../../shared/protocol/agent-wire.js';
import { splitHostPort } from '../../shared/protocol/cluster-file.js';
import { FrameDecoder, FrameError, FrameOpener, FrameSealer, encodeBody, encodeFrame, lengthPrefixed, parseBody } from './frames.js';

/** How long a connection we closed may take to deliver what was written before (a `bye`) and see the other end close, before its socket is destroyed. */
export const CLOSE_LINGER_MS = 1_000;

export type Hello = z.infer<typeof helloFrame>;
export type Welcome = z.infer<typeof welcomeFrame>;

/** TLS material (PEM contents): both ends present a certificate signed by the CA. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export function nonce(): string {
  return randomBytes(24).toString('base64');
}

/**
 * This process's instance, drawn once at start and sent in every hello and welcome: a peer that
 * shows another instance under the same id restarted, or is a second process started with that id.
 */
export const PROCESS_INSTANCE = nonce();

export function proof(token: string, text: string): string {
  return createHmac('sha256', token).update(text).digest('hex');
}

/** Constant-time comparison of two proofs (hex strings of the same length when honest). */
export function proofsEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The keys of one connection's two directions. */
export interface SessionKeys {
  send: Buffer;
  receive: Buffer;
}

/**
 * The keys of a connection: HMAC-SHA256 under the token of the handshake's three frames (the
 * challenge, the hello and the welcome, byte for byte, so both nonces and everything either end
 * claimed), then one key per direction.
 */
export function sessionKeys(token: string, transcript: Buffer[], side: 'client' | 'server'): SessionKeys {
  const digest = createHash('sha256');
  for (const part of transcript) digest.update(lengthPrefixed(part));
  const session = createHmac('sha256', token).update(`conclave/${WIRE_VERSION}|session|`).update(digest.digest()).digest();
  const toServer = createHmac('sha256', session).update('client->server').digest();
  const toClient = createHmac('sha256', session).update('server->client').digest();
  return side === 'client' ? { send: toServer, receive: toClient } : { send: toClient, receive: toServer };
}

/**
 * One authenticated connection. Emits 'frame' (parsed JSON whose MAC checked out, not yet
 * schema-checked) and 'close' (the reason in words).
 */
export class WireConnection extends EventEmitter<{ frame: [unknown]; close: [reason: string] }> {
  private closed = false;
  private readonly sealer: FrameSealer;
  private readonly opener: FrameOpener;
  /** Resolves when the socket is gone: what we wrote was delivered, or given up on. */
  readonly released: Promise<void>;

  constructor(
    private readonly socket: Socket,
    /** Holds what arrived after the handshake's last frame. */
    private readonly decoder: FrameDecoder,
    keys: SessionKeys,
    /** Who the other end authenticated as. */
    readonly remoteId: string,
    /** A peer agent, a console, or (seen from a dialing console) the agent or supervisor it reached. */
    readonly remoteRole: Role | 'server',
    /** "host:port" of the other end, for logs. */
    readonly remoteAddress: string,
  ) {
    super();
    this.sealer = new FrameSealer(keys.send);
    this.opener = new FrameOpener(keys.receive);
    this.released = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      this.decoder.append(chunk);
      this.receive();
    });
    socket.on('close', () => this.finish('the connection closed'));
    socket.on('error', (error) => this.finish(`connection error: ${error.message}`));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes written but not yet taken by the kernel: how far behind the other end is. */
  get backlogBytes(): number {
    return this.socket.writableLength;
  }

  /** Throws FrameError for a frame above the limit (nothing is sent). */
  send(frame: unknown): void {
    if (this.closed) return;
    this.socket.write(this.sealer.seal(frame));
  }

  /** Starts reading, with the frames that came along with the handshake's last one. */
  start(): void {
    this.receive();
    this.socket.resume();
  }

  /**
   * Ends the connection, with a reason for our side's listeners (at once). What was sent before
   * still goes out, then our end of the stream; the socket goes when the other end closes too,
   * or after CLOSE_LINGER_MS. Frames that arrive meanwhile are not read.
   */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    const linger = setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS);
    linger.unref();
    this.socket.once('close', () => clearTimeout(linger));
    this.emit('close', reason);
  }

  private receive(): void {
    while (!this.closed) {
      let frame: unknown;
      try {
        const bytes = this.decoder.next();
        if (bytes === null) return;
        frame = this.opener.open(bytes);
      } catch (error) {
        this.socket.destroy();
        this.finish(error instanceof FrameError ? error.message : String(error));
        return;
      }
      this.emit('frame', frame);
    }
  }

  /** The socket closed or failed (or we refused a frame): nothing more goes either way. */
  private finish(reason: string): void {
    this.socket.destroy();
    if (this.closed) return;
    this.closed = true;
    this.emit('close', reason);
  }
}

/** Reads one unsealed frame with a deadline (the handshake's pace): its JSON and its bytes; what follows stays in the decoder. */
function readFrame(socket: Socket, decoder: FrameDecoder, deadline: number): Promise<{ frame: unknown; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('the handshake took too long')), Math.max(0, deadline - Date.now()));
    const onData = (chunk: Buffer): void => {
      let body: Buffer | null;
      let frame: unknown;
      try {
        decoder.append(chunk);
        body = decoder.next();
        if (body === null) return;
        frame = parseBody(body);
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      cleanup();
      socket.pause();
      resolve({ frame, body });
    };
    const onEnd = (): void => fail(new Error('the connection closed during the handshake'));
    const onError = (error: Error): void => fail(error);
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    socket.on('data', onData);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}

export interface WireServerOptions {
  host: string;
  port: number;
  /** Our id, in the challenge (a member id, or the supervised member's for a supervisor). */
  id: string;
  token: string;
  tls?: TlsFiles;
  /** Decides on an authenticated client: a refusal in words (sent to it and logged), or null to admit it. */
  admit: (hello: Hello, remoteAddress: string) => string | null;
  /** What the welcome tells the client (a member tells peers its membership). */
  welcome?: () => Pick<Welcome, 'membership' | 'fingerprint'>;
  onConnection: (connection: WireConnection, hello: Hello) => void;
  /** A client that failed to authenticate or was refused: for the log, never with the token. */
  onRefused?: (remoteAddress: string, reason: string) => void;
  /** The instance the welcome carries; this process's by default (tests run several "processes" in one). */
  instance?: string;
  /** Sockets open at once, authenticated or not; beyond, new ones are closed by the kernel's accept. Unbounded when left out. */
  connectionsMax?: number;
  /** Bounds on sockets that have not authenticated yet; the protocol's by default. */
  handshakes?: Partial<HandshakeLimits>;
}

export interface HandshakeLimits {
  /** In their handshake at once; beyond, the oldest is closed (an honest one takes a round trip, so a flood cannot hold the port). */
  max: number;
  /** In their handshake at once from one address; beyond, a new one is closed at once. */
  perAddressMax: number;
  /** Whether loopback addresses are exempt from the per-address bound (agents of one machine dial each other at once). */
  loopbackExempt: boolean;
  timeoutMs: number;
}

const HANDSHAKE_LIMITS: HandshakeLimits = { max: HANDSHAKES_MAX, perAddressMax: HANDSHAKES_PER_ADDRESS_MAX, loopbackExempt: true, timeoutMs: HANDSHAKE_TIMEOUT_MS };

export interface WireServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function listenWire(options: WireServerOptions): Promise<WireServer> {
  const limits: HandshakeLimits = { ...HANDSHAKE_LIMITS, ...options.handshakes };
  const sockets = new Set<Socket>();
  /** Sockets in their handshake, oldest first, with the address each counts against (null: exempt). */
  const handshaking = new Map<Socket, string | null>();
  const perAddress = new Map<string, number>();
  const evicted = new WeakSet<Socket>();
  const release = (socket: Socket): void => {
    if (!handshaking.has(socket)) return;
    const host = handshaking.get(socket) ?? null;
    handshaking.delete(socket);
    if (host === null) return;
    const left = (perAddress.get(host) ?? 1) - 1;
    if (left > 0) perAddress.set(host, left);
    else perAddress.delete(host);
  };
  const handle = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const host = socket.remoteAddress ?? 'unknown';
    const counted = !(limits.loopbackExempt && isLoopback(host));
    if (counted && (perAddress.get(host) ?? 0) >= limits.perAddressMax) {
      options.onRefused?.(addressOf(socket), `too many handshakes at once from ${host} (at most ${limits.perAddressMax})`);
      socket.destroy();
      return;
    }
    if (handshaking.size >= limits.max) {
      const [oldest] = handshaking.keys();
      if (oldest !== undefined) {
        evicted.add(oldest);
        release(oldest);
        oldest.destroy();
      }
    }
    handshaking.set(socket, counted ? host : null);
    if (counted) perAddress.set(host, (perAddress.get(host) ?? 0) + 1);
    void serverHandshake(socket, options, limits.timeoutMs)
      .catch((error: unknown) => {
        const reason = evicted.has(socket) ? `closed in its handshake to make room (${limits.max} handshakes at once)` : error instanceof Error ? error.message : String(error);
        options.onRefused?.(addressOf(socket), reason);
        socket.destroy();
      })
      .finally(() => release(socket));
  };
  const server: Server = options.tls
    ? createTlsServer({ ...tlsContext(options.tls), requestCert: true, rejectUnauthorized: true }, handle)
    : createNetServer(handle);
  if (options.connectionsMax !== undefined) server.maxConnections = options.connectionsMax;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        // A connection closed already is left to deliver its last frames (its linger bounds it).
        for (const socket of sockets) if (!socket.writableEnded) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function serverHandshake(socket: Socket, options: WireServerOptions, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const decoder = new FrameDecoder();
  const serverNonce = nonce();
  const challenge = encodeBody({ t: 'challenge', v: WIRE_VERSION, nonce: serverNonce, id: options.id });
  socket.write(lengthPrefixed(challenge));
  const { frame, body: helloBytes } = await readFrame(socket, decoder, deadline);
  const remoteAddress = addressOf(socket);
  const version = versionMismatch(frame);
  if (version !== null) {
    socket.end(encodeFrame({ t: 'refused', reason: version.refusal }));
    throw new Error(`refused ${version.who}: ${version.refusal}`);
  }
  const parsed = helloFrame.safeParse(frame);
  if (!parsed.success) throw new Error('the first frame was not a valid hello');
  const hello = parsed.data;
  const expected = proof(options.token, proofText('client', hello.role, hello.id, serverNonce, hello.nonce));
  if (!proofsEqual(expected, hello.proof)) {
    socket.end(encodeFrame({ t: 'refused', reason: 'authentication failed' }));
    throw new Error(`authentication failed (${hello.role} "${hello.id.slice(0, 64)}")`);
  }
  const refusal = options.admit(hello, remoteAddress);
  if (refusal !== null) {
    socket.end(encodeFrame({ t: 'refused', reason: refusal }));
    throw new Error(`refused ${hello.role} "${hello.id}": ${refusal}`);
  }
  const welcome = encodeBody({
    t: 'welcome',
    v: WIRE_VERSION,
    proof: proof(options.token, proofText('server', hello.role, options.id, serverNonce, hello.nonce)),
    instance: options.instance ?? PROCESS_INSTANCE,
    ...options.welcome?.(),
  });
  socket.write(lengthPrefixed(welcome));
  const keys = sessionKeys(options.token, [challenge, helloBytes, welcome], 'server');
  const connection = new WireConnection(socket, decoder, keys, hello.id, hello.role, remoteAddress);
  options.onConnection(connection, hello);
  connection.start();
}

export interface DialOptions {
  address: string;
  token: string;
  role: Role;
  id: string;
  membership?: Hello['membership'];
  fingerprint?: string;
  /** The instance the hello carries; this process's by default. */
  instance?: string;
  tls?: TlsFiles;
  /** Gives up connecting after this long. */
  timeoutMs?: number;
}

/** Why a dial failed: `refused` when the other end authenticated us and said no (retrying will not help). */
export class DialError extends Error {
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
    this.name = 'DialError';
  }
}

/** Connects and authenticates both ways; resolves with the connection and the server's welcome. */
export async function dialWire(options: DialOptions): Promise<{ connection: WireConnection; welcome: Welcome; serverId: string }> {
  const { host, port } = splitHostPort(options.address);
  const deadline = Date.now() + (options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const timer = setTimeout(() => {
      attempt.destroy();
      reject(new DialError(`${options.address} did not answer within ${options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS} ms`, false));
    }, Math.max(0, deadline - Date.now()));
    const ready = (): void => {
      clearTimeout(timer);
      attempt.off('error', failed);
      resolve(attempt);
    };
    const failed = (error: Error): void => {
      clearTimeout(timer);
      reject(new DialError(`cannot reach ${options.address}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, false));
    };
    const attempt: Socket = options.tls
      ? tlsConnect({ host, port, ...tlsContext(options.tls), servername: host, checkServerIdentity: () => undefined }, ready)
      : netConnect({ host, port }, ready);
    attempt.once('error', failed);
  });
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  const decoder = new FrameDecoder();
  try {
    const first = await readFrame(socket, decoder, deadline);
    const challenge = challengeFrame.safeParse(first.frame);
    if (!challenge.success) throw new DialError(`${options.address} is not a Conclave agent (no valid challenge)`, true);
    if (challenge.data.v !== WIRE_VERSION) {
      throw new DialError(`${options.address} speaks wire version ${challenge.data.v} and this end ${WIRE_VERSION}: run the same Conclave version everywhere`, true);
    }
    const clientNonce = nonce();
    const serverNonce = challenge.data.nonce;
    const hello = encodeBody({
      t: 'hello',
      v: WIRE_VERSION,
      role: options.role,
      id: options.id,
      nonce: clientNonce,
      instance: options.instance ?? PROCESS_INSTANCE,
      ...(options.membership === undefined ? {} : { membership: options.membership }),
      ...(options.fingerprint === undefined ? {} : { fingerprint: options.fingerprint }),
      proof: proof(options.token, proofText('client', options.role, options.id, serverNonce, clientNonce)),
    });
    socket.write(lengthPrefixed(hello));
    const second = await readFrame(socket, decoder, deadline);
    const refused = refusedFrame.safeParse(second.frame);
    if (refused.success) throw new DialError(`${options.address} refused us: ${refused.data.reason}`, true);
    const welcome = welcomeFrame.safeParse(second.frame);
    if (!welcome.success) throw new DialError(`${options.address} answered the hello with something else than a welcome`, true);
    const expected = proof(options.token, proofText('server', options.role, challenge.data.id, serverNonce, clientNonce));
    if (!proofsEqual(expected, welcome.data.proof)) throw new DialError(`${options.address} could not prove it knows the cluster token`, true);
    const keys = sessionKeys(options.token, [first.body, hello, second.body], 'client');
    const connection = new WireConnection(socket, decoder, keys, challenge.data.id, options.role === 'peer' ? 'peer' : 'server', options.address);
    // Once the caller has its listeners on: it gets the connection after this function returns.
    setImmediate(() => connection.start());
    return { connection, welcome: welcome.data, serverId: challenge.data.id };
  } catch (error) {
    socket.destroy();
    if (error instanceof DialError) throw error;
    throw new DialError(`${options.address}: ${error instanceof Error ? error.message : String(error)}`, false);
  }
}

/** A hello of another wire version: who sent it (for the log) and the refusal that names both versions. */
function versionMismatch(frame: unknown): { who: string; refusal: string } | null {
  if (typeof frame !== 'object' || frame === null) return null;
  const { t, v, role, id } = frame as Record<string, unknown>;
  if (t !== 'hello' || v === WIRE_VERSION) return null;
  const who = `${role === 'peer' || role === 'console' ? role : 'client'} "${typeof id === 'string' ? id.slice(0, 64) : '?'}"`;
  const theirs = typeof v === 'number' ? String(v) : 'unknown';
  return { who, refusal: `wire version ${theirs.slice(0, 20)} is not spoken here (this end speaks ${WIRE_VERSION}): run the same Conclave version everywhere` };
}

function tlsContext(files: TlsFiles): SecureContextOptions {
  return { cert: files.cert, key: files.key, ca: files.ca };
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host.startsWith('::ffff:127.') || host === '::1';
}

function addressOf(socket: Socket): string {
  const host = socket.remoteAddress ?? 'unknown';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
}
