/**
 * Authenticated, framed connections between agents, supervisors and consoles (docs/agent-protocol.md),
 * over TCP or, when certificate files are given, TLS.
 *
 * The server opens with a challenge (a nonce and its id); the client says who it is, whom it means
 * to reach, and its own nonce; the server proves it knows the key of the client's role (the cluster
 * token for peers, the console token for consoles) with an HMAC-SHA256 over all of that, and only
 * then does the client prove itself, over everything so far. Proofs are checked in constant time
 * and no key crosses the wire. After that, every frame is length-prefixed JSON below
 * FRAME_BYTES_MAX, sealed with a MAC under a key of the connection and direction (derived from the
 * role's key and the handshake's frames), checked by the caller against its schema; the identity
 * of the other end is the one it authenticated as. So without TLS too, nobody without the key can
 * inject, alter, replay or reorder frames of a connection.
 *
 * Sockets are counted and timed from the TCP accept, before TLS: strangers cannot hold a port.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer as createNetServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { z } from 'zod';
import {
  HANDSHAKES_MAX,
  HANDSHAKES_PER_ADDRESS_MAX,
  HANDSHAKE_TIMEOUT_MS,
  WIRE_VERSION,
  challengeFrame,
  clientProofFrame,
  helloFrame,
  refusedFrame,
  serverProofFrame,
  welcomeFrame,
  type Role,
} from '../../shared/protocol/agent-wire.js';
import { splitHostPort } from '../../shared/protocol/cluster-file.js';
import { FrameDecoder, FrameError, FrameOpener, FrameSealer, encodeBody, encodeFrame, lengthPrefixed, parseBody } from './frames.js';
import { roleKey } from './tokens.js';

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

/** sha256 over frames, each with its 4-byte length: what a MAC over part of a handshake covers. */
function digestOf(parts: readonly Buffer[]): Buffer {
  const digest = createHash('sha256');
  for (const part of parts) digest.update(lengthPrefixed(part));
  return digest.digest();
}

/**
 * A side's proof: HMAC-SHA256 under the role's key over the handshake's frames so far (hex). Both
 * ends' ids, nonces and instances are in them, so a proof holds for this one connection only.
 */
export function handshakeProof(key: string, side: 'server' | 'client', parts: readonly Buffer[]): string {
  return createHmac('sha256', key).update(`conclave/${WIRE_VERSION}|${side}|`).update(digestOf(parts)).digest('hex');
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
 * The keys of a connection: HMAC-SHA256 under the role's key of the handshake's four frames (the
 * challenge, the hello and both proofs, byte for byte, so both nonces and everything either end
 * claimed), then one key per direction.
 */
export function sessionKeys(key: string, transcript: Buffer[], side: 'client' | 'server'): SessionKeys {
  const session = createHmac('sha256', key).update(`conclave/${WIRE_VERSION}|session|`).update(digestOf(transcript)).digest();
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
  /** Resolves when the socket is gone: what we wrote was delivered, or given up on. */
  readonly released: Promise<void>;

  constructor(
    private readonly socket: Socket,
    /** Holds what arrived after the handshake's last frame. */
    private readonly decoder: FrameDecoder,
    /** The connection's sealer and opener, which may have sealed or opened the first frame (the welcome) already. */
    private readonly sealer: FrameSealer,
    private readonly opener: FrameOpener,
    /** Who the other end authenticated as. */
    readonly remoteId: string,
    /** A peer agent, a console, or (seen from a dialing console) the agent or supervisor it reached. */
    readonly remoteRole: Role | 'server',
    /** "host:port" of the other end, for logs. */
    readonly remoteAddress: string,
  ) {
    super();
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

/** Reads one frame's bytes with a deadline (the handshake's pace); what follows stays in the decoder. */
function readFrame(socket: Socket, decoder: FrameDecoder, deadline: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('the handshake took too long')), Math.max(0, deadline - Date.now()));
    const onData = (chunk: Buffer): void => {
      let body: Buffer | null;
      try {
        decoder.append(chunk);
        body = decoder.next();
        if (body === null) return;
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      cleanup();
      socket.pause();
      resolve(body);
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
    // What came along with an earlier frame.
    try {
      const ready = decoder.next();
      if (ready !== null) {
        clearTimeout(timer);
        resolve(ready);
        return;
      }
    } catch (error) {
      fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    socket.on('data', onData);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}

/** Why a server ended a handshake; `authenticated` when the client had proved itself (the server's own reasons, not a stranger's). */
export class HandshakeRefusal extends Error {
  constructor(
    message: string,
    readonly authenticated: boolean,
  ) {
    super(message);
    this.name = 'HandshakeRefusal';
  }
}

export interface WireServerOptions {
  host: string;
  port: number;
  /** Our id, in the challenge (a member id, or the supervised member's for a supervisor). */
  id: string;
  /** The cluster token: peers prove with it, consoles with the console token made from it (tokens.ts). */
  token: string;
  tls?: TlsFiles;
  /** Decides on an authenticated client: a refusal in words (sent to it and logged), or null to admit it. */
  admit: (hello: Hello, remoteAddress: string) => string | null;
  /** What the welcome tells the client (a member tells peers its membership). */
  welcome?: () => Omit<Welcome, 't'>;
  onConnection: (connection: WireConnection, hello: Hello) => void;
  /**
   * A client that failed to authenticate or was refused, for the log (never with a key):
   * `authenticated` when it had proved itself, so that what strangers cause can be counted rather than logged one by one.
   */
  onRefused?: (remoteAddress: string, reason: string, authenticated: boolean) => void;
  /** The instance the server's proof carries; this process's by default (tests run several "processes" in one). */
  instance?: string;
  /** Sockets open at once, authenticated or not; beyond, new ones are closed by the kernel's accept. Unbounded when left out. */
  connectionsMax?: number;
  /** Bounds on sockets that have not authenticated yet; the protocol's by default. */
  handshakes?: Partial<HandshakeLimits>;
}

export interface HandshakeLimits {
  /** In their handshake (TLS included) at once; beyond, the oldest is closed (an honest one takes a few round trips, so a flood cannot hold the port). */
  max: number;
  /** In their handshake at once from one address; beyond, a new one is closed at once. */
  perAddressMax: number;
  /** Whether loopback addresses are exempt from the per-address bound (agents of one machine dial each other at once). */
  loopbackExempt: boolean;
  /** From the TCP accept to the welcome, TLS included. */
  timeoutMs: number;
}

const HANDSHAKE_LIMITS: HandshakeLimits = { max: HANDSHAKES_MAX, perAddressMax: HANDSHAKES_PER_ADDRESS_MAX, loopbackExempt: true, timeoutMs: HANDSHAKE_TIMEOUT_MS };

export interface WireServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function listenWire(options: WireServerOptions): Promise<WireServer> {
  const limits: HandshakeLimits = { ...HANDSHAKE_LIMITS, ...options.handshakes };
  const tlsAccept = options.tls === undefined ? null : tlsAcceptor(options.tls, limits.timeoutMs);
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
  // Every socket is counted from its TCP accept, before any TLS: a stranger's idle socket holds
  // a handshake place for at most timeoutMs, and never more than its address's share.
  const handle = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const host = socket.remoteAddress ?? 'unknown';
    const counted = !(limits.loopbackExempt && isLoopback(host));
    if (counted && (perAddress.get(host) ?? 0) >= limits.perAddressMax) {
      options.onRefused?.(addressOf(socket), `too many handshakes at once from ${host} (at most ${limits.perAddressMax})`, false);
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
    const deadline = Date.now() + limits.timeoutMs;
    const remoteAddress = addressOf(socket);
    void (tlsAccept === null ? Promise.resolve(socket) : tlsAccept(socket, deadline))
      .then((stream) => serverHandshake(stream, remoteAddress, options, deadline))
      .catch((error: unknown) => {
        const reason = evicted.has(socket) ? `closed in its handshake to make room (${limits.max} handshakes at once)` : error instanceof Error ? error.message : String(error);
        options.onRefused?.(remoteAddress, reason, error instanceof HandshakeRefusal && error.authenticated);
        socket.destroy();
      })
      .finally(() => release(socket));
  };
  const server: Server = createNetServer(handle);
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

/** The server's side of TLS on an accepted socket, within the handshake's deadline; the client must present a certificate the CA signed. */
/**
 * TLS on accepted sockets: a tls.Server that never listens is handed each socket, so that Node
 * runs the handshake and verifies the client's certificate (it needs one the CA signed) as it
 * does for its own. Each socket waits for its outcome within the handshake's deadline.
 */
function tlsAcceptor(files: TlsFiles, timeoutMs: number): (socket: Socket, deadline: number) => Promise<TLSSocket> {
  const server = createTlsServer({ ...tlsContext(files), requestCert: true, rejectUnauthorized: true, handshakeTimeout: timeoutMs });
  const waiting = new Map<string, (outcome: TLSSocket | Error) => void>();
  const keyOf = (socket: Socket): string => `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
  server.on('secureConnection', (secure: TLSSocket) => waiting.get(keyOf(secure))?.(secure));
  server.on('tlsClientError', (error: Error, secure: TLSSocket) => waiting.get(keyOf(secure))?.(new Error(`TLS: ${error.message}`)));
  return (socket, deadline) =>
    new Promise((resolve, reject) => {
      const key = keyOf(socket);
      const settle = (outcome: TLSSocket | Error): void => {
        if (waiting.get(key) !== settle) return;
        waiting.delete(key);
        clearTimeout(timer);
        socket.off('close', onClose);
        if (outcome instanceof Error) {
          reject(outcome);
          return;
        }
        outcome.on('error', () => undefined);
        resolve(outcome);
      };
      const onClose = (): void => settle(new Error('the connection closed during the TLS handshake (a client without a certificate the CA signed is refused)'));
      const timer = setTimeout(() => settle(new Error('the TLS handshake took too long')), Math.max(0, deadline - Date.now()));
      waiting.set(key, settle);
      socket.once('close', onClose);
      server.emit('connection', socket);
    });
}

/** What a client tells a server whose proof it found wrong, before it hangs up. */
const PROOF_REFUSED = 'your proof does not check out';

/** Ends a handshake with an unsealed refusal (the client has not proved itself, so nothing it could trust is owed). */
function refuseUnsealed(socket: Socket, reason: string): void {
  socket.end(encodeFrame({ t: 'refused', reason }));
}

async function serverHandshake(socket: Socket, remoteAddress: string, options: WireServerOptions, deadline: number): Promise<void> {
  const decoder = new FrameDecoder();
  const serverNonce = nonce();
  const challenge = encodeBody({ t: 'challenge', v: WIRE_VERSION, nonce: serverNonce, id: options.id });
  socket.write(lengthPrefixed(challenge));
  const helloBytes = await readFrame(socket, decoder, deadline);
  const first = parseBody(helloBytes);
  const version = versionMismatch(first);
  if (version !== null) {
    refuseUnsealed(socket, version.refusal);
    throw new Error(`refused ${version.who}: ${version.refusal}`);
  }
  const parsed = helloFrame.safeParse(first);
  if (!parsed.success) throw new Error('the first frame was not a valid hello');
  const hello = parsed.data;
  if (hello.to !== options.id) {
    // Not proved for: a hello meant for another member (relayed here) gets nothing to use there.
    const refusal = `this is "${options.id}", not "${hello.to}"`;
    refuseUnsealed(socket, refusal);
    throw new Error(`refused ${hello.role} "${hello.id}": ${refusal}`);
  }
  const key = roleKey(hello.role, options.token);
  const instance = options.instance ?? PROCESS_INSTANCE;
  const serverProof = encodeBody({ t: 'server-proof', instance, proof: handshakeProof(key, 'server', [challenge, helloBytes, Buffer.from(instance)]) });
  socket.write(lengthPrefixed(serverProof));
  const clientProofBytes = await readFrame(socket, decoder, deadline);
  const answer = parseBody(clientProofBytes);
  if (refusedFrame.safeParse(answer).success) {
    throw new Error(`${hello.role} "${hello.id.slice(0, 64)}" found this end's proof wrong: the two ends have different ${hello.role === 'peer' ? 'cluster' : 'console'} tokens`);
  }
  const clientProof = clientProofFrame.safeParse(answer);
  if (!clientProof.success || !proofsEqual(handshakeProof(key, 'client', [challenge, helloBytes, serverProof]), clientProof.data.proof)) {
    refuseUnsealed(socket, 'authentication failed');
    throw new Error(`authentication failed (${hello.role} "${hello.id.slice(0, 64)}")`);
  }
  const keys = sessionKeys(key, [challenge, helloBytes, serverProof, clientProofBytes], 'server');
  const connection = new WireConnection(socket, decoder, new FrameSealer(keys.send), new FrameOpener(keys.receive), hello.id, hello.role, remoteAddress);
  const refusal = options.admit(hello, remoteAddress);
  if (refusal !== null) {
    connection.send({ t: 'refused', reason: refusal.slice(0, 500) });
    connection.close(refusal);
    throw new HandshakeRefusal(`refused ${hello.role} "${hello.id}": ${refusal}`, true);
  }
  connection.send({ t: 'welcome', ...options.welcome?.() });
  options.onConnection(connection, hello);
  connection.start();
}

export interface DialOptions {
  address: string;
  /** A peer's: the cluster token. A console's: the console token, or the cluster token it is made from (only the console token is used). */
  token: string;
  role: Role;
  id: string;
  /** The id of the server we mean to reach (a peer: the member it dials); one that answers as another is refused before it gets our hello. Else whoever answers. */
  expectId?: string;
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

export interface Dialed {
  connection: WireConnection;
  welcome: Welcome;
  serverId: string;
  /** The instance the server's process drew when it started. */
  serverInstance: string;
}

/** Connects and authenticates both ways (the server first); resolves with the connection and the server's welcome. */
export async function dialWire(options: DialOptions): Promise<Dialed> {
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
  const secret = options.role === 'peer' ? 'cluster token' : 'console token';
  try {
    const challengeBytes = await readFrame(socket, decoder, deadline);
    const challenge = challengeFrame.safeParse(parseBody(challengeBytes));
    if (!challenge.success) throw new DialError(`${options.address} is not a Conclave agent (no valid challenge)`, true);
    if (challenge.data.v !== WIRE_VERSION) {
      throw new DialError(`${options.address} speaks wire version ${challenge.data.v} and this end ${WIRE_VERSION}: run the same Conclave version everywhere`, true);
    }
    const serverId = challenge.data.id;
    if (options.expectId !== undefined && serverId !== options.expectId) throw new DialError(`${options.address} answered as "${serverId.slice(0, 64)}", not "${options.expectId}"`, true);
    const hello = encodeBody({
      t: 'hello',
      v: WIRE_VERSION,
      role: options.role,
      id: options.id,
      to: options.expectId ?? serverId,
      nonce: nonce(),
      instance: options.instance ?? PROCESS_INSTANCE,
      ...(options.membership === undefined ? {} : { membership: options.membership }),
      ...(options.fingerprint === undefined ? {} : { fingerprint: options.fingerprint }),
    });
    socket.write(lengthPrefixed(hello));
    const serverProofBytes = await readFrame(socket, decoder, deadline);
    const second = parseBody(serverProofBytes);
    const early = refusedFrame.safeParse(second);
    if (early.success) throw new DialError(`${options.address} refused us: ${early.data.reason}`, true);
    const serverProof = serverProofFrame.safeParse(second);
    if (!serverProof.success) throw new DialError(`${options.address} answered the hello with something else than its proof`, true);
    const key = roleKey(options.role, options.token);
    // Nothing of ours that could be tried against guesses goes to a server that has not proved it knows the key.
    if (!proofsEqual(handshakeProof(key, 'server', [challengeBytes, hello, Buffer.from(serverProof.data.instance)]), serverProof.data.proof)) {
      socket.end(encodeFrame({ t: 'refused', reason: PROOF_REFUSED }));
      throw new DialError(`${options.address} could not prove it knows the ${secret}: it, or this end, has another one`, true);
    }
    const clientProof = encodeBody({ t: 'client-proof', proof: handshakeProof(key, 'client', [challengeBytes, hello, serverProofBytes]) });
    socket.write(lengthPrefixed(clientProof));
    const keys = sessionKeys(key, [challengeBytes, hello, serverProofBytes, clientProof], 'client');
    const opener = new FrameOpener(keys.receive);
    const answer = await readFrame(socket, decoder, deadline);
    let opened: unknown;
    try {
      opened = opener.open(answer);
    } catch {
      const unsealed = refusedFrame.safeParse(safeParse(answer));
      if (unsealed.success) throw new DialError(`${options.address} refused us: ${unsealed.data.reason}${unsealed.data.reason === 'authentication failed' ? ` (is the ${secret} right?)` : ''}`, true);
      throw new DialError(`${options.address} answered our proof with a frame that fails its authentication check`, true);
    }
    const refused = refusedFrame.safeParse(opened);
    if (refused.success) throw new DialError(`${options.address} refused us: ${refused.data.reason}`, true);
    const welcome = welcomeFrame.safeParse(opened);
    if (!welcome.success) throw new DialError(`${options.address} answered our proof with something else than a welcome`, true);
    const connection = new WireConnection(socket, decoder, new FrameSealer(keys.send), opener, serverId, options.role === 'peer' ? 'peer' : 'server', options.address);
    // Once the caller has its listeners on: it gets the connection after this function returns.
    setImmediate(() => connection.start());
    return { connection, welcome: welcome.data, serverId, serverInstance: serverProof.data.instance };
  } catch (error) {
    socket.destroy();
    if (error instanceof DialError) throw error;
    throw new DialError(`${options.address}: ${error instanceof Error ? error.message : String(error)}`, false);
  }
}

function safeParse(body: Buffer): unknown {
  try {
    return parseBody(body);
  } catch {
    return null;
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
