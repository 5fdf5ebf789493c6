/**
 * Framing: a 4-byte big-endian length, then that many bytes of UTF-8 JSON. The decoder refuses a
 * frame announced above the limit before buffering it, so a peer cannot make us hold more.
 */
import { FRAME_BYTES_MAX } from '../../shared/protocol/agent-wire.js';

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeFrame(value: unknown, limit = FRAME_BYTES_MAX): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  if (body.length > limit) throw new FrameError(`frame of ${body.length} bytes is above the ${limit}-byte limit`);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Turns a byte stream into parsed JSON values; throws FrameError on an oversized or malformed frame. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly limit = FRAME_BYTES_MAX) {}

  /** Every complete frame in the bytes received so far. */
  push(chunk: Buffer): unknown[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: unknown[] = [];
    for (;;) {
      if (this.pendingBytes < 4) return frames;
      const buffer = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      const length = buffer.readUInt32BE(0);
      if (length > this.limit) throw new FrameError(`frame of ${length} bytes announced, above the ${this.limit}-byte limit`);
      if (buffer.length < 4 + length) {
        this.pending = [buffer];
        return frames;
      }
      const text = buffer.toString('utf8', 4, 4 + length);
      const rest = buffer.subarray(4 + length);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      try {
        frames.push(JSON.parse(text));
      } catch {
        throw new FrameError('a frame is not valid JSON');
      }
    }
  }
}
