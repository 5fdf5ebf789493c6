/**
 * Runtime validation of recorded events and message records, for runs imported from files:
 * every field is checked, and the error names the field.
 */
import { ROLES } from '../core/election.js';
import { parseCapabilities, parsePreferredLeaderRule, parsePriority, parseTakeoverAfterMs } from './leadership.js';
import type { LinkFault } from './faults.js';
import { MESSAGE_CATEGORIES, type MessageAggregate, type MessageRecord } from './messages.js';
import type { ScenarioReport } from '../scenario/format.js';
import type { ClusterEvent, ClusterEventType } from './types.js';
import {
  ValidationError,
  expectArray,
  expectBoolean,
  expectInteger,
  expectNumber,
  expectObject,
  expectOneOf,
  expectString,
  fail,
  isPlainObject,
} from './validate.js';

export const EVENT_TYPES: readonly ClusterEventType[] = [
  'status',
  'role',
  'leader',
  'vote',
  'kill',
  'restart',
  'pause',
  'resume',
  'partition',
  'link',
  'heal',
  'transfer',
  'priority',
  'capabilities',
  'leadership',
  'clock',
  'quorum',
  'leader-lost',
  'traffic',
  'term-refused',
  'scenario',
];

const ID = 64;
const TEXT = 400;
const MAX_NODES_IN_EVENT = 1_000;

const id = (value: unknown, path: string): string => expectString(value, path, ID);
const nullable = <T>(value: unknown, path: string, parse: (value: unknown, path: string) => T): T | null =>
  value === null ? null : parse(value, path);
const optional = <T>(value: unknown, path: string, parse: (value: unknown, path: string) => T): T | undefined =>
  value === undefined ? undefined : parse(value, path);
const term = (value: unknown, path: string): number => expectInteger(value, path, 0, Number.MAX_SAFE_INTEGER);
const ids = (value: unknown, path: string): string[] => expectArray(value, path, MAX_NODES_IN_EVENT).map((item, i) => id(item, `${path}[${i}]`));

function linkFault(value: unknown, path: string): LinkFault {
  const input = expectObject(value, path, ['cut', 'dropProbability', 'latencyMs', 'jitterMs', 'duplicateProbability']);
  return {
    cut: expectBoolean(input.cut, `${path}.cut`),
    dropProbability: expectNumber(input.dropProbability, `${path}.dropProbability`, 0, 1),
    latencyMs: nullable(input.latencyMs, `${path}.latencyMs`, (v, p) => expectNumber(v, p, 0, 1e7)),
    jitterMs: nullable(input.jitterMs, `${path}.jitterMs`, (v, p) => expectNumber(v, p, 0, 1e7)),
    duplicateProbability: expectNumber(input.duplicateProbability, `${path}.duplicateProbability`, 0, 1),
  };
}

/** Fields of each event type besides type, seq, t and at, and how to read them (a field read as undefined is left out). */
const FIELDS: { [K in ClusterEventType]: Record<string, (value: unknown, path: string) => unknown> } = {
  status: {
    nodeId: id,
    role: (v, p) => expectOneOf(v, p, ROLES),
    term,
    votedFor: (v, p) => nullable(v, p, id),
    leaderId: (v, p) => nullable(v, p, id),
  },
  role: { nodeId: id, from: (v, p) => nullable(v, p, (w, q) => expectOneOf(w, q, ROLES)), to: (v, p) => expectOneOf(v, p, ROLES), term },
  leader: { nodeId: id, term },
  vote: { nodeId: id, term, votedFor: id },
  kill: { nodeId: id },
  restart: { nodeId: id },
  pause: { nodeId: id },
  resume: { nodeId: id },
  partition: {
    label: (v, p) => expectString(v, p, TEXT),
    groups: (v, p) => nullable(v, p, (w, q) => expectArray(w, q, MAX_NODES_IN_EVENT).map((group, i) => ids(group, `${q}[${i}]`))),
    blocked: (v, p) => expectArray(v, p, MAX_NODES_IN_EVENT ** 2).map((key, i) => expectString(key, `${p}[${i}]`, 2 * ID + 2)),
  },
  link: { from: (v, p) => nullable(v, p, id), to: (v, p) => nullable(v, p, id), fault: (v, p) => nullable(v, p, linkFault) },
  heal: { faultId: (v, p) => nullable(v, p, (w, q) => expectString(w, q, TEXT)), label: (v, p) => expectString(v, p, TEXT) },
  transfer: { from: id, to: id, reason: (v, p) => optional(v, p, (w, q) => expectString(w, q, TEXT)) },
  priority: { nodeId: id, priority: parsePriority, previous: parsePriority },
  capabilities: { nodeId: id, capabilities: parseCapabilities },
  leadership: { takeoverAfterMs: parseTakeoverAfterMs, preferredLeader: (v, p) => nullable(v, p, parsePreferredLeaderRule) },
  clock: { speed: (v, p) => expectNumber(v, p, 0, 1) },
  quorum: { leaderId: (v, p) => nullable(v, p, id), term: (v, p) => nullable(v, p, term) },
  'leader-lost': { leaderId: id, term, cause: (v, p) => expectOneOf(v, p, ['killed', 'paused', 'cut off'] as const) },
  traffic: {
    intervalMs: (v, p) => expectNumber(v, p, 1, 3_600_000),
    sent: (v, p) => {
      if (!isPlainObject(v)) fail(p, 'an object of counts per message kind', v);
      // No prototype: a kind named "__proto__" or "constructor" is a count like any other.
      const counts: Record<string, number> = Object.create(null) as Record<string, number>;
      for (const [kind, count] of Object.entries(v)) counts[expectString(kind, `${p} key`, ID)] = expectInteger(count, `${p}.${kind}`, 0, Number.MAX_SAFE_INTEGER);
      return counts;
    },
    dropped: (v, p) => expectInteger(v, p, 0, Number.MAX_SAFE_INTEGER),
  },
  'term-refused': { nodeId: id, from: id, term, ownTerm: term, refused: (v, p) => expectInteger(v, p, 1, Number.MAX_SAFE_INTEGER) },
  scenario: {
    name: (v, p) => expectString(v, p, TEXT),
    status: (v, p) => expectOneOf(v, p, ['started', 'finished', 'stopped'] as const),
    durationMs: (v, p) => expectNumber(v, p, 0, Number.MAX_SAFE_INTEGER),
    report: (v, p) => nullable(v, p, scenarioReport),
  },
};

function scenarioReport(value: unknown, path: string): ScenarioReport {
  const input = expectObject(value, path, ['name', 'passed', 'startedT', 'endedT', 'stopped', 'steps', 'assertions', 'undone', 'kept', 'metrics']);
  const count = (v: unknown, p: string): number => expectNumber(v, p, 0, Number.MAX_SAFE_INTEGER);
  const metrics = expectObject(input.metrics, `${path}.metrics`, [
    'elections',
    'leaderChanges',
    'failovers',
    'failoverP50Ms',
    'failoverP99Ms',
    'leaderlessMs',
    'availability',
    'safetyViolations',
  ]);
  return {
    name: expectString(input.name, `${path}.name`, TEXT),
    passed: expectBoolean(input.passed, `${path}.passed`),
    startedT: count(input.startedT, `${path}.startedT`),
    endedT: count(input.endedT, `${path}.endedT`),
    stopped: expectBoolean(input.stopped, `${path}.stopped`),
    steps: expectArray(input.steps, `${path}.steps`, 10_000).map((step, i) => {
      const at = `${path}.steps[${i}]`;
      const fields = expectObject(step, at, ['t', 'label', 'ok', 'note']);
      return {
        t: count(fields.t, `${at}.t`),
        label: expectString(fields.label, `${at}.label`, TEXT),
        ok: expectBoolean(fields.ok, `${at}.ok`),
        ...(fields.note === undefined ? {} : { note: expectString(fields.note, `${at}.note`, TEXT) }),
      };
    }),
    assertions: expectArray(input.assertions, `${path}.assertions`, 1_000).map((assertion, i) => {
      const at = `${path}.assertions[${i}]`;
      const fields = expectObject(assertion, at, ['description', 'passed', 'detail']);
      return {
        description: expectString(fields.description, `${at}.description`, TEXT),
        passed: expectBoolean(fields.passed, `${at}.passed`),
        detail: expectString(fields.detail, `${at}.detail`, 4_000),
      };
    }),
    // Runs recorded before faults were undone at the end have neither list.
    undone: expectArray(input.undone ?? [], `${path}.undone`, 10_000).map((label, i) => expectString(label, `${path}.undone[${i}]`, TEXT)),
    kept: expectArray(input.kept ?? [], `${path}.kept`, 10_000).map((label, i) => expectString(label, `${path}.kept[${i}]`, TEXT)),
    metrics: {
      elections: count(metrics.elections, `${path}.metrics.elections`),
      leaderChanges: count(metrics.leaderChanges, `${path}.metrics.leaderChanges`),
      failovers: count(metrics.failovers, `${path}.metrics.failovers`),
      failoverP50Ms: nullable(metrics.failoverP50Ms, `${path}.metrics.failoverP50Ms`, count),
      failoverP99Ms: nullable(metrics.failoverP99Ms, `${path}.metrics.failoverP99Ms`, count),
      leaderlessMs: count(metrics.leaderlessMs, `${path}.metrics.leaderlessMs`),
      availability: expectNumber(metrics.availability, `${path}.metrics.availability`, 0, 1),
      safetyViolations: count(metrics.safetyViolations, `${path}.metrics.safetyViolations`),
    },
  };
}

export function parseClusterEvent(value: unknown, path = 'event'): ClusterEvent {
  if (!isPlainObject(value)) fail(path, 'an object', value);
  const type = expectOneOf(value.type, `${path}.type`, EVENT_TYPES);
  const fields = FIELDS[type];
  const input = expectObject(value, `${path} (${type})`, ['type', 'seq', 't', 'at', ...Object.keys(fields)]);
  const event: Record<string, unknown> = {
    type,
    seq: expectInteger(input.seq, `${path}.seq`, 1, Number.MAX_SAFE_INTEGER),
    t: expectNumber(input.t, `${path}.t`, 0, Number.MAX_SAFE_INTEGER),
    at: expectNumber(input.at, `${path}.at`, 0, Number.MAX_SAFE_INTEGER),
  };
  for (const [name, read] of Object.entries(fields)) {
    const field = read(input[name], `${path}.${name}`);
    if (field !== undefined) event[name] = field;
  }
  return event as ClusterEvent;
}

export function parseMessageRecord(value: unknown, path = 'message'): MessageRecord {
  const input = expectObject(value, path, ['from', 'to', 'kind', 'category', 'sentT', 'deliverT', 'duplicate']);
  const sentT = expectNumber(input.sentT, `${path}.sentT`, 0, Number.MAX_SAFE_INTEGER);
  const deliverT = nullable(input.deliverT, `${path}.deliverT`, (v, p) => expectNumber(v, p, 0, Number.MAX_SAFE_INTEGER));
  if (deliverT !== null && deliverT < sentT) throw new ValidationError(`${path}.deliverT must not be before sentT`);
  return {
    from: id(input.from, `${path}.from`),
    to: id(input.to, `${path}.to`),
    kind: expectString(input.kind, `${path}.kind`, ID),
    category: expectOneOf(input.category, `${path}.category`, MESSAGE_CATEGORIES),
    sentT,
    deliverT,
    duplicate: expectBoolean(input.duplicate, `${path}.duplicate`),
  };
}

export function parseMessageAggregate(value: unknown, path = 'aggregate'): MessageAggregate {
  const input = expectObject(value, path, ['fromT', 'toT', 'from', 'to', 'category', 'sent', 'dropped']);
  const time = (v: unknown, p: string): number => expectNumber(v, p, 0, Number.MAX_SAFE_INTEGER);
  const fromT = time(input.fromT, `${path}.fromT`);
  const toT = time(input.toT, `${path}.toT`);
  if (toT <= fromT) throw new ValidationError(`${path}.toT must be after fromT`);
  const sent = expectInteger(input.sent, `${path}.sent`, 1, Number.MAX_SAFE_INTEGER);
  const dropped = expectInteger(input.dropped, `${path}.dropped`, 0, sent);
  return { fromT, toT, from: id(input.from, `${path}.from`), to: id(input.to, `${path}.to`), category: expectOneOf(input.category, `${path}.category`, MESSAGE_CATEGORIES), sent, dropped };
}
