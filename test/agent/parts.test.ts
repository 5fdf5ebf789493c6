/**
 * The agent's parts on their own: the state file (atomic, checked, never silently reset), the
 * data directory lock, the membership fingerprint and its mismatch in words, the leased fault
 * table, a console's bounded telemetry, and the published JSON Schema of the cluster file.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRandom } from '../../shared/core/random.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { HEALTHY_LINK } from '../../shared/protocol/faults.js';
import { membershipOf, parseClusterFile } from '../../shared/protocol/cluster-file.js';
import { FRAME_BYTES_MAX, type PushFrame } from '../../shared/protocol/agent-wire.js';
import { VirtualClock } from '../../electron/runtime/clock.js';
import { Agent } from '../../electron/runtime/agent.js';
import { CONSOLE_BACKLOG_BYTES_SOFT, ConsoleSession, SENT_BATCH_MAX, SENT_FRAME_MESSAGES_MAX } from '../../electron/agent/consoles.js';
import { encodeFrame } from '../../electron/wire/frames.js';
import { FaultLease, tableProblem } from '../../electron/agent/faults.js';
import { createLogger } from '../../electron/agent/log.js';
import { describeMismatch, membershipFingerprint } from '../../electron/agent/membership.js';
import { RECONNECT_MS_MAX, RECONNECT_MS_MIN, RateLimit, reconnectDelayMs, type SentMessage } from '../../electron/agent/peers.js';
import { clusterFileJsonSchema } from '../../electron/agent/schema.js';
import { DataDirError, FileStorage, LOCK_FILE, STATE_FILE, STATE_TEMP_FILE, encodeState, lockDataDir } from '../../electron/agent/storage.js';
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
  it('refuses a second agent, naming the first; takes over the lock of a killed one', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(`${dir} is in use by another agent (pid ${process.pid}`);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    // A pid that cannot be running (above the kernel's maximum), and a lock cut short by a kill.
    for (const stale of ['{"pid":4194305,"started":"1","host":"x"}', '{"pi']) {
      writeFileSync(join(dir, LOCK_FILE), stale);
      const taken = lockDataDir(dir);
      expect(taken.tookOverFrom).toBe(stale.startsWith('{"pid"') ? 4194305 : null);
      taken.release();
    }
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
    ];
    for (const changed of changes) expect(membershipFingerprint(membershipOf(changed))).not.toBe(fingerprint);
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

describe('reconnection and rates', () => {
  it('backs off from 50 ms doubling to 2 s, each delay within ±50%', () => {
    const random = createRandom(3);
    for (let attempt = 0; attempt < 12; attempt++) {
      const base = Math.min(RECONNECT_MS_MAX, RECONNECT_MS_MIN * 2 ** attempt);
      const delayMs = reconnectDelayMs(attempt, random);
      expect(delayMs).toBeGreaterThanOrEqual(base * 0.5);
      expect(delayMs).toBeLessThanOrEqual(base * 1.5);
    }
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
    expect(encodeFrame({ t: 'sent', messages: Array.from({ length: SENT_FRAME_MESSAGES_MAX }, () => longIds), missed: 0 }).length).toBeLessThan(FRAME_BYTES_MAX);
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
