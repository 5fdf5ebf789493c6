/**
 * Command-line flags, parsed strictly (node:util's parseArgs): an unknown flag, a missing value or
 * a value out of range is a UsageError whose message says what was expected.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, type AlgorithmName } from '../../shared/core/election.js';
import { HOST_PORT_PATTERN, MAX_MEMBERS } from '../../shared/protocol/cluster-file.js';
import { ETCD_PLAYGROUND_SIZES, parseEtcdTarget, type EtcdTls, type EtcdWatchSpec } from '../../shared/protocol/etcd.js';
import type { TargetSpec } from '../../shared/protocol/types.js';
import { DEFAULT_NODE_COUNT, MAX_NODES } from '../runtime/cluster.js';
import type { TlsFiles } from '../wire/connection.js';
import { weakTokenProblem } from '../../shared/protocol/tokens.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const DEFAULT_PORT = 4100;
export const DEFAULT_HOST = '127.0.0.1';

export interface ServeOptions {
  host: string;
  port: number;
  nodes: number;
  token: string | null;
  seed: number;
  algorithm: AlgorithmName;
  /** The cluster to serve first: embedded (--nodes), agent processes (--processes) or attached (--attach). */
  cluster: TargetSpec;
  /** --processes: where the agents' data dirs go (kept); a temporary folder otherwise. */
  dataDir: string | null;
  /** --attach: certificate files when the agents use TLS. */
  tls: TlsFiles | null;
  /** --no-crash-hints: a killed embedded node's peers learn of it by timeouts alone. */
  crashHints: boolean;
  /** --etcd-bin: the etcd binary of playgrounds (this one and any the dashboard opens); found on PATH when null. */
  etcdBin: string | null;
}

type FlagKind = 'integer' | 'string' | 'boolean';

/**
 * Reads `--name value`, `--name=value` and boolean `--name` (node:util's parseArgs) into a map,
 * refusing unknown names, other arguments, a flag given twice and a missing value in words.
 */
export function readFlags(argv: readonly string[], known: Record<string, FlagKind>): Map<string, string | true> {
  const options = Object.fromEntries(Object.entries(known).map(([name, kind]) => [name, { type: kind === 'boolean' ? 'boolean' : 'string' }] as const));
  // Not strict: each refusal below names the flag in this CLI's words.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags = new Map<string, string | true>();
  for (const token of tokens) {
    if (token.kind !== 'option' || !token.rawName.startsWith('--')) throw new UsageError(`unexpected argument "${argv[token.index]}"`);
    const name = token.name;
    const kind = Object.hasOwn(known, name) ? known[name] : undefined;
    if (kind === undefined) throw new UsageError(`unknown flag --${name} (known: ${Object.keys(known).map((k) => `--${k}`).join(', ')})`);
    if (flags.has(name)) throw new UsageError(`--${name} is given twice`);
    if (kind === 'boolean') {
      if (token.inlineValue === true) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    const value = token.value;
    if (value === undefined || value === '' || (token.inlineValue !== true && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

export function integerFlag(flags: Map<string, string | true>, name: string, fallback: number, min: number, max: number): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new UsageError(`--${name} must be a whole number (got "${String(raw)}")`);
  }
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max} (got ${value})`);
  return value;
}

export function stringFlag(flags: Map<string, string | true>, name: string): string | undefined {
  const raw = flags.get(name);
  return typeof raw === 'string' ? raw : undefined;
}

export const SERVE_FLAGS: Record<string, FlagKind> = {
  port: 'integer',
  host: 'string',
  nodes: 'integer',
  token: 'string',
  'token-file': 'string',
  seed: 'integer',
  algorithm: 'string',
  attach: 'string',
  'console-token-file': 'string',
  'cluster-token-file': 'string',
  processes: 'integer',
  'no-crash-hints': 'boolean',
  'data-dir': 'string',
  'tls-cert': 'string',
  'tls-key': 'string',
  'tls-ca': 'string',
  etcd: 'string',
  'etcd-user': 'string',
  'etcd-password-file': 'string',
  'etcd-ca': 'string',
  'etcd-cert': 'string',
  'etcd-key': 'string',
  'etcd-playground': 'integer',
  'etcd-bin': 'string',
  help: 'boolean',
};

export const SERVE_USAGE = `Usage: conclave serve [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}] [--nodes ${DEFAULT_NODE_COUNT}] [--algorithm raft]
                     [--seed N] [--token-file F]
                     [--processes N [--data-dir DIR]] | [--attach HOST:PORT[,HOST:PORT...] [--console-token-file F]]
                     | [--etcd URL[,URL...] [--etcd-user U --etcd-password-file F] [--etcd-ca F] [--etcd-cert F --etcd-key F]]
                     | [--etcd-playground 3|5 [--etcd-bin PATH]]

  --port       TCP port of the hub and dashboard (0 picks a free one)
  --host       address to listen on; anything but loopback requires a token
  --nodes      embedded cluster size, 1 to ${MAX_NODES}
  --algorithm  election algorithm: ${ALGORITHMS.join(', ')}
  --seed       seed of the cluster's random choices (timeouts, jitter)
  --token-file  a file holding the hub token, the secret dashboards and tools must present (or
               set CONCLAVE_HUB_TOKEN); at least 128 bits: make one with "conclave token"
  --processes  run N real agent processes on this machine (under supervisors) instead of the
               embedded cluster; they stop when this does. --data-dir keeps their state there
  --attach     watch and steer a real cluster of conclave agents: any of its agents' addresses
  --console-token-file  the agents' console token (else CONCLAVE_CONSOLE_TOKEN): it watches and
               steers them but cannot join them as a member ("conclave token --console" makes it
               from the cluster token, which is taken too, and never sent)
  --tls-cert, --tls-key, --tls-ca  certificate files when the agents use TLS
  --no-crash-hints  a killed embedded node's peers find out by their election timeout alone, as
               if its connections had not closed (to compare failover with and without hints)
  --etcd       watch a real etcd cluster: its members' client URLs (http://10.0.0.5:2379, ...)
  --etcd-user, --etcd-password-file  an etcd user and a file holding its password (or set
               CONCLAVE_ETCD_PASSWORD); --etcd-ca, --etcd-cert, --etcd-key: PEM files for https
  --etcd-playground  start 3 or 5 etcd members on this machine to break; they stop when this does
  --etcd-bin   the etcd binary (default: etcd on PATH; Debian: sudo apt-get install etcd-server)

Timing defaults: heartbeat ${DEFAULT_ELECTION_CONFIG.heartbeatMs} ms, election timeout ${DEFAULT_ELECTION_CONFIG.electionTimeoutMinMs}-${DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs} ms.`;

export function parseServeArgs(argv: readonly string[], env: Record<string, string | undefined>): ServeOptions | 'help' {
  const flags = readFlags(argv, SERVE_FLAGS);
  if (flags.has('help')) return 'help';
  const algorithm = stringFlag(flags, 'algorithm') ?? 'raft';
  if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new UsageError(`--algorithm must be one of ${ALGORITHMS.join(', ')} (got "${algorithm}")`);
  }
  const host = stringFlag(flags, 'host') ?? DEFAULT_HOST;
  const token = hubToken(flags, env);
  const nodes = integerFlag(flags, 'nodes', DEFAULT_NODE_COUNT, 1, MAX_NODES);
  return {
    host,
    port: integerFlag(flags, 'port', DEFAULT_PORT, 0, 65535),
    nodes,
    token,
    seed: integerFlag(flags, 'seed', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1),
    algorithm: algorithm as AlgorithmName,
    cluster: clusterChoice(flags, env, algorithm as AlgorithmName, nodes),
    dataDir: stringFlag(flags, 'data-dir') ?? null,
    tls: tlsFlags(flags),
    crashHints: !flags.has('no-crash-hints'),
    etcdBin: etcdBinFlag(flags),
  };
}

/** Which cluster the flags ask for; combinations that cannot both hold are refused. */
function clusterChoice(flags: Map<string, string | true>, env: Record<string, string | undefined>, algorithm: AlgorithmName, nodes: number): TargetSpec {
  const attach = stringFlag(flags, 'attach');
  const exclusive = ['attach', 'processes', 'nodes', 'etcd', 'etcd-playground'].filter((name) => flags.has(name));
  if (exclusive.length > 1) throw new UsageError(`--${exclusive[0]} and --${exclusive[1]} cannot be used together`);
  if (flags.has('data-dir') && !flags.has('processes')) throw new UsageError('--data-dir goes with --processes');
  if (flags.has('cluster-token-file')) {
    throw new UsageError('--cluster-token-file is now --console-token-file: give a console the console token ("conclave token --console"), which cannot join the cluster as a member');
  }
  for (const name of ['console-token-file', 'tls-cert', 'tls-key', 'tls-ca']) {
    if (flags.has(name) && attach === undefined) throw new UsageError(`--${name} goes with --attach`);
  }
  for (const name of ['etcd-user', 'etcd-password-file', 'etcd-ca', 'etcd-cert', 'etcd-key']) {
    if (flags.has(name) && !flags.has('etcd')) throw new UsageError(`--${name} goes with --etcd`);
  }
  if ((flags.has('etcd') || flags.has('etcd-playground')) && flags.has('algorithm')) {
    throw new UsageError('--algorithm does not go with --etcd or --etcd-playground: etcd elects with Raft');
  }
  if (flags.has('etcd')) return etcdWatchChoice(flags, env);
  if (flags.has('etcd-playground')) {
    const members = integerFlag(flags, 'etcd-playground', 3, 1, 99);
    if (!(ETCD_PLAYGROUND_SIZES as readonly number[]).includes(members)) throw new UsageError(`--etcd-playground takes ${ETCD_PLAYGROUND_SIZES.join(' or ')} members (got ${members})`);
    return { kind: 'etcd-playground', members: members as (typeof ETCD_PLAYGROUND_SIZES)[number] };
  }
  if (flags.has('processes')) return { kind: 'processes', nodes: integerFlag(flags, 'processes', 3, 1, MAX_MEMBERS), algorithm };
  if (attach === undefined) return { kind: 'embedded', algorithm, nodes };
  if (flags.has('algorithm')) throw new UsageError('--algorithm does not go with --attach: the cluster file of the agents says which algorithm they run');
  const addresses = attach.split(',').map((address) => address.trim());
  for (const address of addresses) {
    if (!HOST_PORT_PATTERN.test(address)) throw new UsageError(`--attach takes host:port addresses separated by commas (got "${address}")`);
  }
  const token = readToken({
    flag: '--console-token-file',
    file: stringFlag(flags, 'console-token-file'),
    envNames: ['CONCLAVE_CONSOLE_TOKEN', 'CONCLAVE_CLUSTER_TOKEN'],
    env,
    missing: '--attach needs the console token: --console-token-file F, or CONCLAVE_CONSOLE_TOKEN in the environment ("conclave token --console" makes it from the cluster token)',
    renamedFrom: ['CONCLAVE_TOKEN'],
  });
  return { kind: 'attached', addresses, token };
}

/** The hub's own token: from --token-file or CONCLAVE_HUB_TOKEN, never from the command line (where ps shows it); null for none. */
function hubToken(flags: Map<string, string | true>, env: Record<string, string | undefined>): string | null {
  if (flags.has('token')) throw new UsageError('--token would put the secret on the command line, where ps shows it: put it in a file and pass --token-file F, or set CONCLAVE_HUB_TOKEN');
  const file = stringFlag(flags, 'token-file');
  if (file === undefined && !env.CONCLAVE_HUB_TOKEN) {
    if (env.CONCLAVE_TOKEN) throw new UsageError('CONCLAVE_TOKEN is no longer read: the hub token is CONCLAVE_HUB_TOKEN (or --token-file F), and agents have their own CONCLAVE_CLUSTER_TOKEN');
    return null;
  }
  return readToken({ flag: '--token-file', file, envNames: ['CONCLAVE_HUB_TOKEN'], env, missing: 'no hub token' });
}

/** --etcd and its access flags (serve's and etcd-backed agents'); the password comes from a file or the environment, never the command line. */
export function etcdWatchChoice(flags: Map<string, string | true>, env: Record<string, string | undefined>): EtcdWatchSpec {
  const endpoints = stringFlag(flags, 'etcd')!.split(',').map((endpoint) => endpoint.trim().replace(/\/$/, ''));
  const spec: TargetSpec & { kind: 'etcd' } = { kind: 'etcd', endpoints };
  for (const endpoint of endpoints) {
    try {
      parseEtcdTarget({ kind: 'etcd', endpoints: [endpoint] }, 'etcd');
    } catch {
      throw new UsageError(`--etcd takes the members' client URLs, with ports, separated by commas: http://10.0.0.5:2379,... (got "${endpoint}")`);
    }
  }
  const username = stringFlag(flags, 'etcd-user');
  const passwordFile = stringFlag(flags, 'etcd-password-file');
  let password = env.CONCLAVE_ETCD_PASSWORD || undefined;
  if (passwordFile !== undefined) password = readTextFile(passwordFile, '--etcd-password-file').replace(/\r?\n$/, '');
  if (username !== undefined && password === undefined) throw new UsageError('--etcd-user needs its password: --etcd-password-file F, or CONCLAVE_ETCD_PASSWORD in the environment');
  if (username === undefined && passwordFile !== undefined) throw new UsageError('--etcd-password-file goes with --etcd-user');
  if (username !== undefined) {
    spec.username = username;
    spec.password = password;
  }
  const tls: EtcdTls = {};
  for (const [flag, field] of [['etcd-ca', 'ca'], ['etcd-cert', 'cert'], ['etcd-key', 'key']] as const) {
    const file = stringFlag(flags, flag);
    if (file !== undefined) tls[field] = readTextFile(file, `--${flag}`);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new UsageError('--etcd-cert and --etcd-key go together');
  if (Object.keys(tls).length > 0) {
    if (!endpoints.every((endpoint) => endpoint.startsWith('https:'))) throw new UsageError('--etcd-ca, --etcd-cert and --etcd-key go with https:// endpoints');
    spec.tls = tls;
  }
  try {
    return parseEtcdTarget(spec, '--etcd') as EtcdWatchSpec;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function etcdBinFlag(flags: Map<string, string | true>): string | null {
  const path = stringFlag(flags, 'etcd-bin');
  return path === undefined ? null : resolve(path);
}

function tlsFlags(flags: Map<string, string | true>): TlsFiles | null {
  const given = ['tls-cert', 'tls-key', 'tls-ca'].filter((name) => flags.has(name));
  if (given.length === 0) return null;
  if (given.length < 3) throw new UsageError('--tls-cert, --tls-key and --tls-ca go together');
  return {
    cert: Buffer.from(readTextFile(stringFlag(flags, 'tls-cert')!, '--tls-cert')),
    key: Buffer.from(readTextFile(stringFlag(flags, 'tls-key')!, '--tls-key')),
    ca: Buffer.from(readTextFile(stringFlag(flags, 'tls-ca')!, '--tls-ca')),
  };
}

function readTextFile(path: string, flag: string): string {
  return readSmallFile(path, flag).toString('utf8');
}

/** Token files, cluster files and PEM files above this are refused: they are small by nature. */
const INPUT_FILE_BYTES_MAX = 1024 * 1024;

export type ReadFile = (path: string) => Buffer;

export function readFileCapped(path: string): Buffer {
  if (statSync(path).size > INPUT_FILE_BYTES_MAX) return Buffer.alloc(INPUT_FILE_BYTES_MAX + 1);
  return readFileSync(path);
}

/** A file a flag names, read whole; the error names the flag, the file and why. */
export function readSmallFile(path: string, flag: string, readFile: ReadFile = readFileCapped): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag}: cannot read ${path}${code === undefined ? '' : ` (${code})`}`);
  }
  if (bytes.length > INPUT_FILE_BYTES_MAX) throw new UsageError(`${flag}: ${path} is larger than ${INPUT_FILE_BYTES_MAX} bytes`);
  return bytes;
}

export interface TokenSource {
  /** The flag that names the token file ("--token-file"), for messages. */
  flag: string;
  file: string | undefined;
  /** Environment variables that may hold the token, the first set one wins; used when no file is given. */
  envNames: readonly string[];
  env: Record<string, string | undefined>;
  /** The refusal when neither a file nor a variable gives a token. */
  missing: string;
  /** Variables an earlier version read for this token: set alone, they are named in the refusal. */
  renamedFrom?: readonly string[];
  readFile?: ReadFile;
}

/**
 * A token (the cluster's, a console's, the hub's), read the same way everywhere so that one file
 * means one token: the file's text with one trailing newline ignored (as `echo` and editors write
 * it), nothing else trimmed; on one line, and strong enough (wire/tokens.ts).
 */
export function readToken(source: TokenSource): string {
  let token: string;
  let from: string;
  if (source.file !== undefined) {
    const text = readSmallFile(source.file, source.flag, source.readFile).toString('utf8');
    if (text === '') throw new UsageError(`${source.flag}: ${source.file} is empty; it holds the cluster token`);
    token = text.replace(/\r?\n$/, '');
    from = `${source.flag} ${source.file}`;
  } else {
    const name = source.envNames.find((candidate) => source.env[candidate] !== undefined && source.env[candidate] !== '');
    if (name === undefined) {
      const renamed = (source.renamedFrom ?? []).find((candidate) => source.env[candidate] !== undefined && source.env[candidate] !== '');
      throw new UsageError(renamed === undefined ? source.missing : `${source.missing} (${renamed} is set, but it is no longer read: each secret has its own name now, see docs/operators.md)`);
    }
    token = source.env[name]!;
    from = name;
  }
  if (/[\r\n]/.test(token)) throw new UsageError(`the token (${from}) must be one line`);
  const weak = weakTokenProblem(token, from);
  if (weak !== null) throw new UsageError(weak);
  return token;
}
