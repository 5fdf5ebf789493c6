/**
 * A recorded run as JSON Lines: a header line, then one line per event ({"event": ...}) and per
 * message ({"message": ...}). Exported by the hub at /export.jsonl, imported by the dashboard to
 * replay. Parsing checks every line and names the first bad one.
 */
import { parseElectionConfig } from '../core/config.js';
import { ALGORITHMS, type AlgorithmName, type ElectionConfig } from '../core/election.js';
import { parseClusterEvent, parseMessageAggregate, parseMessageRecord } from './events.js';
import type { MessageAggregate, MessageRecord } from './messages.js';
import type { ClusterEvent, ClusterEventBody } from './types.js';
import { ValidationError, expectArray, expectNumber, expectObject, expectOneOf, expectString, isPlainObject } from './validate.js';

export const RUN_FORMAT = 'conclave-run';
export const RUN_FORMAT_VERSION = 1;
export const MAX_RUN_FILE_BYTES = 100 * 1024 * 1024;

export interface RunHeader {
  format: typeof RUN_FORMAT;
  version: typeof RUN_FORMAT_VERSION;
  algorithm: AlgorithmName;
  config: ElectionConfig;
  members: string[];
  /** Wall-clock epoch ms of the export. */
  exportedAt: number;
  /**
   * Cluster time from which the record holds every message whole; before it, only counts per
   * link and category (`aggregate` lines). Absent or null: every message recorded is whole.
   */
  messageDetailFromT?: number | null;
  /**
   * What was in force when the first recorded event happened, as events without seq, t and at
   * (each node's status and run state, the leader, the partition, link faults, the clock): a long
   * run's export keeps only its latest events. Absent: the record starts at the run's start.
   */
  initial?: ClusterEventBody[];
}

export interface RunRecord {
  header: RunHeader;
  events: ClusterEvent[];
  messages: MessageRecord[];
  /** Messages counted per link and category over stretches before `header.messageDetailFromT`. */
  aggregates: MessageAggregate[];
}

export function serializeRunLines(record: RunRecord): Generator<string> {
  return (function* lines() {
    yield JSON.stringify(record.header);
    for (const event of record.events) yield JSON.stringify({ event });
    for (const aggregate of record.aggregates) yield JSON.stringify({ aggregate });
    for (const message of record.messages) yield JSON.stringify({ message });
  })();
}

function parseHeader(value: unknown): RunHeader {
  if (!isPlainObject(value) || value.format !== RUN_FORMAT) {
    throw new ValidationError(`this is not a Conclave run: the first line must be a header with "format": "${RUN_FORMAT}"`);
  }
  const input = expectObject(value, 'header', ['format', 'version', 'algorithm', 'config', 'members', 'exportedAt', 'messageDetailFromT', 'initial']);
  if (input.version !== RUN_FORMAT_VERSION) {
    throw new ValidationError(`header.version ${String(input.version)} is not supported (this Conclave reads version ${RUN_FORMAT_VERSION})`);
  }
  const members = expectArray(input.members, 'header.members', 1_000).map((id, i) => expectString(id, `header.members[${i}]`, 64));
  if (members.length === 0) throw new ValidationError('header.members must name at least one node');
  return {
    format: RUN_FORMAT,
    version: RUN_FORMAT_VERSION,
    algorithm: expectOneOf(input.algorithm, 'header.algorithm', ALGORITHMS),
    config: parseElectionConfig(input.config, 'header.config'),
    members,
    exportedAt: expectNumber(input.exportedAt, 'header.exportedAt', 0, Number.MAX_SAFE_INTEGER),
    ...(input.messageDetailFromT === undefined || input.messageDetailFromT === null
      ? {}
      : { messageDetailFromT: expectNumber(input.messageDetailFromT, 'header.messageDetailFromT', 0, Number.MAX_SAFE_INTEGER) }),
    ...(input.initial === undefined ? {} : { initial: expectArray(input.initial, 'header.initial', 100_000).map((body, i) => parseInitial(body, `header.initial[${i}]`)) }),
  };
}

/** One event of a record's initial state: an event body, checked as events are. */
function parseInitial(value: unknown, path: string): ClusterEventBody {
  if (!isPlainObject(value) || 'seq' in value || 't' in value || 'at' in value) throw new ValidationError(`${path} must be an event without seq, t and at`);
  const { seq: _seq, t: _t, at: _at, ...body } = parseClusterEvent({ ...value, seq: 1, t: 0, at: 0 }, path);
  return body as ClusterEventBody;
}

/** Parses a whole run; throws a ValidationError naming the line of the first problem. */
export function parseRun(text: string): RunRecord {
  const lines = text.split('\n');
  let header: RunHeader | null = null;
  const events: ClusterEvent[] = [];
  const messages: MessageRecord[] = [];
  const aggregates: MessageAggregate[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '') continue;
    const where = `line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new ValidationError(`${where}: not valid JSON`);
    }
    try {
      if (header === null) {
        header = parseHeader(value);
        continue;
      }
      if (isPlainObject(value) && 'event' in value) {
        expectObject(value, 'line', ['event']);
        const event = parseClusterEvent(value.event);
        const previous = events.at(-1);
        if (previous !== undefined && (event.seq <= previous.seq || event.t < previous.t)) {
          throw new ValidationError(`event ${event.seq} is out of order (after event ${previous.seq})`);
        }
        if ('nodeId' in event && !header.members.includes(event.nodeId)) throw new ValidationError(`event ${event.seq} names ${event.nodeId}, which is not a member`);
        events.push(event);
      } else if (isPlainObject(value) && 'aggregate' in value) {
        expectObject(value, 'line', ['aggregate']);
        aggregates.push(parseMessageAggregate(value.aggregate));
      } else if (isPlainObject(value) && 'message' in value) {
        expectObject(value, 'line', ['message']);
        messages.push(parseMessageRecord(value.message));
      } else {
        throw new ValidationError('expected {"event": ...}, {"aggregate": ...} or {"message": ...}');
      }
    } catch (error) {
      if (error instanceof ValidationError) throw new ValidationError(`${where}: ${error.message}`);
      throw error;
    }
  }
  if (header === null) throw new ValidationError('the file is empty');
  return { header, events, messages, aggregates };
}
