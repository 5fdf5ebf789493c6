/**
 * The pieces of Conclave's etcd support that need no etcd: timing read from a member's command
 * line, member ids, which member is which, errors in words, finding the binary. Against real
 * etcd: test/integration/etcd-*.test.ts.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdAuthenticationFailedError, GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../electron/base/flags.js';
import { parseServeArgs } from '../../electron/cli/flags.js';
import { explainEtcdError, hexId } from '../../electron/clients/etcd.js';
import { membersFrom } from '../../electron/targets/etcd/members.js';
import { etcdArgs, type EtcdMemberArgs } from '../../electron/targets/etcd/member-args.js';
import { ETCD_MISSING, etcdMemberId, findEtcdBinary } from '../../electron/targets/etcd/playground.js';
import { etcdDefaults, timingFromCommandLine } from '../../electron/targets/etcd/timing.js';

describe("an etcd member's command line", () => {
  const member: EtcdMemberArgs = {
    name: 'n1',
    dataDir: '/tmp/d/n1',
    clientUrl: 'http://127.0.0.1:2379',
    listenPeerUrl: 'http://127.0.0.1:2380',
    advertisePeerUrl: 'http://127.0.0.1:3380',
    initialCluster: 'n1=http://127.0.0.1:3380',
    clusterToken: 't',
    heartbeatMs: 50,
    electionTimeoutMs: 500,
    logOutput: 'stderr',
  };

  it('is the timing a watch reads back, pre-vote included when chosen', () => {
    for (const preVote of [true, false]) {
      const args = etcdArgs({ ...member, preVote });
      expect(timingFromCommandLine(['etcd', ...args], '3.4.23').config).toMatchObject({ heartbeatMs: 50, electionTimeoutMinMs: 500, preVote });
    }
  });

  it("leaves pre-vote to etcd's default when not chosen", () => {
    expect(etcdArgs(member).some((arg) => arg.startsWith('--pre-vote'))).toBe(false);
    expect(timingFromCommandLine(['etcd', ...etcdArgs(member)], '3.5.9').config.preVote).toBe(true);
  });
});

describe("a watched cluster's timing", () => {
  it("reads the member's flags in every form Go accepts", () => {
    expect(timingFromCommandLine(['etcd', '--heartbeat-interval=50', '-election-timeout', '500', '--pre-vote'], '3.4.23').config).toEqual({
      heartbeatMs: 50,
      electionTimeoutMinMs: 500,
      electionTimeoutMaxMs: 1_000,
      preVote: true,
      checkQuorum: true,
      rankedTimeouts: false,
    });
    expect(timingFromCommandLine(['etcd', '--pre-vote=false'], '3.5.9').config.preVote).toBe(false);
  });

  it("takes etcd's defaults for flags not given, pre-vote included from 3.5 on, and says what it cannot see", () => {
    expect(timingFromCommandLine(['etcd'], '3.4.23').config).toEqual(etcdDefaults('3.4.23'));
    expect(etcdDefaults('3.4.23')).toMatchObject({ heartbeatMs: 100, electionTimeoutMinMs: 1_000, preVote: false });
    expect(etcdDefaults('3.5.0').preVote).toBe(true);
    expect(timingFromCommandLine(['etcd'], null).source).toMatch(/ETCD_\* environment variables are not visible/);
    expect(timingFromCommandLine(['etcd', '--config-file', '/etc/etcd.yml'], null).source).toMatch(/a config file are not visible/);
  });
});

describe('etcd member ids', () => {
  it('are computed as etcd does for a new cluster (checked against etcd 3.4.23)', () => {
    expect(hexId(etcdMemberId(['http://127.0.0.1:32380'], 'conclave-test'))).toBe('c5215905483bc694');
  });

  it('go from decimal (the client) to hex (logs, rafthttp) without losing bits', () => {
    expect(hexId('18446744073709551615')).toBe('ffffffffffffffff');
    expect(hexId('443629905751424238')).toBe('628170c800dbcee');
  });
});

describe('the members of a watched cluster', () => {
  const member = (ID: string, name: string, clientURLs: string[], isLearner = false) => ({ ID, name, clientURLs, peerURLs: [], isLearner });

  it("are named by etcd's names, in their order, asked at the endpoint the user gave for each, else the first URL they advertise", () => {
    const members = membersFrom(
      [
        member('3', 'infra3', ['http://10.0.0.3:2379'], true),
        member('1', 'infra1', ['http://10.0.0.1:2379', 'http://etcd-1:2379']),
        member('2', 'infra2', ['http://10.0.0.2:2379']),
      ],
      ['http://etcd-1:2379', 'http://10.0.0.2:2379'],
    );
    expect(members).toEqual([
      { name: 'infra1', memberId: '1', endpoint: 'http://etcd-1:2379', voting: true },
      { name: 'infra2', memberId: '2', endpoint: 'http://10.0.0.2:2379', voting: true },
      { name: 'infra3', memberId: '3', endpoint: 'http://10.0.0.3:2379', voting: false },
    ]);
  });

  it('that have no name (not started) or share one are named by their id; one with no client URL has no endpoint', () => {
    const members = membersFrom([member('255', 'same', ['http://a:2379']), member('256', 'same', ['http://b:2379']), member('257', '', [])], []);
    expect(members.map((m) => [m.name, m.endpoint])).toEqual([
      ['100', 'http://b:2379'],
      ['101', null],
      ['same', 'http://a:2379'],
    ]);
  });
});

describe('etcd errors, in words', () => {
  const access = { username: 'root', password: 'wrong' };
  const unavailable = (why: string) => new GRPCUnavailableError(`14 UNAVAILABLE: No connection established. Last error: ${why}. Resolution note: `);

  it.each([
    [new EtcdAuthenticationFailedError('3 INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password'), 'auth', 'etcd at http://a:2379 refused the user "root": wrong user name or password'],
    [unavailable('Error: connect ECONNREFUSED 127.0.0.1:1'), 'unreachable', 'etcd at http://a:2379 is unreachable: connect ECONNREFUSED 127.0.0.1:1'],
    [unavailable('Error: unable to verify the first certificate'), 'tls', 'TLS with etcd at http://a:2379 failed: unable to verify the first certificate (check the CA)'],
    [
      unavailable('80:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../rec_layer_s3.c:1601:SSL alert number 42\n (2026-11-26T22:11:55.882Z)'),
      'tls',
      "etcd at http://a:2379 refused this console's client certificate",
    ],
    [unavailable('Failed to connect (2026-11-26T22:11:55.942Z)'), 'unreachable', 'could not talk to etcd at http://a:2379 (does it want https://?)'],
    [new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded'), 'timeout', 'etcd at http://a:2379 did not answer in time'],
  ])('%s', (error, kind, message) => {
    const problem = explainEtcdError(error, 'http://a:2379', access);
    expect(problem.kind).toBe(kind);
    expect(problem.message).toContain(message);
  });
});

describe('finding the etcd binary', () => {
  it('takes the one given if it can run, and says so when it cannot', () => {
    expect(() => findEtcdBinary('/nonexistent/etcd')).toThrow('the etcd binary /nonexistent/etcd is not an executable file');
  });

  it('looks on PATH, and when there is none says in one line how to get one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-etcd-bin-'));
    try {
      expect(() => findEtcdBinary(undefined, dir, [])).toThrow(ETCD_MISSING);
      expect(ETCD_MISSING).toMatch(/apt-get install etcd-server.*--etcd-bin PATH/);
      writeFileSync(join(dir, 'etcd'), '#!/bin/sh\n');
      chmodSync(join(dir, 'etcd'), 0o755);
      expect(findEtcdBinary(undefined, `/nonexistent:${dir}`, [])).toBe(join(dir, 'etcd'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the serve flags of etcd', () => {
  const parse = (args: string[], env: Record<string, string> = {}) => {
    const options = parseServeArgs(args, env);
    if (options === 'help') throw new Error('help');
    return options;
  };

  it('--etcd watches the endpoints given, with a user whose password comes from a file or the environment, and PEM files for https', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-etcd-flags-'));
    try {
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, name), pem);
      writeFileSync(join(dir, 'password'), 's3cret\n');
      expect(parse(['--etcd', 'http://10.0.0.5:2379,http://10.0.0.6:2379/']).cluster).toEqual({ kind: 'etcd', endpoints: ['http://10.0.0.5:2379', 'http://10.0.0.6:2379'] });
      expect(parse(['--etcd', 'http://a:2379', '--etcd-user', 'root', '--etcd-password-file', join(dir, 'password')]).cluster).toMatchObject({ username: 'root', password: 's3cret' });
      expect(parse(['--etcd', 'http://a:2379', '--etcd-user', 'root'], { CONCLAVE_ETCD_PASSWORD: 'from env' }).cluster).toMatchObject({ password: 'from env' });
      const tls = ['--etcd-ca', join(dir, 'ca.pem'), '--etcd-cert', join(dir, 'cert.pem'), '--etcd-key', join(dir, 'key.pem')];
      expect(parse(['--etcd', 'https://a:2379', ...tls]).cluster).toMatchObject({ tls: { ca: pem, cert: pem, key: pem } });
      expect(() => parse(['--etcd', 'http://a:2379', ...tls])).toThrow('--etcd-ca, --etcd-cert and --etcd-key go with https:// endpoints');
      expect(() => parse(['--etcd', 'https://a:2379', '--etcd-cert', join(dir, 'cert.pem')])).toThrow('--etcd-cert and --etcd-key go together');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [['--etcd', '10.0.0.5:2379'], '--etcd takes the members\' client URLs, with ports, separated by commas: http://10.0.0.5:2379,... (got "10.0.0.5:2379")'],
    [['--etcd', 'http://a:2379', '--etcd-user', 'root'], '--etcd-user needs its password: --etcd-password-file F, or CONCLAVE_ETCD_PASSWORD in the environment'],
    [['--etcd', 'http://a:2379', '--etcd-password-file', '/nonexistent'], '--etcd-password-file: cannot read /nonexistent (ENOENT)'],
    [['--etcd-user', 'root'], '--etcd-user goes with --etcd'],
    [['--etcd', 'http://a:2379', '--nodes', '3'], '--nodes and --etcd cannot be used together'],
    [['--etcd-playground', '3', '--attach', 'a:1'], '--attach and --etcd-playground cannot be used together'],
    [['--etcd-playground', '3', '--algorithm', 'bully'], '--algorithm does not go with --etcd or --etcd-playground: etcd elects with Raft'],
    [['--etcd-playground', '4'], '--etcd-playground takes 3 or 5 members (got 4)'],
  ])('%j is refused: %s', (args, message) => {
    expect(() => parse(args)).toThrow(UsageError);
    expect(() => parse(args)).toThrow(message);
  });

  it('--etcd-playground starts 3 or 5 members, from the binary --etcd-bin names', () => {
    expect(parse(['--etcd-playground', '5', '--etcd-bin', 'bin/etcd'])).toMatchObject({ cluster: { kind: 'etcd-playground', members: 5 }, etcdBin: join(process.cwd(), 'bin/etcd') });
  });
});
