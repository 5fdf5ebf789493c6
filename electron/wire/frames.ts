/**
 * Framing: a 4-byte big-endian length, then that many bytes. Handshake frames are UTF-8 JSON;
 * every later frame is UTF-8 JSON followed by a MAC that the sealer and opener of its direction
 * compute with the connection's session key. The decoder refuses a frame announced above the
 * limit before buffering it, so a peer cannot make us hold more.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { FRAME_BYTES_MAX } from '../../shared/protocol/agent-wire.js';

/** Bytes of a frame's MAC: HMAC-SHA256 truncated to 128 bits. */
export const MAC_BYTES = 16;
/** Why a connection closes on a frame that fails its MAC check. */
export const FRAME_AUTHENTICATION_FAILED = 'a frame failed its authentication check (altered, injected, replayed or reordered on the way)';

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** A frame already written as JSON text, sent as it is (a test playing a broken or hostile end writes what JSON.stringify would not). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A value as a frame's bytes (UTF-8 JSON), if it fits in `limit`. */
export function encodeBody(value: unknown, limit = FRAME_BYTES_MAX): Buffer {
  const body = Buffer.from(value instanceof RawJson ? value.text : JSON.stringify(value), 'utf8');
  if (body.length > limit) throw new FrameError(`frame of ${body.length} bytes is above the ${limit}-byte limit`);
  return body;
}

/** A frame on the wire: the length, then the parts. */
export function lengthPrefixed(...parts: Buffer[]): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  let at = 4;
  for (const part of parts) at += part.copy(frame, at);
  return frame;
}

/** An unsealed (handshake) frame. */
export function encodeFrame(value: unknown, limit = FRAME_BYTES_MAX): Buffer {
  return lengthPrefixed(encodeBody(value, limit));
}

export function parseBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new FrameError('a frame is not valid JSON');
  }
}

/** Cuts a byte stream into frames; throws FrameError on a frame announced above the limit. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly limit = FRAME_BYTES_MAX) {}

  append(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /** The next complete frame's bytes (without the length), or null until more arrive. */
  next(): Buffer | null {
    if (this.pendingBytes < 4) return null;
    const buffer = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [buffer];
    const length = buffer.readUInt32BE(0);
    if (length > this.limit) throw new FrameError(`frame of ${length} bytes announced, above the ${this.limit}-byte limit`);
    if (buffer.length < 4 + length) return null;
    const rest = buffer.subarray(4 + length);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return buffer.subarray(4, 4 + length);
  }

  /** Every complete unsealed frame in the bytes received so far, parsed. */
  push(chunk: Buffer): unknown[] {
    this.append(chunk);
    const frames: unknown[] = [];
    for (let body = this.next(); body !== null; body = this.next()) frames.push(parseBody(body));
    return frames;
  }
}

/**
 * The MAC of the frame numbered `sequence` in its direction: a frame cannot be altered, injected,
 * replayed, dropped or moved without the next check failing, since each side counts its own.
 */
function mac(key: Buffer, sequence: number, body: Buffer): Buffer {
  const counter = Buffer.alloc(8);
  counter.writeUIntBE(sequence, 2, 6);
  return createHmac('sha256', key).update(counter).update(body).digest().subarray(0, MAC_BYTES);
}

/** Seals the frames one side sends: JSON, then its MAC under the direction's key. */
export class FrameSealer {
  private sequence = 0;

  constructor(private readonly key: Buffer) {}

  seal(value: unknown): Buffer {
    const body = encodeBody(value, FRAME_BYTES_MAX - MAC_BYTES);
    const frame = lengthPrefixed(body, mac(this.key, this.sequence, body));
    this.sequence += 1;
    return frame;
  }
}

/** Checks and parses the frames one side receives; throws FrameError naming what is wrong. */
export class FrameOpener {
  private sequence = 0;

  constructor(private readonly key: Buffer) {}

  open(frame: Buffer): unknown {
    if (frame.length < MAC_BYTES) throw new FrameError(FRAME_AUTHENTICATION_FAILED);
    const body = frame.subarray(0, frame.length - MAC_BYTES);
    if (!timingSafeEqual(mac(this.key, this.sequence, body), frame.subarray(frame.length - MAC_BYTES))) throw new FrameError(FRAME_AUTHENTICATION_FAILED);
    this.sequence += 1;
    return parseBody(body);
  }
}
