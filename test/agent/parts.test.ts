/**
 * The agent's parts on their own: the state file (atomic, checked, never silently reset), the
 * data directory lock, the membership fingerprint and its mismatch in words, the leased fault
 * table, a console's bounded telemetry, and the published JSON Schema of the cluster file.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRandom } from '../../shared/core/random.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { HEALTHY_LINK } from '../../shared/protocol/faults.js';
import { membershipOf, parseClusterFile } from '../../shared/protocol/cluster-file.js';
import { FRAME_BYTES_MAX, SENT_FRAME_MESSAGES_MAX, type AgentEvent, type PushFrame } from '../../shared/protocol/agent-wire.js';
import { VirtualClock, type Clock } from '../../electron/runtime/clock.js';
import { Agent } from '../../electron/runtime/agent.js';
import { CONSOLE_BACKLOG_BYTES_SOFT, ConsoleSession, SENT_BATCH_MAX } from '../../electron/agent/consoles.js';
import { MAC_BYTES, encodeBody, encodeFrame } from '../../electron/wire/frames.js';
import { FaultLease, tableProblem } from '../../electron/agent/faults.js';
import { Lease } from '../../electron/agent/lease.js';
import { HOOK_PID_FILE, LeaderHook } from '../../electron/agent/hook.js';
import { createLogger } from '../../electron/agent/log.js';
import { describeMismatch, membershipFingerprint } from '../../electron/agent/membership.js';
import { RECONNECT_MS_MIN, RateLimit, redialBackoff, type SentMessage } from '../../electron/agent/peers.js';
import { clusterFileJsonSchema } from '../../electron/agent/schema.js';
import { DataDirError, FileStorage, LOCK_FILE, STATE_FILE, STATE_TEMP_FILE, describeSelf, encodeState, lockDataDir, lockWithFile } from '../../electron/agent/storage.js';
import type { WireConnection } from '../../electron/wire/connection.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-parts-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const silent = createLogger({ id: 'test' }, 'silent');

function save(storage: FileStorage, state: Record<string, string | number | null>): Promise<Error | null> {
  return new Promise((resolve) => storage.save(state, resolve));
}

describe('the state file', () => {
  it('is replaced atomically and read back after a restart; a leftover temp file is not the state', async () => {
    const dir = tempDir();
    const storage = FileStorage.open({ dir, member: 'n1', algorithm: 'raft', reset: false });
    expect(storage.load()).toBeNull();
    expect(await save(storage, { term: 3, votedFor: 'n2' })).toBeNull();
    expect(await save(storage, { term: 4, votedFor: null })).toBeNull();
    expect(readdirSync(dir)).toEqual([STATE_FILE]);
    expect(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8'))).toMatchObject({ format: 'conclave-agent-state', version: 1, member: 'n1', durable: { term: 4, votedFor: null } });
    // A crash between writing the temp file and renaming it.
    writeFileSync(join(dir, STATE_TEMP_FILE), encodeState('n1', { term: 9, votedFor: 'n3' }));
    const reopened = FileStorage.open({ dir, member: 'n1', algorithm: 'raft', reset: false });
    expect(reopened.load()).toEqual({ term: 4, votedFor: null });
    expect(existsSync(join(dir, STATE_TEMP_FILE))).toBe(false);
  });

  it('refuses, in words, a file that is corrupt, truncated, foreign or of another algorithm; --reset-state discards it', () => {
    const dir = tempDir();
    const path = join(dir, STATE_FILE);
    const good = encodeState('n1', { term: 7, votedFor: 'n1' });
    const cases: Array<[string, string]> = [
      [good.replace('"term":7', '"term":8'), 'fails its checksum (corrupt)'],
      [good.slice(0, 20), 'is not valid JSON (corrupt or truncated)'],
      ['', 'is not valid JSON (corrupt or truncated)'],
      ['{"format":"something else"}', 'is not a Conclave agent state file (format: '],
      [encodeState('n2', { term: 7, votedFor: 'n1' }), 'belongs to member "n2", not "n1"'],
      [encodeState('n1', { promised: 12 }), 'does not hold raft state'],
      [encodeState('n1', { term: -1, votedFor: null }), 'does not hold raft state'],
    ];
    for (const [content, words] of cases) {
      writeFileSync(path, content);
      expect(() => FileStorage.open({ dir, member: 'n1', algorithm: 'raft', reset: false }), words).toThrow(DataDirError);
      expect(() => FileStorage.open({ dir, member: 'n1', algorithm: 'raft', reset: false })).toThrow(`${path} ${words}`);
      expect(readFileSync(path, 'utf8')).toBe(content);
    }
    const found: string[] = [];
    expect(FileStorage.open({ dir, member: 'n1', algorithm: 'raft', reset: true, onOpen: (what) => found.push(what) }).load()).toBeNull();
    expect(found).toEqual(['discarded']);
    writeFileSync(path, encodeState('n1', { promised: 12 }));
    expect(FileStorage.open({ dir, member: 'n1', algorithm: 'paxos', reset: false }).load()).toEqual({ promised: 12 });
  });

  it('reports a failed write to the agent, which retries it and sends nothing that depends on it meanwhile', async () => {
    const dir = tempDir();
    const storage = FileStorage.open({ dir, member: 'n1', algorithm: 'raft', reset: false });
    // A directory where the temp file goes: opening it for writing fails, even as root.
    mkdirSync(join(dir, STATE_TEMP_FILE));
    const sent: string[] = [];
    const errors: string[] = [];
    const clock = new VirtualClock();
    const agent = new Agent({
      id: 'n1',
      members: ['n1', 'n2', 'n3'],
      algorithm: 'raft',
      config: { ...DEFAULT_ELECTION_CONFIG, preVote: false },
      clock,
      random: createRandom(1),
      storage,
      send: (message) => sent.push(message.kind),
      onUpdate: () => undefined,
      onWriteError: (_agent, error) => errors.push(error.message),
    });
    agent.start();
    clock.runUntil(DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs + 1);
    await expect.poll(() => errors.length).toBeGreaterThan(0);
    expect(errors[0]).toContain('EISDIR');
    expect(sent).toEqual([]);
    rmSync(join(dir, STATE_TEMP_FILE), { recursive: true });
    // Run the retry timers until the write lands and the vote requests leave.
    for (let step = 0; step < 100 && sent.length === 0; step++) {
      clock.runUntil(clock.now() + 1_000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(sent.slice(0, 2)).toEqual(['RequestVote', 'RequestVote']);
    expect(storage.load()).toMatchObject({ votedFor: 'n1' });
  });
});

describe('the data directory lock', () => {
  const DEAD_OWNER = '{"pid":4194305,"started":"1","host":"x"}';

  it('refuses a second agent, naming the first; a killed agent\'s pid file is reported as taken over', async () => {
    const dir = tempDir();
    const lock = await lockDataDir(dir);
    await expect(lockDataDir(dir)).rejects.toThrow(`${dir} is in use by another agent (pid ${process.pid}`);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    // A pid that cannot be running (above the kernel's maximum), and a pid file cut short by a kill.
    for (const stale of [DEAD_OWNER, '{"pi']) {
      writeFileSync(join(dir, LOCK_FILE), stale);
      const taken = await lockDataDir(dir);
      expect(taken.tookOverFrom).toBe(stale.startsWith('{"pid"') ? 4194305 : null);
      taken.release();
    }
  });

  it.runIf(process.platform === 'linux')('holds while its owner lives, whatever the pid file says: two starts cannot both take a stale lock', async () => {
    const dir = tempDir();
    const first = await lockDataDir(dir);
    // What a racing second agent does to the pid file (removes it, or finds a dead owner's in it) does not free the lock.
    writeFileSync(join(dir, LOCK_FILE), DEAD_OWNER);
    await expect(lockDataDir(dir)).rejects.toThrow(`${dir} is in use by another agent`);
    rmSync(join(dir, LOCK_FILE));
    await expect(lockDataDir(dir)).rejects.toThrow(`${dir} is in use by another agent`);
    first.release();
    (await lockDataDir(dir)).release();
  });

  it.runIf(process.platform === 'linux')('is released by the kernel when its owner is killed with SIGKILL', async () => {
    const dir = tempDir();
    const storage = fileURLToPath(new URL('../../electron/agent/storage.ts', import.meta.url));
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `const { lockDataDir } = await import(${JSON.stringify(storage)}); await lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the lock holder did not lock within 20 s')), 20_000);
        holder.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('locked')) {
            clearTimeout(timer);
            resolve();
          }
        });
        holder.once('exit', (code) => reject(new Error(`the lock holder exited with code ${code}`)));
      });
      await expect(lockDataDir(dir)).rejects.toThrow(`${dir} is in use by another agent (pid ${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    const taken = await lockDataDir(dir);
    expect(taken.tookOverFrom).toBe(holder.pid);
    taken.release();
  });

  it('without abstract sockets: a wx file, a stale one taken over, a takeover under way respected', () => {
    const dir = tempDir();
    const lock = lockWithFile(dir);
    expect(() => lockWithFile(dir)).toThrow(`${dir} is in use by another agent (pid ${process.pid}`);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    writeFileSync(join(dir, LOCK_FILE), DEAD_OWNER);
    // Another agent is taking the stale lock over (it holds the takeover file): this one keeps off.
    writeFileSync(join(dir, `${LOCK_FILE}.takeover`), describeSelf());
    expect(() => lockWithFile(dir)).toThrow(`${dir} is being taken over by another agent`);
    rmSync(join(dir, `${LOCK_FILE}.takeover`));
    const taken = lockWithFile(dir);
    expect(taken.tookOverFrom).toBe(4194305);
    expect(existsSync(join(dir, `${LOCK_FILE}.takeover`))).toBe(false);
    taken.release();
    // A lock still empty is being written by its owner: held, until it is old.
    writeFileSync(join(dir, LOCK_FILE), '');
    expect(() => lockWithFile(dir)).toThrow(`${dir} is in use by another agent;`);
  });
});

describe('the --on-elected command', () => {
  /** Runs `command` once as n1's leader hook; resolves with the hook's events and warnings once it exited on its own. */
  async function runHook(dataDir: string, command: string): Promise<{ events: AgentEvent[]; warnings: string[] }> {
    const events: AgentEvent[] = [];
    const warnings: string[] = [];
    const log = createLogger({ id: 'n1' }, 'warn', { write: (line: string) => warnings.push(line) });
    let exited: () => void = () => {};
    const done = new Promise<void>((resolve) => (exited = resolve));
    // A lease held since long ago, in term 7: the command starts at once.
    let now = 0;
    const hook = new LeaderHook({
      command,
      graceMs: 1_000,
      id: 'n1',
      dataDir,
      log,
      now: () => now,
      lease: () => ({ term: 7, remainingMs: 60_000 }),
      onEvent: (event) => events.push(event),
      onChange: () => {},
    });
    hook.update();
    now = 1_000;
    hook.update();
    const timer = setTimeout(() => void hook.stop().then(exited), 10_000);
    const poll = setInterval(() => {
      if (events.some((event) => event.type === 'hook' && event.action === 'exited')) exited();
    }, 10);
    await done;
    clearTimeout(timer);
    clearInterval(poll);
    return { events, warnings };
  }

  afterEach(() => vi.unstubAllEnvs());

  it('does not inherit the cluster token, the etcd password or any other CONCLAVE_* secret', async () => {
    const dir = tempDir();
    vi.stubEnv('CONCLAVE_TOKEN', 'the-cluster-token');
    vi.stubEnv('CONCLAVE_CLUSTER_TOKEN', 'the-console-token');
    vi.stubEnv('CONCLAVE_ETCD_PASSWORD', 'the-etcd-password');
    vi.stubEnv('CONCLAVE_SOME_SECRET', 'another-secret');
    vi.stubEnv('APP_SETTING', 'kept');
    const { events } = await runHook(dir, `env > "${join(dir, 'env.txt')}"`);
    expect(events.map((event) => event.type === 'hook' && event.action)).toEqual(['started', 'exited']);
    const env = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(env).not.toMatch(/the-cluster-token|the-console-token|the-etcd-password|another-secret/);
    expect(env).toContain('APP_SETTING=kept\n');
    expect(env).toContain('CONCLAVE_TERM=7\n');
    expect(env).toContain('CONCLAVE_LEADER=n1\n');
    expect(env).toContain('CONCLAVE_ID=n1\n');
  });

  it('logs, and does not throw, when its pid file cannot be written or removed', async () => {
    const dir = tempDir();
    // A directory where the pid file goes: writing and removing it fail (as on a read-only disk, which root ignores).
    mkdirSync(join(dir, HOOK_PID_FILE, 'inside'), { recursive: true });
    const { events, warnings } = await runHook(dir, 'exit 0');
    expect(events.map((event) => event.type === 'hook' && event.action)).toEqual(['started', 'exited']);
    expect(warnings.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([
      'cannot record the on-elected command pid',
      'cannot remove the on-elected command pid file',
    ]);
  });
});

describe('the membership', () => {
  const definition = parseClusterFile({
    name: 'one name',
    algorithm: 'raft',
    members: [
      { id: 'n1', address: '10.0.0.1:7400' },
      { id: 'n2', address: '10.0.0.2:7400', voting: false },
    ],
  });
  const fingerprint = membershipFingerprint(membershipOf(definition));

  it('has a fingerprint that ignores the name and the order of keys, and changes with anything members must agree on', () => {
    expect(membershipFingerprint(membershipOf({ ...definition, name: 'another' }))).toBe(fingerprint);
    const reordered = membershipOf(definition);
    expect(membershipFingerprint({ members: reordered.members, config: reordered.config, algorithm: reordered.algorithm })).toBe(fingerprint);
    const changes = [
      { ...definition, algorithm: 'paxos' as const },
      { ...definition, config: { ...definition.config, electionTimeoutMaxMs: 301 } },
      { ...definition, members: definition.members.map((m) => ({ ...m, voting: true })) },
      { ...definition, members: definition.members.map((m) => ({ ...m, address: m.address.replace('7400', '7401') })) },
      { ...definition, members: definition.members.map((m) => ({ ...m, priority: m.id === 'n1' ? 2 : m.priority })) },
      { ...definition, leadership: { ...definition.leadership, takeoverAfterMs: 2_000 } },
      { ...definition, leadership: { ...definition.leadership, preferredLeader: { capability: 'loadavg', prefer: 'lowest' as const, margin: 0.5, stableMs: 10_000 } } },
    ];
    for (const changed of changes) expect(membershipFingerprint(membershipOf(changed))).not.toBe(fingerprint);
  });

  it('leaves default priorities and rules out, so a cluster without them keeps the fingerprint it had before priorities existed', () => {
    expect(membershipOf(definition)).toEqual({
      algorithm: 'raft',
      config: definition.config,
      members: [
        { id: 'n1', address: '10.0.0.1:7400', voting: true },
        { id: 'n2', address: '10.0.0.2:7400', voting: false },
      ],
    });
    // Capabilities are facts a member advertises, not something members must agree on.
    expect(membershipFingerprint(membershipOf({ ...definition, members: definition.members.map((m) => ({ ...m, capabilities: { zone: 'a' } })) }))).toBe(fingerprint);
  });

  it('reads priorities, capabilities and the leadership rules, with their defaults', () => {
    const file = parseClusterFile({
      algorithm: 'paxos',
      leadership: { takeoverAfterMs: 1_500, preferredLeader: { capability: 'loadavg', prefer: 'lowest' } },
      members: [
        { id: 'db1', address: '10.0.0.1:7400', priority: 3, capabilities: { zone: 'a', ssd: true } },
        { id: 'db2', address: '10.0.0.2:7400' },
        { id: 'report', address: '10.0.0.3:7400', priority: 0 },
      ],
    });
    expect(file.leadership).toEqual({
      priorities: { db1: 3, db2: 1, report: 0 },
      takeoverAfterMs: 1_500,
      preferredLeader: { capability: 'loadavg', prefer: 'lowest', margin: 0, stableMs: 10_000 },
    });
    expect(file.members.map((m) => m.capabilities)).toEqual([{ zone: 'a', ssd: true }, {}, {}]);
    const bad = (change: Record<string, unknown>, member: Record<string, unknown> = {}) => () =>
      parseClusterFile({ algorithm: 'raft', ...change, members: [{ id: 'n1', address: '10.0.0.1:7400', ...member }] }, 'cluster.yaml');
    expect(bad({}, { priority: 1_001 })).toThrow('cluster.yaml: members[0].priority: Too big');
    expect(bad({}, { capabilities: Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`k${i}`, i])) })).toThrow('members[0].capabilities: at most 12 capabilities');
    expect(bad({}, { capabilities: { '9lives': 1 } })).toThrow('members[0].capabilities.9lives: Invalid key in record');
    expect(bad({ leadership: { preferredLeader: { capability: 'loadavg', prefer: 'least' } } })).toThrow('leadership.preferredLeader.prefer');
  });

  it('names a priority or a rule that differs, with each side', () => {
    const theirs = membershipOf({ ...definition, members: definition.members.map((m) => ({ ...m, priority: m.id === 'n2' ? 0 : 1 })) });
    const ours = { id: 'n1', membership: membershipOf(definition), fingerprint };
    expect(describeMismatch(ours, { id: 'n2', membership: theirs, fingerprint: membershipFingerprint(theirs) })).toBe('membership differs: members[1].priority: n1 has 1, n2 has 0');
    const later = membershipOf({ ...definition, leadership: { ...definition.leadership, takeoverAfterMs: 2_000 } });
    expect(describeMismatch(ours, { id: 'n2', membership: later, fingerprint: membershipFingerprint(later) })).toBe(
      'membership differs: leadership.takeoverAfterMs: n1 has the default, n2 has 2000',
    );
  });

  it('names a clock-drift bound that differs (leases must agree on it), and leaves the default out of the fingerprint', () => {
    expect(membershipOf(definition)).not.toHaveProperty('lease');
    const drifting = membershipOf({ ...definition, clockDriftMax: 0.05 });
    expect(drifting.lease).toEqual({ clockDriftMax: 0.05 });
    const ours = { id: 'n1', membership: membershipOf(definition), fingerprint };
    expect(describeMismatch(ours, { id: 'n2', membership: drifting, fingerprint: membershipFingerprint(drifting) })).toBe('membership differs: lease.clockDriftMax: n1 has 0.01, n2 has 0.05');
    expect(parseClusterFile({ algorithm: 'raft', lease: { clockDriftMax: 0.05 }, members: [{ id: 'n1', address: '10.0.0.1:7400' }] }).clockDriftMax).toBe(0.05);
    expect(() => parseClusterFile({ algorithm: 'raft', lease: { clockDriftMax: 0.9 }, members: [{ id: 'n1', address: '10.0.0.1:7400' }] }, 'cluster.yaml')).toThrow('cluster.yaml: lease.clockDriftMax: Too big');
  });

  it('names the field that differs, with each side', () => {
    const theirs = membershipOf({ ...definition, members: definition.members.map((m) => ({ ...m, voting: true })) });
    const ours = { id: 'n1', membership: membershipOf(definition), fingerprint };
    expect(describeMismatch(ours, { id: 'n2', membership: theirs, fingerprint: membershipFingerprint(theirs) })).toBe('membership differs: members[1].voting: n1 has false, n2 has true');
    expect(describeMismatch(ours, { id: 'n2', membership: membershipOf(definition), fingerprint })).toBeNull();
    expect(describeMismatch(ours, { id: 'n2', membership: undefined, fingerprint: undefined })).toBe('n2 sent no membership');
  });
});

describe('the leased fault table', () => {
  const table = { blocked: ['n1->n2'], links: [{ from: null, to: null, fault: { ...HEALTHY_LINK, dropProbability: 0.5 } }] };

  it('is enforced until its lease lapses, unless renewed with its version; the cluster caps the lease', () => {
    const clock = new VirtualClock();
    const expired: string[] = [];
    const lease = new FaultLease(clock, 3_000, (owner, version) => expired.push(`${owner}:${version}`));
    expect(lease.set(table, 'v1', 60_000, 'console@a')).toEqual({ leaseMs: 3_000, expiresInMs: 3_000 });
    expect(lease.rules.open('n1', 'n2')).toBe(false);
    clock.runUntil(2_000);
    expect(lease.renew('v2')).toEqual({ ok: false, code: 'replaced', error: 'the fault table in force is version "v1" (set by console@a), not "v2"' });
    expect(lease.renew('v1')).toEqual({ ok: true, expiresInMs: 3_000 });
    clock.runUntil(4_900);
    expect(lease.view()).toMatchObject({ version: 'v1', owner: 'console@a', expiresInMs: 100 });
    clock.runUntil(5_000);
    expect(expired).toEqual(['console@a:v1']);
    expect(lease.view()).toBeNull();
    expect(lease.rules.open('n1', 'n2')).toBe(true);
    expect(lease.rules.toTable()).toEqual({ blocked: [], links: [] });
    expect(lease.renew('v1')).toMatchObject({ ok: false, code: 'lapsed' });
    expect(lease.set({ blocked: [], links: [] }, 'clear', 1_000, 'console@a')).toEqual({ leaseMs: 1_000, expiresInMs: null });
  });

  it('keeps one timer however often it is renewed, and still lapses a lease after the last renewal', () => {
    const clock = new VirtualClock();
    let timersSet = 0;
    const counting: Clock = Object.assign(Object.create(clock) as VirtualClock, {
      setTimer: (at: number, callback: () => void) => {
        timersSet += 1;
        return clock.setTimer(at, callback);
      },
    });
    const expired: string[] = [];
    const lease = new FaultLease(counting, 3_000, (owner, version) => expired.push(`${owner}:${version}`));
    lease.set(table, 'v1', 3_000, 'console@a');
    // A console renewing every 5 ms for 10 s: the clock's queue holds one timer for it, not 2,000.
    for (let t = 5; t <= 10_000; t += 5) {
      clock.runUntil(t);
      expect(lease.renew('v1')).toMatchObject({ ok: true });
    }
    expect(timersSet).toBeLessThanOrEqual(5);
    clock.runUntil(12_999);
    expect(expired).toEqual([]);
    clock.runUntil(13_000);
    expect(expired).toEqual(['console@a:v1']);
  });

  it('says whether a renewal was refused because the table lapsed or because another console replaced it', () => {
    const clock = new VirtualClock();
    const lease = new FaultLease(clock, 3_000, () => undefined);
    expect(lease.renew('A#1')).toMatchObject({ ok: false, code: 'lapsed' });
    lease.set(table, 'A#1', 3_000, 'A');
    lease.set(table, 'B#1', 3_000, 'B');
    expect(lease.renew('A#1')).toMatchObject({ ok: false, code: 'replaced', error: expect.stringContaining('(set by B)') });
    // Another console clearing the table replaces it too: its owner meant it.
    lease.set({ blocked: [], links: [] }, 'B#2', 3_000, 'B');
    expect(lease.renew('B#1')).toMatchObject({ ok: false, code: 'replaced' });
    lease.set(table, 'A#2', 3_000, 'A');
    clock.runUntil(3_000);
    expect(lease.renew('A#2')).toMatchObject({ ok: false, code: 'lapsed' });
    lease.set(table, 'A#3', 3_000, 'A');
    lease.clear();
    expect(lease.renew('A#3')).toMatchObject({ ok: false, code: 'lapsed' });
  });

  it('enforces a partition sent as groups as every link between them, and shows it as it was sent', () => {
    const lease = new FaultLease(new VirtualClock(), 3_000, () => undefined);
    const split = { blocked: ['n3->n4'], groups: [['n1'], ['n2', 'n3']], links: [] };
    lease.set(split, 'v1', 3_000, 'console@a');
    expect(lease.rules.blockedLinks().sort()).toEqual(['n1->n2', 'n1->n3', 'n2->n1', 'n3->n1', 'n3->n4']);
    expect(lease.rules.open('n2', 'n3')).toBe(true);
    expect(lease.view()?.table).toEqual(split);
    expect(lease.set({ blocked: [], groups: [], links: [] }, 'v2', 3_000, 'console@a').expiresInMs).toBeNull();
    expect(lease.rules.blockedLinks()).toEqual([]);
  });

  it('names what a table gets wrong', () => {
    const members = new Set(['n1', 'n2']);
    expect(tableProblem(table, members)).toBeNull();
    expect(tableProblem({ blocked: ['n1->n9'], links: [] }, members)).toBe('table.blocked[0] must be "from->to" between members (got "n1->n9")');
    expect(tableProblem({ blocked: [], links: [{ from: 'n1', to: null, fault: HEALTHY_LINK }] }, members)).toBe('table.links[0]: from and to are both members, or both null (every link)');
    expect(tableProblem({ blocked: [], links: [{ from: 'n1', to: 'x', fault: HEALTHY_LINK }] }, members)).toBe('table.links[0].to: "x" is not a member');
    expect(tableProblem({ blocked: [], groups: [['n1'], ['n9']], links: [] }, members)).toBe('table.groups[1]: "n9" is not a member');
    expect(tableProblem({ blocked: [], groups: [['n1', 'n2'], ['n2']], links: [] }, members)).toBe('table.groups[1]: "n2" is also in table.groups[0]');
  });
});

describe('a lease', () => {
  it('lapses leaseMs after its last renewal, once; cancelled or lapsed, it neither renews nor lapses again', () => {
    const clock = new VirtualClock();
    let lapses = 0;
    const lease = new Lease(clock, 1_000, () => (lapses += 1));
    clock.runUntil(900);
    expect(lease.renew()).toBe(true);
    expect(lease.expiresInMs()).toBe(1_000);
    clock.runUntil(1_899);
    expect([lapses, lease.active]).toEqual([0, true]);
    clock.runUntil(1_900);
    expect([lapses, lease.active, lease.expiresInMs(), lease.renew()]).toEqual([1, false, 0, false]);
    clock.runUntil(10_000);
    expect(lapses).toBe(1);

    const cancelled = new Lease(clock, 1_000, () => (lapses += 1));
    cancelled.cancel();
    clock.runUntil(20_000);
    expect([lapses, cancelled.renew()]).toEqual([1, false]);
  });
});

describe('reconnection and rates', () => {
  it('redials from 50 ms doubling to two heartbeat intervals, each wait from half its ceiling to it', () => {
    const backoff = redialBackoff(500, createRandom(3));
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceilingMs = Math.min(1_000, RECONNECT_MS_MIN * 2 ** attempt);
      const delayMs = backoff.next();
      expect(delayMs).toBeGreaterThanOrEqual(Math.max(RECONNECT_MS_MIN, ceilingMs / 2));
      expect(delayMs).toBeLessThanOrEqual(ceilingMs);
    }
    // Two heartbeats shorter than the minimum: the minimum.
    expect(redialBackoff(10, createRandom(3)).next()).toBe(RECONNECT_MS_MIN);
  });

  it('takes at most the rate per second, refilled with time', () => {
    const limit = new RateLimit(10, 0);
    const taken = Array.from({ length: 15 }, () => limit.take(0)).filter(Boolean).length;
    expect(taken).toBe(10);
    expect(limit.take(50)).toBe(false);
    expect(limit.take(150)).toBe(true);
  });
});

/** A console connection whose backlog the test sets, recording what is sent to it. */
class FakeConnection extends EventEmitter {
  readonly sent: PushFrame[] = [];
  backlogBytes = 0;
  isOpen = true;
  remoteId = 'console@slow';
  remoteAddress = '127.0.0.1:1';
  send(frame: PushFrame): void {
    this.sent.push(frame);
  }
  close(): void {
    this.isOpen = false;
  }
}

describe('telemetry to a console', () => {
  const message = (index: number): SentMessage => ({ from: 'n1', to: 'n2', kind: 'Heartbeat', sentT: index, deliverT: index, dropped: null, duplicate: false });

  it('batches sent messages; a console that falls behind gets none and a count of what it missed, never a slower agent', () => {
    const connection = new FakeConnection();
    const session = new ConsoleSession(connection as unknown as WireConnection, () => undefined, silent);
    for (let index = 0; index < 3; index++) session.recordSent(message(index));
    session.flushSent();
    expect(connection.sent).toEqual([{ t: 'sent', messages: [message(0), message(1), message(2)], missed: 0 }]);

    connection.backlogBytes = CONSOLE_BACKLOG_BYTES_SOFT + 1;
    for (let index = 0; index < 5; index++) session.recordSent(message(index));
    session.flushSent();
    expect(connection.sent).toHaveLength(1);

    connection.backlogBytes = 0;
    for (let index = 0; index < SENT_BATCH_MAX + 7; index++) session.recordSent(message(index));
    session.flushSent();
    const frames = connection.sent.slice(1) as Array<Extract<PushFrame, { t: 'sent' }>>;
    // In frames that stay below the frame limit even with long ids; what was missed comes with the last.
    expect(frames.map((frame) => frame.messages.length)).toEqual(Array.from({ length: SENT_BATCH_MAX / SENT_FRAME_MESSAGES_MAX }, () => SENT_FRAME_MESSAGES_MAX));
    expect(frames.map((frame) => frame.missed)).toEqual([...Array.from({ length: frames.length - 1 }, () => 0), 5 + 7]);
    const longIds = { ...message(0), from: 'x'.repeat(64), to: 'y'.repeat(64), kind: 'z'.repeat(32) };
    // A sealed frame's JSON leaves room for its MAC.
    expect(encodeBody({ t: 'sent', messages: Array.from({ length: SENT_FRAME_MESSAGES_MAX }, () => longIds), missed: 0 }).length).toBeLessThanOrEqual(FRAME_BYTES_MAX - MAC_BYTES);
  });

  it('drops a frame above the frame limit instead of crashing, and answers a request with the reason', () => {
    const connection = new FakeConnection();
    connection.send = (frame: PushFrame) => {
      encodeFrame(frame);
      connection.sent.push(frame);
    };
    const session = new ConsoleSession(connection as unknown as WireConnection, () => undefined, silent);
    const huge = 'x'.repeat(FRAME_BYTES_MAX);
    expect(() => session.push({ t: 'res', id: 4, ok: true, value: huge })).not.toThrow();
    expect(connection.sent).toEqual([{ t: 'res', id: 4, ok: false, error: expect.stringContaining('the answer is too large to send') }]);
  });

  it('answers requests, refuses a flood of them, and cuts off a console that sends an invalid frame', async () => {
    const connection = new FakeConnection();
    new ConsoleSession(connection as unknown as WireConnection, (op) => (op.op === 'ping' ? { sentAt: op.sentAt, agentNow: 5 } : Promise.reject(new Error('no'))), silent);
    connection.emit('frame', { t: 'req', id: 1, op: { op: 'ping', sentAt: 1 } });
    connection.emit('frame', { t: 'req', id: 2, op: { op: 'status' } });
    await expect.poll(() => connection.sent.length).toBe(2);
    expect(connection.sent).toEqual([
      { t: 'res', id: 1, ok: true, value: { sentAt: 1, agentNow: 5 } },
      { t: 'res', id: 2, ok: false, error: 'no' },
    ]);
    for (let id = 3; id < 400; id++) connection.emit('frame', { t: 'req', id, op: { op: 'ping', sentAt: id } });
    await expect.poll(() => connection.sent.length).toBe(399);
    expect(connection.sent.filter((frame) => frame.t === 'res' && frame.error?.startsWith('too many requests')).length).toBeGreaterThan(0);
    connection.emit('frame', { t: 'req', id: 'x', op: { op: 'ping' } });
    expect(connection.isOpen).toBe(false);
  });
});

describe('the cluster file JSON Schema', () => {
  it('docs/cluster-file.schema.json is the one generated from the zod schema (UPDATE_SCHEMA=1 rewrites it)', () => {
    const path = join(import.meta.dirname, '../../docs/cluster-file.schema.json');
    const generated = clusterFileJsonSchema();
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(path, generated);
    expect(readFileSync(path, 'utf8')).toBe(generated);
    expect(JSON.parse(generated)).toMatchObject({ title: 'Conclave cluster file', required: ['algorithm', 'members'] });
  });
});
