/**
 * The agent's durable state on disk: `state.json` in the data directory, replaced atomically
 * (temp file, fsync, rename, fsync of the directory) before any message that depends on it
 * leaves; a checksum and the member's id guard it. A file that is unreadable, corrupt, another
 * member's or another algorithm's stops the agent: it never silently starts from zero (an
 * operator passes --reset-state to mean it). A lock (lockDataDir) keeps a second agent off the directory.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { AlgorithmName, DurableState } from '../../shared/core/election.js';
import { readBullyDurable } from '../../shared/bully/bully.js';
import { readPaxosDurable } from '../../shared/paxos/paxos.js';
import { readRaftDurable } from '../../shared/raft/raft.js';
import type { DurableStorage } from '../runtime/agent.js';
import { canonicalJson } from './membership.js';

export const STATE_FILE = 'state.json';
export const STATE_TEMP_FILE = 'state.json.tmp';
export const LOCK_FILE = 'agent.lock';
export const STATE_FORMAT = 'conclave-agent-state';
export const STATE_VERSION = 1;
const STATE_FILE_BYTES_MAX = 64 * 1024;

/** Why the agent refuses its data directory; the message says what is wrong and what to do. */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

const stateFileSchema = z
  .object({
    format: z.literal(STATE_FORMAT),
    version: z.literal(STATE_VERSION),
    member: z.string().max(64),
    durable: z.record(z.string().max(64), z.union([z.string().max(200), z.number(), z.null()])),
    checksum: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

/** How each algorithm reads its durable state; a state it would read differently is not its own. */
const DURABLE_READERS: Record<AlgorithmName, (durable: DurableState) => Record<string, unknown>> = {
  raft: readRaftDurable as (durable: DurableState) => Record<string, unknown>,
  bully: readBullyDurable,
  paxos: readPaxosDurable,
};

export function stateChecksum(member: string, durable: DurableState): string {
  return createHash('sha256').update(canonicalJson([STATE_FORMAT, STATE_VERSION, member, durable])).digest('hex');
}

export function encodeState(member: string, durable: DurableState): string {
  return `${JSON.stringify({ format: STATE_FORMAT, version: STATE_VERSION, member, durable, checksum: stateChecksum(member, durable) })}\n`;
}

/** Checks a state file's text; throws DataDirError naming what is wrong. */
export function decodeState(text: string, path: string, member: string, algorithm: AlgorithmName): DurableState {
  const refuse = (what: string): never => {
    throw new DataDirError(`${path} ${what}; the agent will not start from zero on its own (--reset-state discards the state, if you mean it)`);
  };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return refuse('is not valid JSON (corrupt or truncated)');
  }
  const parsed = stateFileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return refuse(`is not a Conclave agent state file (${issue.path.join('.') || 'top level'}: ${issue.message})`);
  }
  const file = parsed.data;
  if (file.checksum !== stateChecksum(file.member, file.durable)) return refuse('fails its checksum (corrupt)');
  if (file.member !== member) return refuse(`belongs to member "${file.member}", not "${member}"`);
  const read = DURABLE_READERS[algorithm](file.durable);
  if (canonicalJson(read) !== canonicalJson(file.durable)) return refuse(`does not hold ${algorithm} state (it holds ${canonicalJson(file.durable).slice(0, 120)})`);
  return file.durable;
}

export interface FileStorageOptions {
  dir: string;
  member: string;
  algorithm: AlgorithmName;
  /** Discard what the directory holds (the operator's --reset-state). */
  reset: boolean;
  /** Told what was found (for the log). */
  onOpen?: (found: 'none' | 'loaded' | 'discarded', state: DurableState | null) => void;
}

export class FileStorage implements DurableStorage {
  readonly path: string;
  private readonly tempPath: string;
  /** The last state known durable (read at start, then each confirmed write). */
  private confirmed: DurableState | null;
  private writing = false;

  private constructor(
    private readonly options: FileStorageOptions,
    confirmed: DurableState | null,
  ) {
    this.path = join(options.dir, STATE_FILE);
    this.tempPath = join(options.dir, STATE_TEMP_FILE);
    this.confirmed = confirmed;
  }

  /** Reads and checks the directory's state; throws DataDirError when it cannot be trusted. */
  static open(options: FileStorageOptions): FileStorage {
    const path = join(options.dir, STATE_FILE);
    // A temp file is a write that a crash interrupted before its rename: never the state.
    rmSync(join(options.dir, STATE_TEMP_FILE), { force: true });
    if (!existsSync(path)) {
      options.onOpen?.('none', null);
      return new FileStorage(options, null);
    }
    if (options.reset) {
      options.onOpen?.('discarded', null);
      return new FileStorage(options, null);
    }
    let text: string;
    try {
      const bytes = readFileSync(path);
      if (bytes.length > STATE_FILE_BYTES_MAX) throw new DataDirError(`${path} is larger than ${STATE_FILE_BYTES_MAX} bytes`);
      text = bytes.toString('utf8');
    } catch (error) {
      if (error instanceof DataDirError) throw error;
      throw new DataDirError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const state = decodeState(text, path, options.member, options.algorithm);
    options.onOpen?.('loaded', state);
    return new FileStorage(options, state);
  }

  load(): DurableState | null {
    return this.confirmed === null ? null : { ...this.confirmed };
  }

  save(state: DurableState, done: (error: Error | null) => void): void {
    if (this.writing) {
      done(new Error('a write is already in flight'));
      return;
    }
    this.writing = true;
    const copy = { ...state };
    this.write(copy).then(
      () => {
        this.writing = false;
        this.confirmed = copy;
        done(null);
      },
      (error: unknown) => {
        this.writing = false;
        done(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  private async write(state: DurableState): Promise<void> {
    const file = await open(this.tempPath, 'w', 0o600);
    try {
      await file.writeFile(encodeState(this.options.member, state));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(this.tempPath, this.path);
    // The rename is durable only once the directory's entry is.
    const dir = await open(this.options.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

// ---- The lock ----

interface LockOwner {
  pid: number;
  /** The process's start time (Linux: /proc/PID/stat field 22), so that a reused pid is not taken for the owner. */
  started: string | null;
  host: string;
}

/** Fields 3 and on of /proc/PID/stat (Linux), or null where there is no such file. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function processStart(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

/** Whether `pid` runs (a zombie, dead but not yet reaped, does not), and is the process that was recorded. */
function alive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const stat = procStat(owner.pid);
  if (stat === null) return true;
  if (stat[0] === 'Z') return false;
  return owner.started === null || stat[19] === owner.started;
}

/** Whether a process described by a pid file (`{pid, started}`) still runs. */
export function ownerAlive(text: string): { pid: number; alive: boolean } | null {
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (!Number.isSafeInteger(owner.pid) || owner.pid < 1) return null;
    return { pid: owner.pid, alive: alive({ pid: owner.pid, started: typeof owner.started === 'string' ? owner.started : null, host: '' }) };
  } catch {
    return null;
  }
}

export function describeSelf(pid = process.pid): string {
  return JSON.stringify({ pid, started: processStart(pid), host: hostname() });
}

export interface DataDirLock {
  /** The pid file of a killed agent found in the directory (its lock died with it), for the log. */
  readonly tookOverFrom: number | null;
  release(): void;
}

/**
 * Creates the data directory if missing and makes it durable: a new directory's entry lives in its
 * parent, which is fsynced (each level created), so that a first state.json written after a vote
 * cannot vanish with its directory on power loss.
 */
export function makeDataDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (first === undefined || process.platform === 'win32') return;
  for (let created = resolve(dir); ; created = dirname(created)) {
    syncDirectory(dirname(created));
    if (created === resolve(first) || dirname(created) === created) break;
  }
}

function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function inUse(dir: string, pid: number | null): DataDirError {
  const holder = pid === null ? 'another agent' : `another agent (pid ${pid}, ${join(dir, LOCK_FILE)})`;
  return new DataDirError(`${dir} is in use by ${holder}; one agent per data directory`);
}

function readLockFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Removes the pid file if it is still ours. */
function removeIfMine(path: string, mine: string): void {
  try {
    if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/**
 * Takes the data directory's lock, or throws DataDirError naming the agent that holds it.
 *
 * On Linux the lock is a unix socket in the abstract namespace, named after the directory's real
 * path: binding it is atomic, and the kernel releases it the moment its process dies, however it
 * dies (SIGKILL, a crash), so there is no stale lock to take over and no race in taking one. The
 * pid file beside it (agent.lock) only names the holder in the error. Abstract names are per network
 * namespace, so agents in different namespaces sharing one directory are caught only by the pid file
 * check below, which is not atomic. Elsewhere: lockWithFile.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  if (process.platform !== 'linux') return lockWithFile(dir);
  const path = join(dir, LOCK_FILE);
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (error) {
    throw new DataDirError(`cannot lock ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const name = `\0conclave-lock-${createHash('sha256').update(real).digest('hex').slice(0, 40)}`;
  // Anyone connecting is hung up on: the socket exists only to be bound.
  const server = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen({ path: name }, () => {
        server.off('error', reject);
        resolveListen();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw inUse(dir, ownerAlive(readLockFile(path))?.pid ?? null);
    throw new DataDirError(`cannot lock ${dir}: ${code ?? String(error)}`);
  }
  server.unref();
  const release = (): void => {
    server.close();
  };
  const previous = ownerAlive(readLockFile(path));
  if (previous !== null && previous.alive && previous.pid !== process.pid) {
    release();
    throw inUse(dir, previous.pid);
  }
  const mine = describeSelf();
  try {
    writeFileSync(path, mine, { mode: 0o600 });
  } catch (error) {
    release();
    throw new DataDirError(`cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return {
    tookOverFrom: previous === null || previous.pid === process.pid ? null : previous.pid,
    release: () => {
      removeIfMine(path, mine);
      release();
    },
  };
}

/** How long a lock file may stay empty (its owner between creating and writing it) before it counts as abandoned. */
const LOCK_WRITE_MS = 10_000;

/**
 * The lock without abstract sockets (macOS, Windows): an exclusive-create (wx) file holding its
 * owner's pid. A lock whose owner is gone is taken over only by whoever creates the takeover file
 * (wx too), and only if the lock still holds what was judged stale, so two agents starting together
 * after a crash cannot both remove it and each create their own; an empty lock (its owner is between
 * create and write) counts as held for LOCK_WRITE_MS. Limits: outside Linux there is no process
 * start time, so a dead agent's pid reused by another process keeps the lock until that process
 * ends; and a takeover file left by an agent killed during a takeover is removed once its owner is
 * gone, by a remove-then-create that two simultaneous starts could race (it needs two crashes).
 */
export function lockWithFile(dir: string): DataDirLock {
  const path = join(dir, LOCK_FILE);
  const takeoverPath = `${path}.takeover`;
  const mine = describeSelf();
  const create = (target: string): boolean => {
    let fd: number;
    try {
      fd = openSync(target, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new DataDirError(`cannot create ${target}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      writeSync(fd, mine);
    } finally {
      closeSync(fd);
    }
    return true;
  };
  const abandoned = (target: string, text: string): boolean => {
    if (text !== '') return ownerAlive(text)?.alive !== true;
    try {
      return Date.now() - statSync(target).mtimeMs > LOCK_WRITE_MS;
    } catch {
      return true;
    }
  };
  const taken = (tookOverFrom: number | null): DataDirLock => ({ tookOverFrom, release: () => removeIfMine(path, mine) });

  if (create(path)) return taken(null);
  const stale = readLockFile(path);
  if (!abandoned(path, stale)) throw inUse(dir, ownerAlive(stale)?.pid ?? null);
  const takeover = readLockFile(takeoverPath);
  if (takeover !== '' && abandoned(takeoverPath, takeover)) rmSync(takeoverPath, { force: true });
  if (!create(takeoverPath)) throw new DataDirError(`${dir} is being taken over by another agent (${takeoverPath}); one agent per data directory`);
  try {
    // Judged stale, and still the same file: nobody else replaced it meanwhile.
    if (readLockFile(path) !== stale) throw inUse(dir, ownerAlive(readLockFile(path))?.pid ?? null);
    rmSync(path, { force: true });
    if (!create(path)) throw inUse(dir, ownerAlive(readLockFile(path))?.pid ?? null);
    return taken(ownerAlive(stale)?.pid ?? null);
  } finally {
    removeIfMine(takeoverPath, mine);
  }
}
