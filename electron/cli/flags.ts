/**
 * Command-line flags, parsed strictly: an unknown flag, a missing value or a value out of
 * range is a UsageError whose message says what was expected.
 */
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, type AlgorithmName } from '../../shared/core/election.js';
import { DEFAULT_NODE_COUNT, MAX_NODES } from '../runtime/cluster.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const DEFAULT_PORT = 4100;
export const DEFAULT_HOST = '127.0.0.1';
export const MIN_TOKEN_LENGTH = 8;

export interface ServeOptions {
  host: string;
  port: number;
  nodes: number;
  token: string | null;
  seed: number;
  algorithm: AlgorithmName;
}

type FlagKind = 'integer' | 'string' | 'boolean';

/** Splits `--name value`, `--name=value` and boolean `--name` into a map, refusing unknown names. */
export function readFlags(argv: readonly string[], known: Record<string, FlagKind>): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = known[name];
    if (kind === undefined) throw new UsageError(`unknown flag --${name} (known: ${Object.keys(known).map((k) => `--${k}`).join(', ')})`);
    if (flags.has(name)) throw new UsageError(`--${name} is given twice`);
    if (kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    const value = eq === -1 ? argv[++index] : arg.slice(eq + 1);
    if (value === undefined || value === '' || (eq === -1 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
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
  seed: 'integer',
  algorithm: 'string',
  help: 'boolean',
};

export const SERVE_USAGE = `Usage: conclave serve [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}] [--nodes ${DEFAULT_NODE_COUNT}] [--algorithm raft]
                     [--seed N] [--token T]

  --port       TCP port of the hub and dashboard (0 picks a free one)
  --host       address to listen on; anything but loopback requires a token
  --nodes      embedded cluster size, 1 to ${MAX_NODES}
  --algorithm  election algorithm: ${ALGORITHMS.join(', ')}
  --seed       seed of the cluster's random choices (timeouts, jitter)
  --token      shared secret dashboards and tools must present (or set CONCLAVE_TOKEN)

Timing defaults: heartbeat ${DEFAULT_ELECTION_CONFIG.heartbeatMs} ms, election timeout ${DEFAULT_ELECTION_CONFIG.electionTimeoutMinMs}-${DEFAULT_ELECTION_CONFIG.electionTimeoutMaxMs} ms.`;

export function parseServeArgs(argv: readonly string[], env: Record<string, string | undefined>): ServeOptions | 'help' {
  const flags = readFlags(argv, SERVE_FLAGS);
  if (flags.has('help')) return 'help';
  const algorithm = stringFlag(flags, 'algorithm') ?? 'raft';
  if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new UsageError(`--algorithm must be one of ${ALGORITHMS.join(', ')} (got "${algorithm}")`);
  }
  const host = stringFlag(flags, 'host') ?? DEFAULT_HOST;
  const token = stringFlag(flags, 'token') ?? (env.CONCLAVE_TOKEN || null);
  if (token !== null && token.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(`the token must be at least ${MIN_TOKEN_LENGTH} characters long`);
  }
  return {
    host,
    port: integerFlag(flags, 'port', DEFAULT_PORT, 0, 65535),
    nodes: integerFlag(flags, 'nodes', DEFAULT_NODE_COUNT, 1, MAX_NODES),
    token,
    seed: integerFlag(flags, 'seed', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1),
    algorithm: algorithm as AlgorithmName,
  };
}
