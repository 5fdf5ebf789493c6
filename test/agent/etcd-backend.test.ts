/**
 * `conclave agent --backend etcd`: three real agent processes campaign in an election on a real
 * etcd (one member on 127.0.0.1, started by the test). Exactly one leads, by its /leader and by
 * etcd's own election API (`etcdctl elect -l`); --on-elected gets the leader key's revision as
 * CONCLAVE_TERM; a SIGKILLed leader is replaced once its lease expires (within the TTL and a
 * margin), a SIGTERMed one resigns and the next leads at once; the hub's console attaches, shows
 * the leader and refuses partitions with the reason; a wrong etcd password is logged and /leader
 * stays 503. The flags that go with --backend etcd are checked without etcd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachedCluster } from '../../electron/targets/agents/attached.js';
import { DEFAULT_LEASE_TTL_S, parseAgentArgs, type AgentSettings } from '../../electron/agent/flags.js';
import { startEtcdAgent } from '../../electron/agent/etcd-node.js';
import { createLogger } from '../../electron/agent/log.js';
import { lockDataDir } from '../../electron/agent/storage.js';
import { UsageError } from '../../electron/base/flags.js';
import { ETCD_SKIP_REASON, ETCDCTL_BIN, etcdctl, etcdctlStatus, startRawCluster, type RawCluster } from '../support/etcd.js';
import { APP_ROOT, BUILT_CLI } from '../support/processes.js';
import { AgentProcess, TOKEN, agreedLeader, fileLines, httpGet, makeCluster, startAgentProcess, statusOf, stopAll, waitFor, type TestCluster, type TestMember } from './support.js';

const IDS = ['n1', 'n2', 'n3'];
const ELECTION = 'conclave-test/orders';
/** Long enough to tell a lease that expired (after a crash) from a resignation (at once). */
const LEASE_TTL_S = 3;
/** etcd checks for expired leases every 500 ms; then the watch, a read, and a busy 2-core machine. */
const EXPIRY_MARGIN_MS = 2_000;
/** A resignation: the leader's agent stops, revokes its lease, and the next one's watch fires. */
const RESIGN_BOUND_MS = 1_500;
const HOOK = `echo "start $CONCLAVE_ID $CONCLAVE_TERM $CONCLAVE_LEADER" >> "$HOOK_LOG"; trap 'echo "stop $CONCLAVE_ID $CONCLAVE_TERM" >> "$HOOK_LOG"; exit 0' TERM; while :; do sleep 0.05; done`;

describe.skipIf(ETCD_SKIP_REASON !== null)('etcd-backed agents', () => {
  let etcd: RawCluster;
  let cluster: TestCluster;
  let hookLog = '';
  const agents = new Map<string, AgentProcess>();

  function start(id: string, extra: string[] = []): AgentProcess {
    const agent = startAgentProcess({
      cluster,
      id,
      extra: ['--backend', 'etcd', '--etcd', etcd.endpoints[0]!, '--election', ELECTION, '--lease-ttl-s', String(LEASE_TTL_S), '--on-elected', HOOK, '--on-elected-grace-ms', '500', ...extra],
      env: { HOOK_LOG: hookLog },
    });
    agents.set(id, agent);
    return agent;
  }

  const hookLines = (): string[] => fileLines(hookLog);

  /** The one member whose /leader answers 200, polled every 20 ms; never two at once. */
  async function leaderAmong(members: TestMember[], timeoutMs: number): Promise<string> {
    const leaders = await waitFor(
      `a leader among ${members.map((m) => m.id).join(', ')}`,
      async () => {
        const answers = await Promise.all(members.map(async (member) => ((await httpGet(member.http, '/leader').catch(() => null))?.status === 200 ? member.id : null)));
        const leading = answers.filter((id) => id !== null);
        return leading.length > 0 ? leading : undefined;
      },
      timeoutMs,
      20,
    );
    expect(leaders).toHaveLength(1);
    return leaders[0]!;
  }

  /** etcd's own word on the election: `etcdctl elect -l` (the v3election Observe API) prints the leader's key and value. */
  function etcdElectionLeader(): Promise<{ key: string; value: { id: string; address: string }; revision: number }> {
    return new Promise((resolve, reject) => {
      const child = spawn(ETCDCTL_BIN!, ['--endpoints', etcd.endpoints[0]!, 'elect', '-l', ELECTION], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const timer = setTimeout(() => finish(new Error(`etcdctl elect -l printed no leader within 5 s: ${output}`)), 5_000);
      const finish = (error: Error | null): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        if (error !== null) {
          reject(error);
          return;
        }
        const [key, value] = output.split('\n');
        etcdctl(['--endpoints', etcd.endpoints[0]!, 'get', key!, '-w', 'json']).then(
          (json) => resolve({ key: key!, value: JSON.parse(value!) as { id: string; address: string }, revision: (JSON.parse(json) as { kvs: Array<{ create_revision: number }> }).kvs[0]!.create_revision }),
          reject,
        );
      };
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.split('\n').length > 2) finish(null);
      });
      child.once('error', (error) => finish(error));
    });
  }

  beforeAll(async () => {
    // A 500 ms election timeout lets etcd grant leases from 1 s (its minimum is 1.5 election timeouts).
    etcd = await startRawCluster({ members: 1, heartbeatMs: 50, electionTimeoutMs: 500 });
    await waitFor('etcd to elect itself', async () => ((await etcdctlStatus(etcd.endpoints).catch(() => []))[0]?.leader ?? '0') !== '0' || undefined, 15_000);
    cluster = await makeCluster({ ids: IDS });
    hookLog = join(cluster.dir, 'hook.log');
    for (const id of IDS) start(id);
  });

  afterAll(async () => {
    await stopAll();
    await etcd?.stop();
    cluster?.remove();
  });

  it('elect exactly one leader, by /leader and by etcd; --on-elected gets the leader key\'s revision as CONCLAVE_TERM', async () => {
    const { leader, term } = await agreedLeader(cluster.members, 20_000);
    for (const member of cluster.members) {
      expect(await httpGet(member.http, '/leader'), member.id).toEqual(
        member.id === leader
          ? { status: 200, body: { leader, term, leaseMs: expect.any(Number) } }
          : { status: 503, body: { leader, term, reason: `${leader} leads election "${ELECTION}"; ${member.id} waits in line` } },
      );
    }
    const truth = await etcdElectionLeader();
    expect(truth.value).toEqual({ id: leader, address: cluster.member(leader).address });
    expect(truth.revision).toBe(term);
    expect(truth.key).toMatch(new RegExp(`^${ELECTION}/[0-9a-f]+$`));
    const status = await statusOf(cluster.member(leader));
    expect(status.backend).toMatchObject({ kind: 'etcd', election: ELECTION, campaigning: true, leaseTtlS: LEASE_TTL_S, key: truth.key, revision: term, leaderKey: truth.key, problem: null });
    expect(Object.keys(status.unavailable ?? {}).sort()).toEqual(['duplicate', 'link', 'loss', 'partition', 'transfer']);
    await waitFor('the leader\'s on-elected command', () => (hookLines().includes(`start ${leader} ${term} ${leader}`) ? true : undefined), 10_000);
    expect(hookLines().filter((line) => line.startsWith('start'))).toEqual([`start ${leader} ${term} ${leader}`]);
    expect((await statusOf(cluster.member(leader))).leaderHook).toMatchObject({ running: true, term });
  });

  it('the hub\'s console attaches, shows the leader, and refuses a partition, link faults and a transfer with the reason', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const attached = await AttachedCluster.open({ addresses: [cluster.members[0]!.address], token: TOKEN, consoleId: 'console@etcd-test' });
    try {
      attached.start();
      const shown = await waitFor('the console to show the leader', () => (attached.snapshot().leader?.id === leader ? attached.snapshot() : undefined), 10_000);
      expect(shown.leader?.term).toBe(term);
      expect(shown.nodes.map((node) => [node.id, node.status, node.reachable])).toEqual(IDS.map((id) => [id, 'up', true]));
      expect(shown.target.label).toBe(`3 agents attached via ${cluster.members[0]!.address}, electing through etcd (election "${ELECTION}")`);
      const reason = shown.target.unavailable.partition;
      expect(reason).toMatch(/elect through etcd .* no links between them to partition/);
      expect(await attached.execute({ type: 'partition', preset: 'isolate-leader' })).toEqual({ ok: false, error: reason });
      expect(await attached.execute({ type: 'link', from: leader, to: IDS.find((id) => id !== leader)!, cut: true })).toEqual({ ok: false, error: shown.target.unavailable.link });
      expect(await attached.execute({ type: 'transfer', nodeId: IDS.find((id) => id !== leader)! })).toEqual({ ok: false, error: expect.stringMatching(/cannot hand leadership to a chosen member/) });
      expect(await agreedLeader(cluster.members)).toEqual({ leader, term });
    } finally {
      await attached.stop();
    }
  });

  it('SIGKILL of the leader: another leads once its lease expires, within the TTL and a margin, with a higher revision', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const granted = (await statusOf(cluster.member(leader))).backend!.leaseTtlS!;
    const others = cluster.members.filter((member) => member.id !== leader);
    const killedAt = Date.now();
    await agents.get(leader)!.kill('SIGKILL');
    const next = await leaderAmong(others, granted * 1_000 + EXPIRY_MARGIN_MS);
    const failoverMs = Date.now() - killedAt;
    console.log(`etcd-backed failover after SIGKILL of the leader: ${failoverMs} ms (lease TTL ${granted} s)`);
    expect(failoverMs).toBeLessThan(granted * 1_000 + EXPIRY_MARGIN_MS);
    const after = await agreedLeader(others);
    expect(after.leader).toBe(next);
    expect(after.term).toBeGreaterThan(term);
    expect((await etcdElectionLeader()).revision).toBe(after.term);
    await waitFor('the new leader\'s command', () => (hookLines().includes(`start ${next} ${after.term} ${next}`) ? true : undefined), 10_000);

    // Its command was stopped by its watchdog when the agent died: started again, it finds none left behind, and joins the line behind the leader.
    const restarted = start(leader);
    await restarted.waitForLog('campaigning');
    expect(restarted.logged('on-elected command left running by a killed agent: killed')).toEqual([]);
    expect(await agreedLeader(cluster.members)).toEqual(after);
    expect(restarted.logged('became leader')).toEqual([]);
  });

  it('a member whose key is deleted behind its back campaigns again with a new one; the leader stays', async () => {
    const before = await agreedLeader(cluster.members);
    const follower = cluster.members.find((member) => member.id !== before.leader)!;
    const { key, revision } = (await statusOf(follower)).backend!;
    await etcdctl(['--endpoints', etcd.endpoints[0]!, 'del', key!]);
    await agents.get(follower.id)!.waitForLog('etcd campaign failed: retrying', (line) => line.problem === `this member's key ${key} was deleted`);
    const again = await waitFor(`${follower.id}'s new key`, async () => {
      const backend = (await statusOf(follower)).backend!;
      return backend.key !== null && backend.key !== key ? backend : undefined;
    }, 10_000);
    expect(again.revision).toBeGreaterThan(revision!);
    expect(await agreedLeader(cluster.members)).toEqual(before);
  });

  it('SIGTERM of the leader: it stops its command, resigns, and the next in line leads at once', async () => {
    const { leader, term } = await agreedLeader(cluster.members);
    const key = (await statusOf(cluster.member(leader))).backend!.key!;
    const others = cluster.members.filter((member) => member.id !== leader);
    const stoppedAt = Date.now();
    const agent = agents.get(leader)!;
    agent.child.kill('SIGTERM');
    const next = await leaderAmong(others, RESIGN_BOUND_MS * 4);
    const handoverMs = Date.now() - stoppedAt;
    console.log(`etcd-backed handover after SIGTERM of the leader: ${handoverMs} ms`);
    expect(handoverMs).toBeLessThan(RESIGN_BOUND_MS);
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    const messages = agent.lines.map((line) => line.msg);
    expect(messages.slice(messages.indexOf('stopping'))).toEqual(expect.arrayContaining(['on-elected command stopped', 'resigned: key deleted', 'stopped']));
    expect(messages.indexOf('on-elected command stopped')).toBeLessThan(messages.indexOf('resigned: key deleted'));
    expect(hookLines()).toContain(`stop ${leader} ${term}`);
    expect(JSON.parse(await etcdctl(['--endpoints', etcd.endpoints[0]!, 'get', key, '-w', 'json'])).kvs).toBeUndefined();
    const after = await agreedLeader(others);
    expect(after).toEqual({ leader: next, term: expect.any(Number) });
    expect(after.term).toBeGreaterThan(term);
  });

  it('a leader cut off from etcd (frozen) stops leading within its TTL, before etcd can expire its lease; once etcd is back, one leads again', async () => {
    const running = cluster.members.filter((member) => agents.get(member.id)!.alive);
    const { leader, term } = await agreedLeader(running);
    const granted = (await statusOf(cluster.member(leader))).backend!.leaseTtlS!;
    const etcdProcess = etcd.members[0]!.process!;
    const frozenAt = Date.now();
    etcdProcess.kill('SIGSTOP');
    let steppedDownMs: number;
    try {
      await waitFor(`${leader} to stop leading`, async () => ((await httpGet(cluster.member(leader).http, '/leader')).status === 503 ? true : undefined), granted * 1_000 + EXPIRY_MARGIN_MS, 20);
      steppedDownMs = Date.now() - frozenAt;
    } finally {
      etcdProcess.kill('SIGCONT');
    }
    console.log(`etcd-backed leader cut off from etcd stopped leading after ${steppedDownMs} ms (lease TTL ${granted} s)`);
    // etcd cannot expire the lease before the TTL has run from the last renewal; the agent stops leading before that.
    expect(steppedDownMs).toBeLessThan(granted * 1_000);
    await agents.get(leader)!.waitForLog('lease not renewed in time: stopped leading');
    // Back within the TTL, etcd may renew the old lease (the leader then leads again in its term); later, a new key leads.
    const after = await agreedLeader(running, 20_000);
    if (after.term === term) expect(after.leader).toBe(leader);
    else expect(after.term).toBeGreaterThan(term);
  });

  it('a wrong etcd password is said in the log and the status, and /leader stays 503; the right one elects', async () => {
    await stopAll();
    await etcdctl(['--endpoints', etcd.endpoints[0]!, 'user', 'add', 'root:root-password']);
    await etcdctl(['--endpoints', etcd.endpoints[0]!, 'auth', 'enable']);
    const passwordFile = join(cluster.dir, 'etcd-password');
    writeFileSync(passwordFile, 'not the password\n', { mode: 0o600 });
    const [first] = cluster.members;
    const wrong = start(first!.id, ['--etcd-user', 'root', '--etcd-password-file', passwordFile]);
    const said = `etcd at ${etcd.endpoints[0]} refused the user "root": wrong user name or password`;
    await wrong.waitForLog('etcd campaign failed: retrying', (line) => line.problem === said);
    await wrong.waitForLog('etcd campaign failed: retrying', (line) => line.problem === said && wrong.logged('etcd campaign failed: retrying').length >= 2);
    expect(await httpGet(first!.http, '/leader')).toEqual({ status: 503, body: { leader: null, term: 0, reason: `no leader is known in election "${ELECTION}"` } });
    expect((await statusOf(first!)).backend).toMatchObject({ problem: said, key: null, leaderKey: null });
    expect(wrong.alive).toBe(true);
    await wrong.stop();

    writeFileSync(passwordFile, 'root-password\n');
    start(first!.id, ['--etcd-user', 'root', '--etcd-password-file', passwordFile]);
    expect((await leaderAmong([first!], 15_000))).toBe(first!.id);
  });
});

describe('--backend etcd flags', () => {
  let files: TestCluster;
  const base = (): string[] => ['--id', 'n1', '--cluster', files.file, '--data-dir', files.dataDir('n1'), '--token-file', join(files.dir, 'token')];

  beforeAll(async () => {
    files = await makeCluster({ ids: IDS });
    writeFileSync(join(files.dir, 'token'), `${TOKEN}\n`);
  });
  afterAll(() => files?.remove());

  function parse(argv: string[], env: Record<string, string> = {}): AgentSettings {
    const settings = parseAgentArgs([...base(), ...argv], env);
    if (settings === 'help') throw new Error('help');
    return settings;
  }

  function refusal(argv: string[]): string {
    try {
      parseAgentArgs([...base(), ...argv], {});
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return (error as Error).message;
    }
    throw new Error(`accepted ${argv.join(' ')}`);
  }

  it('takes the etcd endpoints, the election, the lease TTL and the access flags of serve --etcd', () => {
    expect(parse([]).etcd).toBeNull();
    expect(parse(['--backend', 'etcd', '--etcd', 'http://10.0.0.5:2379,http://10.0.0.6:2379/', '--election', 'orders']).etcd).toEqual({
      access: { kind: 'etcd', endpoints: ['http://10.0.0.5:2379', 'http://10.0.0.6:2379'] },
      election: 'orders',
      leaseTtlS: DEFAULT_LEASE_TTL_S,
    });
    const withUser = parse(['--backend', 'etcd', '--etcd', 'http://10.0.0.5:2379', '--election', 'election/orders', '--lease-ttl-s', '10', '--etcd-user', 'root'], { CONCLAVE_ETCD_PASSWORD: 'secret' });
    expect(withUser.etcd).toMatchObject({ access: { username: 'root', password: 'secret' }, election: 'election/orders', leaseTtlS: 10 });
  });

  it.each([
    ['--etcd goes with --backend etcd', ['--etcd', 'http://10.0.0.5:2379']],
    ['--lease-ttl-s goes with --backend etcd', ['--lease-ttl-s', '5']],
    ['--backend must be one of conclave, etcd (got "zookeeper")', ['--backend', 'zookeeper']],
    ["--backend etcd needs --etcd URL[,URL...]: the etcd cluster's client URLs", ['--backend', 'etcd', '--election', 'orders']],
    ['--backend etcd needs --election NAME', ['--backend', 'etcd', '--etcd', 'http://10.0.0.5:2379']],
    ['--election must be 1 to 128 letters', ['--backend', 'etcd', '--etcd', 'http://10.0.0.5:2379', '--election', 'orders/']],
    ['--lease-ttl-s must be a whole number of seconds from 1 to 3600 (got "0")', ['--backend', 'etcd', '--etcd', 'http://10.0.0.5:2379', '--election', 'orders', '--lease-ttl-s', '0']],
    ['--reset-state does not go with --backend etcd', ['--backend', 'etcd', '--etcd', 'http://10.0.0.5:2379', '--election', 'orders', '--reset-state']],
    ["--etcd takes the members' client URLs", ['--backend', 'etcd', '--etcd', '10.0.0.5:2379', '--election', 'orders']],
    ['--etcd-user needs its password', ['--backend', 'etcd', '--etcd', 'http://10.0.0.5:2379', '--election', 'orders', '--etcd-user', 'root']],
    ['--etcd-ca, --etcd-cert and --etcd-key go with https:// endpoints', ['--backend', 'etcd', '--etcd', 'http://10.0.0.5:2379', '--election', 'orders', '--etcd-ca', join(APP_ROOT, 'package.json')]],
  ])('refuses what does not go together: %s', (words, argv) => {
    expect(refusal(argv)).toContain(words);
  });

  it('a start-up that fails after taking the data directory (a client key that is PEM text but no key) releases its lock', async () => {
    writeFileSync(join(files.dir, 'cert.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    writeFileSync(join(files.dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    const settings = parse(['--backend', 'etcd', '--etcd', 'https://127.0.0.1:1', '--election', 'orders', '--etcd-cert', join(files.dir, 'cert.pem'), '--etcd-key', join(files.dir, 'key.pem')]);
    // The etcd client refuses the key as it is made, after the lock was taken.
    await expect(startEtcdAgent(settings, settings.etcd!, createLogger({}, 'silent'), { supervised: false })).rejects.toThrow(/asn1|encoding|key/i);
    // Held still, the lock would refuse this process too ("in use").
    const lock = await lockDataDir(files.dataDir('n1'));
    lock.release();
  });

  it('exits with code 2 and names the flag', () => {
    const run = spawnSync(process.execPath, [BUILT_CLI, 'agent', ...base(), '--backend', 'etcd', '--election', 'orders'], { cwd: APP_ROOT, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--backend etcd needs --etcd');
  });
});
