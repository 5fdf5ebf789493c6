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
import { explainEtcdError, hexId } from '../../electron/etcd/client.js';
import { membersFrom } from '../../electron/etcd/cluster.js';
import { ETCD_MISSING, etcdMemberId, findEtcdBinary } from '../../electron/etcd/playground.js';
import { etcdDefaults, timingFromCommandLine } from '../../electron/etcd/timing.js';

describe("a watched cluster's timing", () => {
  it("reads the member's flags in every form Go accepts", () => {
    expect(timingFromCommandLine(['etcd', '--heartbeat-interval=50', '-election-timeout', '500', '--pre-vote'], '3.4.23').config).toEqual({
      heartbeatMs: 50,
      electionTimeoutMinMs: 500,
      electionTimeoutMaxMs: 1_000,
      preVote: true,
      checkQuorum: true,
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

  it("are named by etcd's names, asked at the endpoint the user gave for each, else the first URL they advertise", () => {
    const members = membersFrom(
      [
        member('1', 'infra1', ['http://10.0.0.1:2379', 'http://etcd-1:2379']),
        member('2', 'infra2', ['http://10.0.0.2:2379']),
        member('3', 'infra3', ['http://10.0.0.3:2379'], true),
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
      ['same', 'http://a:2379'],
      ['100', 'http://b:2379'],
      ['101', null],
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
