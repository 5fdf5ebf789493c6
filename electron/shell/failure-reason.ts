/**
 * The one line that says why a child process failed, out of what it wrote to stderr: a Node
 * error ends in a stack trace and a "Node.js v20" footer, Chromium prefixes its log lines, and
 * the user needs the message, not the noise.
 */

const REASON_LENGTH_MAX = 300;
const NOISE = [/^at\s/, /^Node\.js v\d/, /^\^+$/];
const CHROMIUM_LOG_PREFIX = /^\[[^\]]*:(?:FATAL|ERROR|WARNING|INFO|VERBOSE\d*):[^\]]*\]\s*/;
const ERROR_LINE = /^[A-Za-z]*Error\b/;

/** The last error line (`TypeError: ...`), else the last meaningful line, or null for silence. */
export function failureReason(stderr: string): string | null {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim().replace(CHROMIUM_LOG_PREFIX, '').replace(/\s+/g, ' '))
    .filter((line) => line !== '' && !NOISE.some((pattern) => pattern.test(line)));
  const line = lines.findLast((candidate) => ERROR_LINE.test(candidate)) ?? lines.at(-1);
  if (line === undefined) return null;
  return line.length > REASON_LENGTH_MAX ? `${line.slice(0, REASON_LENGTH_MAX - 3)}...` : line;
}

/** Output kept to find a reason in: the reason is at the end, and a chatty child must not fill memory. */
const OUTPUT_KEPT_MAX = 64 * 1024;

export function keepTail(kept: string, chunk: Buffer | string): string {
  const text = kept + chunk.toString();
  return text.length > OUTPUT_KEPT_MAX ? text.slice(-OUTPUT_KEPT_MAX) : text;
}
