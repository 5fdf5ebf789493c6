import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../shared/protocol/commands.js';

describe('command validation', () => {
  it.each([
    [{ type: 'kill', nodeId: 'n1' }],
    [{ type: 'restart', nodeId: 'n25' }],
  ])('accepts %j', (command) => {
    expect(parseCommand(command)).toEqual(command);
  });

  it.each([
    [null, 'command must be an object'],
    ['kill n1', 'command must be an object'],
    [[], 'command must be an object'],
    [{}, 'command.type must be one of kill, restart (got undefined)'],
    [{ type: 'explode', nodeId: 'n1' }, 'command.type must be one of kill, restart (got "explode")'],
    [{ type: 'kill' }, 'kill command.nodeId must be a string (got undefined)'],
    [{ type: 'kill', nodeId: 3 }, 'kill command.nodeId must be a string (got 3)'],
    [{ type: 'kill', nodeId: '' }, 'kill command.nodeId must be a non-empty string'],
    [{ type: 'kill', nodeId: 'n'.repeat(65) }, 'at most 64 characters'],
    [{ type: 'kill', nodeId: 'n1', force: true }, 'kill command has an unknown field "force"'],
    [{ type: 'kill', nodeId: 'n1', padding: 'x'.repeat(20_000) }, 'command is too large'],
  ])('refuses %j: %s', (payload, reason) => {
    expect(() => parseCommand(payload)).toThrow(reason);
  });
});
