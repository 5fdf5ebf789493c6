import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../shared/protocol/commands.js';

describe('command validation', () => {
  it.each([
    [{ type: 'kill', nodeId: 'n1' }],
    [{ type: 'restart', nodeId: 'n25' }],
    [{ type: 'pause', nodeId: 'n2' }],
    [{ type: 'resume', nodeId: 'n2' }],
    [{ type: 'transfer', nodeId: 'n4' }],
    [{ type: 'partition', groups: [['n1', 'n2'], ['n3']] }],
    [{ type: 'partition', preset: 'bridge' }],
    [{ type: 'heal' }],
    [{ type: 'heal', faultId: 'partition' }],
    [{ type: 'link', from: 'n1', to: 'n2', cut: true }],
    [{ type: 'link', dropProbability: 0.3, latencyMs: 40, jitterMs: 10, duplicateProbability: 0.1 }],
    [{ type: 'link', from: 'n3' }],
    [{ type: 'clock', speed: 0 }],
    [{ type: 'clock', speed: 0.05 }],
    [{ type: 'clock', speed: 1 }],
    [{ type: 'configure', algorithm: 'paxos', nodes: 7, config: { heartbeatMs: 100, preVote: false } }],
    [{ type: 'configure' }],
    [{ type: 'scenario', action: 'stop' }],
    [{ type: 'scenario', action: 'run', scenario: { name: 'x', durationMs: 5_000, steps: [{ at: 1_000, do: { type: 'heal' } }], assertions: [] } }],
  ])('accepts %j', (command) => {
    expect(parseCommand(command)).toEqual(command);
  });

  it.each([
    [null, 'command must be an object'],
    ['kill n1', 'command must be an object'],
    [[], 'command must be an object'],
    [{}, 'command.type must be one of kill, restart, pause, resume, transfer, partition, heal, link, clock, configure, scenario (got undefined)'],
    [{ type: 'explode', nodeId: 'n1' }, '(got "explode")'],
    [{ type: 'kill' }, 'kill command.nodeId must be a string (got undefined)'],
    [{ type: 'kill', nodeId: 3 }, 'kill command.nodeId must be a string (got 3)'],
    [{ type: 'kill', nodeId: '' }, 'kill command.nodeId must be a non-empty string'],
    [{ type: 'kill', nodeId: 'n'.repeat(65) }, 'at most 64 characters'],
    [{ type: 'kill', nodeId: 'n1', force: true }, 'kill command has an unknown field "force"'],
    [{ type: 'kill', nodeId: 'n1', padding: 'x'.repeat(20_000) }, 'command is too large'],
    [{ type: 'partition' }, 'partition command takes either "groups"'],
    [{ type: 'partition', groups: [['n1']], preset: 'halves' }, 'partition command takes either "groups"'],
    [{ type: 'partition', groups: 'n1,n2' }, 'partition command.groups must be an array'],
    [{ type: 'partition', groups: [] }, 'must name at least one group'],
    [{ type: 'partition', groups: [['n1', 7]] }, 'partition command.groups[0][1] must be a string (got 7)'],
    [{ type: 'partition', preset: 'thirds' }, 'partition command.preset must be one of isolate-leader, halves, majorities-ring, bridge'],
    [{ type: 'heal', faultId: 5 }, 'heal command.faultId must be a string'],
    [{ type: 'link', latencyMs: -5 }, 'link command.latencyMs must be between 0 and 10000 (got -5)'],
    [{ type: 'link', jitterMs: Number.NaN }, 'link command.jitterMs must be a finite number'],
    [{ type: 'link', dropProbability: 1.5 }, 'link command.dropProbability must be between 0 and 1 (got 1.5)'],
    [{ type: 'link', duplicateProbability: -0.1 }, 'link command.duplicateProbability must be between 0 and 1'],
    [{ type: 'link', cut: 'yes' }, 'link command.cut must be true or false'],
    [{ type: 'clock', speed: 2 }, 'clock command.speed must be between 0 and 1 (got 2)'],
    [{ type: 'clock', speed: 0.01 }, 'clock command.speed must be 0 (frozen) or between 0.05 and 1 (got 0.01)'],
    [{ type: 'clock' }, 'clock command.speed must be a finite number'],
    [{ type: 'configure', algorithm: 'zab' }, 'configure command.algorithm must be one of raft, bully, paxos'],
    [{ type: 'configure', nodes: 2.5 }, 'configure command.nodes must be an integer'],
    [{ type: 'configure', config: { heartbeatMs: 0 } }, 'configure command.config.heartbeatMs must be between 1 and 60000'],
    [{ type: 'configure', config: { heartbeat: 50 } }, 'configure command.config has an unknown field "heartbeat"'],
    [{ type: 'scenario', action: 'pause' }, 'scenario command.action must be one of run, stop'],
    [{ type: 'scenario', action: 'run' }, 'scenario must be an object'],
    [{ type: 'scenario', action: 'stop', scenario: {} }, 'scenario command has an unknown field "scenario"'],
    [{ type: 'scenario', action: 'run', scenario: { name: 'x', durationMs: 5_000, steps: 'all', assertions: [] } }, 'scenario.steps must be an array'],
  ])('refuses %j: %s', (payload, reason) => {
    expect(() => parseCommand(payload)).toThrow(reason);
  });
});
