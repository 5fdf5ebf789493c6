/** Runtime validation of `/control` commands: a malformed command is refused with a reason. */
import { ALGORITHMS } from '../core/election.js';
import { parsePartialConfig } from '../core/config.js';
import { parseScenario } from '../scenario/format.js';
import { HOST_PORT_PATTERN } from './cluster-file.js';
import { parseEtcdTarget } from './etcd.js';
import { parseCapabilities, parseLeadershipChange, parsePriority } from './leadership.js';
import { PARTITION_PRESETS } from './faults.js';
import { TARGET_KINDS, type Command, type CommandType, type TargetSpec } from './types.js';
import { weakTokenProblem } from './tokens.js';
import {
  ValidationError,
  exceedsJsonSize,
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

export const COMMAND_TYPES: readonly CommandType[] = [
  'kill',
  'restart',
  'pause',
  'resume',
  'transfer',
  'partition',
  'heal',
  'link',
  'clock',
  'priority',
  'capabilities',
  'leadership',
  'configure',
  'open',
  'scenario',
];
/** Addresses an `open` of an attached cluster may list (it needs one reachable agent). */
export const MAX_ATTACH_ADDRESSES = 101;
export const MAX_COMMAND_JSON_CHARS = 16_384;
/** Scenarios may be longer than other commands. */
export const MAX_SCENARIO_COMMAND_JSON_CHARS = 131_072;
/** So may an `open`: an etcd target carries its CA, client certificate and key. */
export const MAX_OPEN_COMMAND_JSON_CHARS = 131_072;
export const MAX_NODE_ID_LENGTH = 64;
/** Bounds on a command's shape (not on the cluster: unknown nodes are refused by the cluster). */
export const MAX_GROUPS = 64;
/** Nodes in one group of a partition: a side of a 1,000-node cluster. */
export const MAX_GROUP_MEMBERS = 1_000;
export const MAX_LATENCY_MS = 10_000;
export const MIN_CLOCK_SPEED = 0.05;
export const MAX_CLOCK_SPEED = 1;

export function parseNodeId(value: unknown, path: string): string {
  return expectString(value, path, MAX_NODE_ID_LENGTH);
}

function optional<T>(value: unknown, parse: (value: unknown) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

export function parseCommand(payload: unknown): Command {
  const requested = isPlainObject(payload) ? payload.type : undefined;
  const limit = requested === 'scenario' ? MAX_SCENARIO_COMMAND_JSON_CHARS : requested === 'open' ? MAX_OPEN_COMMAND_JSON_CHARS : MAX_COMMAND_JSON_CHARS;
  if (exceedsJsonSize(payload, limit)) {
    throw new ValidationError(`command is too large (limit ${limit} characters of JSON)`);
  }
  if (!isPlainObject(payload)) throw new ValidationError('command must be an object like { "type": "kill", "nodeId": "n1" }');
  const type = expectOneOf(payload.type, 'command.type', COMMAND_TYPES);
  const where = `${type} command`;
  switch (type) {
    case 'kill':
    case 'restart':
    case 'pause':
    case 'resume':
    case 'transfer': {
      const input = expectObject(payload, where, ['type', 'nodeId']);
      return { type, nodeId: parseNodeId(input.nodeId, `${where}.nodeId`) };
    }
    case 'partition': {
      const input = expectObject(payload, where, ['type', 'groups', 'preset']);
      if ((input.groups === undefined) === (input.preset === undefined)) {
        throw new ValidationError(`${where} takes either "groups" (like [["n1", "n2"], ["n3"]]) or "preset" (${PARTITION_PRESETS.join(', ')})`);
      }
      if (input.preset !== undefined) return { type, preset: expectOneOf(input.preset, `${where}.preset`, PARTITION_PRESETS) };
      const groups = expectArray(input.groups, `${where}.groups`, MAX_GROUPS).map((group, index) =>
        expectArray(group, `${where}.groups[${index}]`, MAX_GROUP_MEMBERS).map((id, position) =>
          parseNodeId(id, `${where}.groups[${index}][${position}]`),
        ),
      );
      if (groups.length === 0) throw new ValidationError(`${where}.groups must name at least one group`);
      return { type, groups };
    }
    case 'heal': {
      const input = expectObject(payload, where, ['type', 'faultId']);
      const faultId = optional(input.faultId, (value) => expectString(value, `${where}.faultId`, 200));
      return faultId === undefined ? { type } : { type, faultId };
    }
    case 'link': {
      const input = expectObject(payload, where, ['type', 'from', 'to', 'cut', 'dropProbability', 'latencyMs', 'jitterMs', 'duplicateProbability']);
      const command: Extract<Command, { type: 'link' }> = { type };
      const from = optional(input.from, (value) => parseNodeId(value, `${where}.from`));
      const to = optional(input.to, (value) => parseNodeId(value, `${where}.to`));
      if (from !== undefined) command.from = from;
      if (to !== undefined) command.to = to;
      const cut = optional(input.cut, (value) => expectBoolean(value, `${where}.cut`));
      const dropProbability = optional(input.dropProbability, (value) => expectNumber(value, `${where}.dropProbability`, 0, 1));
      const latencyMs = optional(input.latencyMs, (value) => expectNumber(value, `${where}.latencyMs`, 0, MAX_LATENCY_MS));
      const jitterMs = optional(input.jitterMs, (value) => expectNumber(value, `${where}.jitterMs`, 0, MAX_LATENCY_MS));
      const duplicateProbability = optional(input.duplicateProbability, (value) =>
        expectNumber(value, `${where}.duplicateProbability`, 0, 1),
      );
      if (cut !== undefined) command.cut = cut;
      if (dropProbability !== undefined) command.dropProbability = dropProbability;
      if (latencyMs !== undefined) command.latencyMs = latencyMs;
      if (jitterMs !== undefined) command.jitterMs = jitterMs;
      if (duplicateProbability !== undefined) command.duplicateProbability = duplicateProbability;
      return command;
    }
    case 'clock': {
      const input = expectObject(payload, where, ['type', 'speed']);
      const speed = expectNumber(input.speed, `${where}.speed`, 0, MAX_CLOCK_SPEED);
      if (speed !== 0 && speed < MIN_CLOCK_SPEED) {
        throw new ValidationError(`${where}.speed must be 0 (frozen) or between ${MIN_CLOCK_SPEED} and ${MAX_CLOCK_SPEED} (got ${speed})`);
      }
      return { type, speed };
    }
    case 'priority': {
      const input = expectObject(payload, where, ['type', 'nodeId', 'priority']);
      return { type, nodeId: parseNodeId(input.nodeId, `${where}.nodeId`), priority: parsePriority(input.priority, `${where}.priority`) };
    }
    case 'capabilities': {
      const input = expectObject(payload, where, ['type', 'nodeId', 'capabilities']);
      return { type, nodeId: parseNodeId(input.nodeId, `${where}.nodeId`), capabilities: parseCapabilities(input.capabilities, `${where}.capabilities`) };
    }
    case 'leadership':
      return { type, ...parseLeadershipChange(expectObject(payload, where, ['type', 'takeoverAfterMs', 'preferredLeader']), where) };
    case 'configure': {
      const input = expectObject(payload, where, ['type', 'algorithm', 'nodes', 'config']);
      const command: Extract<Command, { type: 'configure' }> = { type };
      const algorithm = optional(input.algorithm, (value) => expectOneOf(value, `${where}.algorithm`, ALGORITHMS));
      const nodes = optional(input.nodes, (value) => expectInteger(value, `${where}.nodes`, 1, 1_000));
      if (algorithm !== undefined) command.algorithm = algorithm;
      if (nodes !== undefined) command.nodes = nodes;
      if (input.config !== undefined) command.config = parsePartialConfig(input.config, `${where}.config`);
      return command;
    }
    case 'open': {
      const input = expectObject(payload, where, ['type', 'target']);
      return { type, target: parseTargetSpec(input.target, `${where}.target`) };
    }
    case 'scenario': {
      const action = expectOneOf(payload.action, `${where}.action`, ['run', 'stop'] as const);
      if (action === 'stop') {
        const input = expectObject(payload, where, ['type', 'action', 'keepFaults']);
        return input.keepFaults === undefined ? { type, action } : { type, action, keepFaults: expectBoolean(input.keepFaults, `${where}.keepFaults`) };
      }
      const input = expectObject(payload, where, ['type', 'action', 'scenario']);
      return { type, action, scenario: parseScenario(input.scenario) };
    }
  }
}

/**
 * Which cluster to serve: the embedded one with settings, agent processes on this machine, a real
 * cluster to attach to, an etcd cluster to watch, or an etcd playground (shared/protocol/etcd.ts).
 */
export function parseTargetSpec(value: unknown, path: string): TargetSpec {
  if (!isPlainObject(value)) fail(path, 'an object like { "kind": "attached", "addresses": ["10.0.0.5:7400"], "token": "..." }', value);
  const kind = expectOneOf(value.kind, `${path}.kind`, TARGET_KINDS);
  if (kind === 'etcd' || kind === 'etcd-playground') return parseEtcdTarget(value, path);
  if (kind === 'attached') {
    const input = expectObject(value, path, ['kind', 'addresses', 'token']);
    const addresses = expectArray(input.addresses, `${path}.addresses`, MAX_ATTACH_ADDRESSES).map((address, index) => {
      const text = expectString(address, `${path}.addresses[${index}]`, 300);
      if (!HOST_PORT_PATTERN.test(text)) fail(`${path}.addresses[${index}]`, 'host:port, like 10.0.0.5:7400', text);
      return text;
    });
    if (addresses.length === 0) throw new ValidationError(`${path}.addresses must name at least one agent`);
    const token = expectString(input.token, `${path}.token`, 1_024);
    const weak = weakTokenProblem(token, `${path}.token`);
    if (weak !== null) throw new ValidationError(weak);
    return { kind, addresses, token };
  }
  const input = expectObject(value, path, ['kind', 'algorithm', 'nodes', 'config']);
  const algorithm = optional(input.algorithm, (v) => expectOneOf(v, `${path}.algorithm`, ALGORITHMS));
  const config = optional(input.config, (v) => parsePartialConfig(v, `${path}.config`));
  const settings = { ...(algorithm === undefined ? {} : { algorithm }), ...(config === undefined ? {} : { config }) };
  if (kind === 'processes') return { kind, nodes: expectInteger(input.nodes, `${path}.nodes`, 1, 1_000), ...settings };
  const nodes = optional(input.nodes, (v) => expectInteger(v, `${path}.nodes`, 1, 1_000));
  return { kind, ...(nodes === undefined ? {} : { nodes }), ...settings };
}
