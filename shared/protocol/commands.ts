/** Runtime validation of `/control` commands: a malformed command is refused with a reason. */
import type { Command, CommandType } from './types.js';
import { ValidationError, exceedsJsonSize, expectObject, expectOneOf, expectString, isPlainObject } from './validate.js';

export const COMMAND_TYPES: readonly CommandType[] = ['kill', 'restart'];
export const MAX_COMMAND_JSON_CHARS = 16_384;
export const MAX_NODE_ID_LENGTH = 64;

export function parseNodeId(value: unknown, path: string): string {
  return expectString(value, path, MAX_NODE_ID_LENGTH);
}

export function parseCommand(payload: unknown): Command {
  if (exceedsJsonSize(payload, MAX_COMMAND_JSON_CHARS)) {
    throw new ValidationError(`command is too large (limit ${MAX_COMMAND_JSON_CHARS} characters of JSON)`);
  }
  if (!isPlainObject(payload)) throw new ValidationError('command must be an object like { "type": "kill", "nodeId": "n1" }');
  const type = expectOneOf(payload.type, 'command.type', COMMAND_TYPES);
  switch (type) {
    case 'kill':
    case 'restart': {
      const input = expectObject(payload, `${type} command`, ['type', 'nodeId']);
      return { type, nodeId: parseNodeId(input.nodeId, `${type} command.nodeId`) };
    }
  }
}
