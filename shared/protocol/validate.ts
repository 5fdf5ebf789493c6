/**
 * Small runtime validators for everything that comes from outside (Socket.IO payloads,
 * CLI flags, files). Types are not validation: each function checks the value and throws
 * a ValidationError whose message names the offending field and what was expected.
 */
export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : typeof value;
}

export function fail(path: string, expected: string, value: unknown): never {
  throw new ValidationError(`${path} must be ${expected} (got ${describe(value)})`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object whose keys are all in `allowed`; unknown keys are refused so typos do not pass silently. */
export function expectObject(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) fail(path, 'an object', value);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(`${path} has an unknown field "${key.slice(0, 40)}" (allowed: ${allowed.join(', ')})`);
    }
  }
  return value;
}

export function expectNumber(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'a finite number', value);
  if (value < min || value > max) fail(path, `between ${min} and ${max}`, value);
  return value;
}

export function expectInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, 'an integer', value);
  return expectNumber(value, path, min, max);
}

export function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'true or false', value);
  return value;
}

export function expectString(value: unknown, path: string, maxLength: number): string {
  if (typeof value !== 'string') fail(path, 'a string', value);
  if (value.length === 0) fail(path, 'a non-empty string', value);
  if (value.length > maxLength) fail(path, `at most ${maxLength} characters`, value);
  return value;
}

export function expectOneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
    fail(path, `one of ${options.join(', ')}`, value);
  }
  return value as T;
}

export function expectArray(value: unknown, path: string, maxLength: number): unknown[] {
  if (!Array.isArray(value)) fail(path, 'an array', value);
  if (value.length > maxLength) fail(path, `at most ${maxLength} items`, `${value.length} items`);
  return value;
}

/** True when a payload's JSON text is longer than `limit` characters (or cannot be serialized). */
export function exceedsJsonSize(value: unknown, limit: number): boolean {
  try {
    return JSON.stringify(value).length > limit;
  } catch {
    return true;
  }
}
