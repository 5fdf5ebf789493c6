/**
 * The ground floor of the command lines: strict flag reading (node:util's parseArgs) whose every
 * refusal is a UsageError saying what was expected, small files a flag names, tokens read the one
 * way everywhere, and etcd's access flags (serve's and etcd-backed agents'). Every CLI of the
 * package (serve, agent, sim, scenario) and the Electron shell read their flags through it.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseEtcdTarget, type EtcdTls, type EtcdWatchSpec } from '../../shared/protocol/etcd.js';
import type { TargetSpec } from '../../shared/protocol/types.js';
import { weakTokenProblem } from '../../shared/protocol/tokens.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagKind = 'integer' | 'string' | 'boolean';

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

export function readTextFile(path: string, flag: string): string {
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
