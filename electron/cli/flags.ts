/**
 * Command-line flags, parsed strictly (node:util's parseArgs): an unknown flag, a missing value or
 * a value out of range is a UsageError whose message says what was expected.
 */
import { resolve } from 'node:path';
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, type AlgorithmName } from '../../shared/core/election.js';
import { HOST_PORT_PATTERN, MAX_MEMBERS } from '../../shared/protocol/cluster-file.js';
import { ETCD_PLAYGROUND_SIZES } from '../../shared/protocol/etcd.js';
import type { TargetSpec } from '../../shared/protocol/types.js';
import { DEFAULT_NODE_COUNT, MAX_NODES } from '../targets/embedded/cluster.js';
import type { ServeOptions } from '../serve.js';
import type { TlsFiles } from '../wire/connection.js';
import { UsageError, integerFlag, readFlags, readTextFile, readToken, stringFlag, etcdWatchChoice, type FlagKind } from '../base/flags.js';

export const DEFAULT_PORT = 4100;
export const DEFAULT_HOST = '127.0.0.1';
export type { ServeOptions };


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

