import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../shared/protocol/commands.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

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
    [{ type: 'open', target: { kind: 'embedded' } }],
    [{ type: 'open', target: { kind: 'embedded', algorithm: 'bully', nodes: 9, config: { heartbeatMs: 20 } } }],
    [{ type: 'open', target: { kind: 'processes', nodes: 3 } }],
    [{ type: 'open', target: { kind: 'attached', addresses: ['10.0.0.5:7400', '[::1]:7401'], token: 'Rk3-vT9q-Lm2x-Wz7p-Nb4s-Hc6d' } }],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['http://10.0.0.5:2379', 'http://[::1]:2379'] } }],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['https://etcd-1.example:2379'], username: 'root', password: 'pw', tls: { ca: PEM, cert: PEM, key: PEM } } }],
    [{ type: 'open', target: { kind: 'etcd-playground', members: 3 } }],
    [{ type: 'open', target: { kind: 'etcd-playground', members: 5, heartbeatMs: 50, electionTimeoutMs: 250, preVote: false } }],
    [{ type: 'scenario', action: 'stop' }],
    [{ type: 'scenario', action: 'run', scenario: { name: 'x', durationMs: 5_000, steps: [{ at: 1_000, do: { type: 'heal' } }], assertions: [] } }],
  ])('accepts %j', (command) => {
    expect(parseCommand(command)).toEqual(command);
  });

  it.each([
    [null, 'command must be an object'],
    ['kill n1', 'command must be an object'],
    [[], 'command must be an object'],
    [{}, 'command.type must be one of kill, restart, pause, resume, transfer, partition, heal, link, clock, priority, capabilities, leadership, configure, open, scenario (got undefined)'],
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
    [{ type: 'open' }, 'open command.target must be an object like'],
    [{ type: 'open', target: { kind: 'zookeeper' } }, 'open command.target.kind must be one of embedded, processes, attached, etcd, etcd-playground (got "zookeeper")'],
    [{ type: 'open', target: { kind: 'etcd' } }, 'open command.target.endpoints: Invalid input: expected array'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: [] } }, 'open command.target.endpoints: Too small'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['10.0.0.5:2379'] } }, 'open command.target.endpoints[0]: must be an http(s) URL with a port and no path'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['http://10.0.0.5'] } }, 'open command.target.endpoints[0]: must be an http(s) URL with a port'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['http://a:2379', 'https://b:2379'] } }, 'open command.target.endpoints: must all be http:// or all https://'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['http://a:2379'], username: 'root' } }, 'open command.target.password: a user name and its password go together'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['http://a:2379'], tls: { ca: PEM } } }, 'open command.target.tls: goes with https:// endpoints'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['https://a:2379'], tls: { cert: PEM } } }, 'open command.target.tls.key: a client certificate and its key go together'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['https://a:2379'], tls: { ca: '/etc/ca.pem' } } }, 'open command.target.tls.ca: must be PEM text'],
    [{ type: 'open', target: { kind: 'etcd', endpoints: ['http://a:2379'], token: 't' } }, 'open command.target: Unrecognized key: "token"'],
    [{ type: 'open', target: { kind: 'etcd-playground', members: 4 } }, 'open command.target.members: Invalid option: expected one of 3|5'],
    [{ type: 'open', target: { kind: 'etcd-playground', members: 3, heartbeatMs: 100, electionTimeoutMs: 400 } }, 'open command.target.electionTimeoutMs: must be at least 5 heartbeats (500 ms), as etcd requires (got 400 ms)'],
    [
      { type: 'open', target: { kind: 'etcd-playground', members: 3, etcdBin: '/tmp/x/etcd' } },
      'open command.target.etcdBin: the etcd binary is chosen where the hub starts (--etcd-bin, else etcd on its PATH), not by a client',
    ],
    [{ type: 'open', target: { kind: 'processes' } }, 'open command.target.nodes must be an integer'],
    [{ type: 'open', target: { kind: 'attached', addresses: [], token: 't' } }, 'open command.target.addresses must name at least one agent'],
    [{ type: 'open', target: { kind: 'attached', addresses: ['10.0.0.5'], token: 't' } }, 'open command.target.addresses[0] must be host:port'],
    [{ type: 'open', target: { kind: 'attached', addresses: ['10.0.0.5:7400'] } }, 'open command.target.token must be a string'],
    [{ type: 'open', target: { kind: 'attached', addresses: ['10.0.0.5:7400'], token: 'correct horse' } }, 'the token (open command.target.token) is too weak: about'],
    [{ type: 'open', target: { kind: 'embedded', addresses: ['x:1'] } }, 'open command.target has an unknown field "addresses"'],
    [{ type: 'scenario', action: 'pause' }, 'scenario command.action must be one of run, stop'],
    [{ type: 'scenario', action: 'run' }, 'scenario must be an object'],
    [{ type: 'scenario', action: 'stop', scenario: {} }, 'scenario command has an unknown field "scenario"'],
    [{ type: 'scenario', action: 'run', scenario: { name: 'x', durationMs: 5_000, steps: 'all', assertions: [] } }, 'scenario.steps must be an array'],
  ])('refuses %j: %s', (payload, reason) => {
    expect(() => parseCommand(payload)).toThrow(reason);
  });

  it('lets an etcd target carry its CA, client certificate and key past the size of other commands', () => {
    const file = PEM.repeat(300);
    const command = { type: 'open', target: { kind: 'etcd', endpoints: ['https://a:2379'], tls: { ca: file, cert: file, key: file } } };
    expect(JSON.stringify(command).length).toBeGreaterThan(16_384);
    expect(parseCommand(command)).toEqual(command);
    expect(() => parseCommand({ ...command, target: { ...command.target, tls: { ca: PEM.repeat(700) } } })).toThrow('open command.target.tls.ca: Too big');
  });
});
