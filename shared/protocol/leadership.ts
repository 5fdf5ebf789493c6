/**
 * The bounds and runtime checks of priorities, capabilities and the preferred-leader rule
 * (shared/core/leadership.ts) wherever they come from outside: `/control` commands, scenarios,
 * recorded events, the cluster file (its zod schema reuses these bounds).
 */
import { MAX_PRIORITY, type Capabilities, type CapabilityValue, type PreferredLeaderRule } from '../core/leadership.js';
import { ValidationError, expectInteger, expectNumber, expectObject, expectOneOf, expectString, fail, isPlainObject } from './validate.js';

/** A node advertises at most this many capabilities... */
export const MAX_CAPABILITIES = 16;
/** ...named like this ("loadavg", "zone", "disk.ssd")... */
export const CAPABILITY_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,31}$/;
/** ...each a number, a boolean, or a string of at most this many characters. */
export const MAX_CAPABILITY_TEXT = 64;
/** What every `conclave agent` measures about itself and advertises besides its cluster file's facts (electron/agent/capabilities.ts). */
export const MEASURED_CAPABILITIES = ['loadavg', 'freememMb', 'uptimeS', 'version'] as const;
/** A cluster file's member lists at most this many facts of its own, so that with the measured ones it stays within MAX_CAPABILITIES. */
export const MAX_STATIC_CAPABILITIES = MAX_CAPABILITIES - MEASURED_CAPABILITIES.length;
/** A rule's margin and a capability's number stay within this (finite, JSON-safe, on screen). */
export const MAX_CAPABILITY_NUMBER = 1e12;
/** The longest stable period and takeover delay. */
export const MAX_LEADERSHIP_MS = 3_600_000;
export const DEFAULT_RULE_STABLE_MS = 10_000;
export const PREFER_DIRECTIONS = ['lowest', 'highest'] as const;

export function parsePriority(value: unknown, path: string): number {
  return expectInteger(value, path, 0, MAX_PRIORITY);
}

export function parseCapabilityKey(value: unknown, path: string): string {
  const key = expectString(value, path, 32);
  if (!CAPABILITY_KEY_PATTERN.test(key)) fail(path, 'a name of letters, digits, dots, dashes or underscores starting with a letter (at most 32)', key);
  return key;
}

export function parseCapabilities(value: unknown, path: string): Capabilities {
  if (!isPlainObject(value)) fail(path, 'an object of facts like { "loadavg": 0.4, "zone": "a", "ssd": true }', value);
  const entries = Object.entries(value);
  if (entries.length > MAX_CAPABILITIES) throw new ValidationError(`${path} has ${entries.length} capabilities; at most ${MAX_CAPABILITIES}`);
  const capabilities: Record<string, CapabilityValue> = {};
  for (const [key, item] of entries) {
    const name = parseCapabilityKey(key, `${path} key "${key.slice(0, 40)}"`);
    if (typeof item === 'boolean') capabilities[name] = item;
    else if (typeof item === 'number') capabilities[name] = expectNumber(item, `${path}.${name}`, -MAX_CAPABILITY_NUMBER, MAX_CAPABILITY_NUMBER);
    else if (typeof item === 'string') capabilities[name] = expectString(item, `${path}.${name}`, MAX_CAPABILITY_TEXT);
    else fail(`${path}.${name}`, 'a number, a boolean or a string', item);
  }
  return capabilities;
}

/** A rule: `capability` and `prefer` are required; `margin` defaults to 0, `stableMs` to DEFAULT_RULE_STABLE_MS. */
export function parsePreferredLeaderRule(value: unknown, path: string): PreferredLeaderRule {
  const input = expectObject(value, path, ['capability', 'prefer', 'margin', 'stableMs']);
  return {
    capability: parseCapabilityKey(input.capability, `${path}.capability`),
    prefer: expectOneOf(input.prefer, `${path}.prefer`, PREFER_DIRECTIONS),
    margin: input.margin === undefined ? 0 : expectNumber(input.margin, `${path}.margin`, 0, MAX_CAPABILITY_NUMBER),
    stableMs: input.stableMs === undefined ? DEFAULT_RULE_STABLE_MS : expectInteger(input.stableMs, `${path}.stableMs`, 0, MAX_LEADERSHIP_MS),
  };
}

export function parseTakeoverAfterMs(value: unknown, path: string): number {
  return expectInteger(value, path, 1, MAX_LEADERSHIP_MS);
}

/** A change of the rules: `takeoverAfterMs` (null: the default), `preferredLeader` (null: none), or both; a field left out stays as it is. */
export interface LeadershipChange {
  takeoverAfterMs?: number | null;
  preferredLeader?: PreferredLeaderRule | null;
}

/** The two fields of a `leadership` command or scenario step, from an object already checked for unknown fields. */
export function parseLeadershipChange(input: Record<string, unknown>, path: string): LeadershipChange {
  if (input.takeoverAfterMs === undefined && input.preferredLeader === undefined) {
    throw new ValidationError(`${path} changes "takeoverAfterMs" (ms, or null for the default), "preferredLeader" (a rule, or null for none), or both`);
  }
  const change: LeadershipChange = {};
  if (input.takeoverAfterMs !== undefined) change.takeoverAfterMs = input.takeoverAfterMs === null ? null : parseTakeoverAfterMs(input.takeoverAfterMs, `${path}.takeoverAfterMs`);
  if (input.preferredLeader !== undefined) change.preferredLeader = input.preferredLeader === null ? null : parsePreferredLeaderRule(input.preferredLeader, `${path}.preferredLeader`);
  return change;
}

/** "lowest loadavg (margin 0.5, stable for 10 s)" */
export function describeRule(rule: PreferredLeaderRule): string {
  return `${rule.prefer} ${rule.capability} (margin ${rule.margin}, stable for ${rule.stableMs / 1000} s)`;
}

/** "loadavg=0.4, zone=a" */
export function describeCapabilities(capabilities: Capabilities): string {
  const entries = Object.entries(capabilities);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key}=${String(value)}`).join(', ');
}
