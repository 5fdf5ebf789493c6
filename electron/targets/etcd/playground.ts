/**
 * An etcd playground: 3 or 5 real etcd members on 127.0.0.1, started by Conclave from the etcd
 * binary on PATH (or --etcd-bin) in a temporary data dir, with the timing chosen in the UI, and
 * broken with the same buttons as the embedded cluster (docs/etcd.md):
 *
 * - kill is SIGKILL, restart starts the member again on its data dir; pause is SIGSTOP, resume SIGCONT;
 * - the network's faults are enforced by a proxy in front of each member's peer URL (peer-proxy.ts),
 *   which the members advertise instead of their own;
 * - move-leader is etcd's own.
 *
 * Every process and proxy started here is stopped when the playground stops, and killed when this
 * process exits: 'exit' runs on process.exit and uncaught errors, but not when a signal the process
 * does not handle ends it (serve turns SIGINT, SIGTERM and SIGHUP into an exit: cli.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readSync, rmSync, statSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createRandom } from '../../../shared/core/random.js';
import type { ElectionConfig } from '../../../shared/core/election.js';
import type { NetworkTable } from '../../../shared/network/link-rules.js';
import {
  ETCD_DEFAULT_ELECTION_TIMEOUT_MS,
  ETCD_DEFAULT_HEARTBEAT_MS,
  ETCD_DEFAULT_PRE_VOTE,
  type EtcdPlaygroundSpec,
} from '../../../shared/protocol/etcd.js';
import type { NodeRunState } from '../../../shared/protocol/types.js';
import { freePorts } from '../../base/free-ports.js';
import { allOrNone } from '../../base/all-or-none.js';
import type { ManagedTarget } from '../target.js';
import { EtcdCluster, type EtcdRunner } from './cluster.js';
import { etcdArgs } from './member-args.js';
import { PeerProxy } from './peer-proxy.js';

/** How long the members may take to elect a first leader. */
export const PLAYGROUND_START_TIMEOUT_MS = 20_000;
/** How long stopping waits for the killed members to exit. */
export const PLAYGROUND_STOP_TIMEOUT_MS = 3_000;
const VERSION_TIMEOUT_MS = 5_000;
const HOST = '127.0.0.1';
/** The end of a member's log kept for its details and for errors. */
const LOG_TAIL_BYTES = 4_096;
const LOG_TAIL_LINES = 8;
/** Where etcd is often installed, for apps started without a shell's PATH. */
const USUAL_BIN_DIRS = ['/usr/local/bin', '/usr/bin', '/opt/homebrew/bin', '/snap/bin'];

export const ETCD_MISSING =
  'no etcd binary found on PATH: install etcd (Debian/Ubuntu: sudo apt-get install etcd-server; macOS: brew install etcd; ' +
  'or a release from https://github.com/etcd-io/etcd/releases), or give its path with --etcd-bin PATH';

/** The etcd binary to run: the one given (checked), else the first on PATH or in the usual places. */
export function findEtcdBinary(given: string | null | undefined, path = process.env.PATH ?? '', usualDirs: readonly string[] = USUAL_BIN_DIRS): string {
  const executable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (given !== null && given !== undefined) {
    if (!executable(given)) throw new Error(`the etcd binary ${given} is not an executable file`);
    return given;
  }
  const names = process.platform === 'win32' ? ['etcd.exe'] : ['etcd'];
  for (const dir of [...path.split(delimiter).filter((dir) => dir !== ''), ...usualDirs]) {
    for (const name of names) if (executable(join(dir, name))) return join(dir, name);
  }
  throw new Error(ETCD_MISSING);
}

/** etcd's member id, as it computes one for a member of a new cluster: the first 8 bytes of sha1(its peer URLs, sorted, then the cluster token). Decimal. */
export function etcdMemberId(peerUrls: readonly string[], clusterToken: string): string {
  const hash = createHash('sha1')
    .update([...peerUrls].sort().join('') + clusterToken)
    .digest();
  return hash.readBigUInt64BE(0).toString();
}

function etcdVersion(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['--version'], { timeout: VERSION_TIMEOUT_MS }, (error, stdout) => {
      const version = /etcd Version: (\S+)/.exec(stdout)?.[1];
      if (version !== undefined) resolve(version);
      else reject(new Error(`${binary} --version did not say which etcd it is${error ? ` (${error.message})` : ''}`));
    });
  });
}

/** The last lines of a log file. */
function logTail(file: string): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').split('\n').filter((line) => line.trim() !== '').slice(-LOG_TAIL_LINES).map((line) => line.slice(0, 400));
  } finally {
    closeSync(fd);
  }
}

/** One zap JSON log line in a few words: "error: failed to listen on ...". */
function lastWords(lines: string[]): string {
  const line = lines.at(-1);
  if (line === undefined) return 'it wrote nothing to its log';
  try {
    const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
    return [entry.level, entry.msg, entry.error].filter((part) => part !== undefined).join(': ');
  } catch {
    return line;
  }
}

interface MemberProcess {
  name: string;
  args: string[];
  dataDir: string;
  logFile: string;
  clientUrl: string;
  peerPort: number;
  proxy: PeerProxy;
  child: ChildProcess | null;
  state: NodeRunState;
  /** Resolves when the current process has exited. */
  exited: Promise<void>;
  /** This console killed it (or is stopping): its exit is no news. */
  expectingExit: boolean;
  lastExit: string | null;
  starts: number;
}

export interface PlaygroundContext {
  /** --etcd-bin: the binary to use; etcd on PATH when null. */
  etcdBin?: string | null;
}

export async function startEtcdPlayground(spec: EtcdPlaygroundSpec, context: PlaygroundContext = {}): Promise<ManagedTarget> {
  const binary = findEtcdBinary(context.etcdBin);
  const version = await etcdVersion(binary);
  const heartbeatMs = spec.heartbeatMs ?? ETCD_DEFAULT_HEARTBEAT_MS;
  const electionTimeoutMs = spec.electionTimeoutMs ?? ETCD_DEFAULT_ELECTION_TIMEOUT_MS;
  const preVote = spec.preVote ?? ETCD_DEFAULT_PRE_VOTE;
  const dir = mkdtempSync(join(tmpdir(), 'conclave-etcd-'));
  const names = Array.from({ length: spec.members }, (_, index) => `n${index + 1}`);
  const members = new Map<string, MemberProcess>();
  const exitListeners: Array<(name: string) => void> = [];
  let cluster: EtcdCluster | null = null;
  let stopping = false;

  const spawnMember = (member: MemberProcess): void => {
    if (stopping) return;
    const log = openSync(member.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(binary, member.args, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    member.child = child;
    member.expectingExit = false;
    member.starts += 1;
    member.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (member.child === child) member.child = null;
        if (!member.expectingExit && !stopping) {
          member.state = 'down';
          member.lastExit = `exited (${signal ?? `code ${code}`}): ${lastWords(logTail(member.logFile))}`;
          for (const listener of exitListeners) listener(member.name);
        }
        resolve();
      });
      child.once('error', (error) => {
        member.lastExit = `could not start ${binary}: ${error.message}`;
      });
    });
  };

  const signal = (member: MemberProcess, name: NodeJS.Signals): void => {
    if (member.child !== null && member.child.exitCode === null && member.child.signalCode === null) member.child.kill(name);
  };

  const killAll = (): void => {
    for (const member of members.values()) signal(member, 'SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A process that dies keeps nothing of ours open; a dir left behind is in the system's temp dir.
    }
  };
  // However this process exits, the members end with it (a signal must go through process.exit: see the header).
  process.once('exit', killAll);

  const stopAll = async (): Promise<void> => {
    stopping = true;
    process.off('exit', killAll);
    for (const member of members.values()) {
      member.expectingExit = true;
      signal(member, 'SIGKILL');
    }
    await Promise.race([Promise.all([...members.values()].map((member) => member.exited)), new Promise((resolve) => setTimeout(resolve, PLAYGROUND_STOP_TIMEOUT_MS))]);
    await Promise.all([...members.values()].map((member) => member.proxy.close()));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const token = `conclave-${randomBytes(6).toString('hex')}`;
    const ports = await freePorts(2 * spec.members);
    const proxies = await allOrNone(
      names.map((name, index) =>
        PeerProxy.listen({
          member: name,
          upstreamPort: ports[2 * index + 1]!,
          memberOf: (hex) => cluster?.nameOfHexId(hex) ?? null,
          random: createRandom((Date.now() + index) >>> 0),
        }),
      ),
      (proxy) => proxy.close(),
    );
    const initialCluster = names.map((name, index) => `${name}=${proxies[index]!.url}`).join(',');
    for (const [index, name] of names.entries()) {
      const clientUrl = `http://${HOST}:${ports[2 * index]}`;
      const peerPort = ports[2 * index + 1]!;
      const dataDir = join(dir, name);
      members.set(name, {
        name,
        dataDir,
        logFile: join(dir, `${name}.log`),
        clientUrl,
        peerPort,
        proxy: proxies[index]!,
        child: null,
        state: 'up',
        exited: Promise.resolve(),
        expectingExit: false,
        lastExit: null,
        starts: 0,
        args: etcdArgs({
          name,
          dataDir,
          clientUrl,
          listenPeerUrl: `http://${HOST}:${peerPort}`,
          // The members reach each other through the proxies, which the console's faults act on.
          advertisePeerUrl: proxies[index]!.url,
          initialCluster,
          clusterToken: token,
          heartbeatMs,
          electionTimeoutMs,
          preVote,
          logOutput: 'stderr',
        }),
      });
    }
    for (const member of members.values()) spawnMember(member);

    const runner: EtcdRunner = {
      unavailable: process.platform === 'win32' ? { pause: 'Windows has no SIGSTOP and SIGCONT: etcd members cannot be paused there' } : {},
      run: (name) => members.get(name)!.state,
      pid: (name) => members.get(name)!.child?.pid ?? null,
      kill: (name) => {
        const member = members.get(name)!;
        member.expectingExit = true;
        member.state = 'down';
        signal(member, 'SIGKILL');
      },
      start: (name) => {
        const member = members.get(name)!;
        member.state = 'up';
        // A member killed a moment ago may not have let go of its ports yet.
        void member.exited.then(() => {
          if (member.state === 'up' && member.child === null) spawnMember(member);
        });
      },
      pause: (name) => {
        const member = members.get(name)!;
        member.state = 'paused';
        signal(member, 'SIGSTOP');
      },
      resume: (name) => {
        const member = members.get(name)!;
        member.state = 'up';
        signal(member, 'SIGCONT');
      },
      applyRules: (table: NetworkTable) => {
        for (const member of members.values()) member.proxy.apply(table);
      },
      describe: (name) => {
        const member = members.get(name)!;
        return {
          clientUrl: member.clientUrl,
          peerUrl: `http://${HOST}:${member.peerPort}`,
          advertisedPeerUrl: member.proxy.url,
          peerProxy: { ...member.proxy.stats },
          dataDir: member.dataDir,
          logFile: member.logFile,
          starts: member.starts,
          lastExit: member.lastExit,
          log: logTail(member.logFile),
        };
      },
      onExit: (listener) => exitListeners.push(listener),
      stop: stopAll,
    };

    const config: ElectionConfig = {
      heartbeatMs,
      electionTimeoutMinMs: electionTimeoutMs,
      // etcd draws each election timeout between one and two election timeouts.
      electionTimeoutMaxMs: 2 * electionTimeoutMs,
      preVote,
      checkQuorum: true,
      // etcd draws every timeout uniformly: it has no ranked timeouts.
      rankedTimeouts: false,
    };
    const peerUrls = new Map(names.map((name, index) => [name, proxies[index]!.url]));
    cluster = new EtcdCluster({
      kind: 'etcd-playground',
      access: {},
      endpoints: [...members.values()].map((member) => member.clientUrl),
      members: names.map((name) => ({ name, memberId: etcdMemberId([peerUrls.get(name)!], token), endpoint: members.get(name)!.clientUrl, voting: true })),
      config,
      configSource: 'the playground’s settings',
      label: `etcd ${version} playground: ${spec.members} members on ${HOST}`,
      runner,
    });
    await electedOnce(cluster, members);
    return cluster;
  } catch (error) {
    // The cluster stops the runner, and so every member and proxy, with it.
    await (cluster === null ? stopAll() : cluster.stop());
    throw error;
  }
}

/** Waits for the first leader; a member that exits first fails the start with its last words. */
async function electedOnce(cluster: EtcdCluster, members: Map<string, MemberProcess>): Promise<void> {
  const deadline = Date.now() + PLAYGROUND_START_TIMEOUT_MS;
  for (;;) {
    const dead = [...members.values()].find((member) => member.state === 'down' || member.lastExit !== null);
    if (dead !== undefined) throw new Error(`etcd member ${dead.name} ${dead.lastExit ?? 'did not start'}`);
    if (cluster.snapshot().nodes.every((node) => node.reachable) && cluster.leaderReported()) return;
    if (Date.now() > deadline) {
      const silent = [...members.values()].map((member) => `${member.name}: ${lastWords(logTail(member.logFile))}`).join('; ');
      throw new Error(`the etcd members elected no leader within ${PLAYGROUND_START_TIMEOUT_MS / 1000} s (${silent})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
