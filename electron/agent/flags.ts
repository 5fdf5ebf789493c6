/**
 * `conclave agent` flags: parsed strictly with node:util's parseArgs, then every value checked.
 * A wrong flag, value, token or cluster file is a UsageError (exit code 2) that names the flag
 * or the cluster file's field.
 */
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { HOST_PORT_PATTERN, parseClusterFile, splitHostPort, type ClusterDefinition, type MemberEntry } from '../../shared/protocol/cluster-file.js';
import { ValidationError } from '../../shared/protocol/validate.js';
import type { EtcdWatchSpec } from '../../shared/protocol/etcd.js';
import { UsageError, etcdWatchChoice, readFileCapped, readSmallFile, readToken, type ReadFile } from '../base/flags.js';
import type { TlsFiles } from '../wire/connection.js';
import { TOKEN_BITS_MIN, isConsoleToken } from '../../shared/protocol/tokens.js';
import { LOG_LEVELS, type LogLevel } from './log.js';

export const DEFAULT_ON_ELECTED_GRACE_MS = 5_000;
export const ON_ELECTED_GRACE_MS_MAX = 600_000;
export const ON_ELECTED_COMMAND_CHARS_MAX = 4_096;
/** How an agent elects: with the cluster file's algorithm among its peers, or in an etcd election. */
export const BACKENDS = ['conclave', 'etcd'] as const;
export const DEFAULT_LEASE_TTL_S = 5;
export const LEASE_TTL_S_MAX = 3_600;
export const ELECTION_NAME_CHARS_MAX = 128;
/** Parts of letters, digits, dots, dashes and underscores, separated by single slashes: "orders", "election/orders". */
export const ELECTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9._-]+)*$/;
/** The flags of --backend etcd. */
const ETCD_FLAGS = ['etcd', 'election', 'lease-ttl-s', 'etcd-user', 'etcd-password-file', 'etcd-ca', 'etcd-cert', 'etcd-key'] as const;

export interface Endpoint {
  host: string;
  port: number;
}

/** --backend etcd: where and how the agent campaigns. */
export interface EtcdBackendSettings {
  /** The cluster's client URLs, and the user, password and TLS files it wants. */
  access: EtcdWatchSpec;
  election: string;
  leaseTtlS: number;
}

export interface AgentSettings {
  id: string;
  clusterPath: string;
  cluster: ClusterDefinition;
  member: Required<MemberEntry>;
  dataDir: string;
  token: string;
  /** Where the peer and console port listens (the member's address unless --listen). */
  listen: Endpoint;
  /** Where GET /leader and /status are served (the member's http unless --http). */
  http: Endpoint;
  /** Where a supervisor takes consoles: the member's supervisor address. */
  supervisorListen: Endpoint;
  tls: TlsFiles | null;
  onElected: string | null;
  onElectedGraceMs: number;
  resetState: boolean;
  /** Whether a peer's lost connection may hurry an election (a crash hint); off only to measure failover by timeouts alone. */
  crashHints: boolean;
  supervise: boolean;
  logLevel: LogLevel;
  /** null: the cluster file's algorithm, with the peers; else the etcd election this agent campaigns in. */
  etcd: EtcdBackendSettings | null;
}

const OPTIONS = {
  id: { type: 'string' },
  listen: { type: 'string' },
  cluster: { type: 'string' },
  'data-dir': { type: 'string' },
  'token-file': { type: 'string' },
  http: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'on-elected': { type: 'string' },
  'on-elected-grace-ms': { type: 'string' },
  'reset-state': { type: 'boolean' },
  'no-crash-hints': { type: 'boolean' },
  supervise: { type: 'boolean' },
  'log-level': { type: 'string' },
  backend: { type: 'string' },
  etcd: { type: 'string' },
  election: { type: 'string' },
  'lease-ttl-s': { type: 'string' },
  'etcd-user': { type: 'string' },
  'etcd-password-file': { type: 'string' },
  'etcd-ca': { type: 'string' },
  'etcd-cert': { type: 'string' },
  'etcd-key': { type: 'string' },
  help: { type: 'boolean' },
} as const;

export const AGENT_USAGE = `Usage: conclave agent --id ID --cluster FILE --data-dir DIR [--token-file FILE] [flags]

One member of a real cluster: it elects with its peers directly, keeps its term and vote in
DIR, serves GET /leader and /status over HTTP, and takes consoles (npm start -- --attach ...).
See docs/operators.md.

  --id ID                  this member's id; it must be listed in the cluster file
  --cluster FILE           the cluster file (JSON or YAML), the same on every member
  --data-dir DIR           where the durable state (term, vote, promise) lives; created if missing
  --token-file FILE        the cluster token (at least ${TOKEN_BITS_MIN} bits: make one with "conclave token";
                           a trailing newline is ignored); or set CONCLAVE_CLUSTER_TOKEN. Required:
                           agents never run without one. Consoles get the console token made from it
  --listen HOST:PORT       where to listen for peers and consoles (default: the member's address,
                           which is what peers dial; e.g. 0.0.0.0:7400 to listen on every interface)
  --http HOST:PORT         where to serve GET /leader and /status (default: the member's http)
  --tls-cert FILE          this member's certificate (PEM); with --tls-key and --tls-ca, every
  --tls-key FILE           connection is TLS and both ends must present a certificate signed by
  --tls-ca FILE            the CA
  --on-elected CMD         run CMD (with /bin/sh) while this member leads; CONCLAVE_TERM (a fencing
                           token), CONCLAVE_LEADER and CONCLAVE_ID are in its environment
  --on-elected-grace-ms N  on losing leadership, SIGTERM to CMD, then SIGKILL after N ms
                           (default ${DEFAULT_ON_ELECTED_GRACE_MS})
  --reset-state            discard the durable state in DIR (an operator who means it: this
                           member may then vote twice in a term it already voted in)
  --no-crash-hints         do not act on a peer's lost connection (a crash hint) before the election
                           timeout; still logged. For measuring failover by timeouts alone
  --supervise              run the agent as a child of a small supervisor, which restarts it after
                           a crash and lets consoles kill, restart, pause and resume it (on the
                           member's supervisor address)
  --log-level LEVEL        ${LOG_LEVELS.join(', ')} (default info); JSON lines on stdout
  --help                   this text

Electing through etcd instead (the cluster file still lists the members, for consoles):
  --backend etcd           campaign in an etcd election (a lease kept alive, the oldest key leads)
                           instead of running the cluster file's algorithm with the peers; the
                           leader key's revision is the term and fencing token (default: conclave)
  --etcd URL[,URL...]      the etcd cluster's client URLs (required with --backend etcd)
  --election NAME          the election (required): its keys are NAME/<lease id>, as etcdctl elect
  --lease-ttl-s N          the lease's TTL, 1 to ${LEASE_TTL_S_MAX} s (default ${DEFAULT_LEASE_TTL_S}; etcd may grant more): a
                           crashed leader is replaced within about this long
  --etcd-user U            an etcd user; its password in --etcd-password-file F or CONCLAVE_ETCD_PASSWORD
  --etcd-password-file F
  --etcd-ca F              with https:// URLs: the CA that signed etcd's certificates, and a client
  --etcd-cert F            certificate and its key for members started with --client-cert-auth
  --etcd-key F`;

function endpoint(value: string, flag: string): Endpoint {
  const match = HOST_PORT_PATTERN.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) throw new UsageError(`${flag} must be HOST:PORT with a port from 1 to 65535, like 0.0.0.0:7400 (got "${value.slice(0, 80)}")`);
  return splitHostPort(value);
}

/** Reads and checks a cluster file; the error names the file and the field. */
export function loadClusterFile(path: string, readFile: ReadFile = readFileCapped): ClusterDefinition {
  const text = readSmallFile(path, '--cluster', readFile).toString('utf8');
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new UsageError(`--cluster: ${path} is neither JSON nor YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  try {
    return parseClusterFile(document, path);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.message);
    throw error;
  }
}

export function parseAgentArgs(argv: readonly string[], env: Record<string, string | undefined>, readFile: ReadFile = readFileCapped): AgentSettings | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false, tokens: true });
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message.split('\n')[0] : String(error)} (conclave agent --help lists the flags)`);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given twice`);
    seen.add(token.name);
  }
  const values = parsed.values;
  if (values.help === true) return 'help';

  const required = (name: 'id' | 'cluster' | 'data-dir'): string => {
    const value = values[name];
    if (value === undefined || value === '') throw new UsageError(`--${name} is required (conclave agent --help lists the flags)`);
    return value;
  };
  const id = required('id');
  const clusterPath = required('cluster');
  const dataDir = required('data-dir');
  const cluster = loadClusterFile(clusterPath, readFile);
  const member = cluster.members.find((candidate) => candidate.id === id);
  if (member === undefined) {
    throw new UsageError(`--id: "${id.slice(0, 64)}" is not a member of ${clusterPath} (members: ${cluster.members.map((m) => m.id).join(', ')})`);
  }
  const token = readToken({
    flag: '--token-file',
    file: values['token-file'],
    envNames: ['CONCLAVE_CLUSTER_TOKEN'],
    env,
    missing: 'a cluster token is required: --token-file FILE or the CONCLAVE_CLUSTER_TOKEN environment variable ("conclave token" makes one)',
    renamedFrom: ['CONCLAVE_TOKEN'],
    readFile,
  });
  if (isConsoleToken(token)) throw new UsageError('the token given is a console token, which only consoles use: an agent needs the cluster token it was made from');

  const tlsFlags = ['tls-cert', 'tls-key', 'tls-ca'] as const;
  const givenTls = tlsFlags.filter((name) => values[name] !== undefined);
  if (givenTls.length !== 0 && givenTls.length !== tlsFlags.length) {
    const missing = tlsFlags.filter((name) => values[name] === undefined).map((name) => `--${name}`);
    throw new UsageError(`--tls-cert, --tls-key and --tls-ca go together (missing: ${missing.join(', ')})`);
  }
  const tls: TlsFiles | null =
    givenTls.length === 0
      ? null
      : {
          cert: readSmallFile(values['tls-cert']!, '--tls-cert', readFile),
          key: readSmallFile(values['tls-key']!, '--tls-key', readFile),
          ca: readSmallFile(values['tls-ca']!, '--tls-ca', readFile),
        };

  const onElected = values['on-elected'] ?? null;
  if (onElected !== null && (onElected.trim() === '' || onElected.length > ON_ELECTED_COMMAND_CHARS_MAX)) {
    throw new UsageError(`--on-elected must be a command of 1 to ${ON_ELECTED_COMMAND_CHARS_MAX} characters`);
  }
  const graceRaw = values['on-elected-grace-ms'];
  let onElectedGraceMs = DEFAULT_ON_ELECTED_GRACE_MS;
  if (graceRaw !== undefined) {
    onElectedGraceMs = Number(graceRaw);
    if (!/^\d+$/.test(graceRaw) || onElectedGraceMs > ON_ELECTED_GRACE_MS_MAX) {
      throw new UsageError(`--on-elected-grace-ms must be a whole number of milliseconds from 0 to ${ON_ELECTED_GRACE_MS_MAX} (got "${graceRaw.slice(0, 40)}")`);
    }
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel.slice(0, 40)}")`);
  const etcd = etcdBackend(values, env);

  return {
    id,
    clusterPath,
    cluster,
    member,
    dataDir,
    token,
    listen: values.listen === undefined ? splitHostPort(member.address) : endpoint(values.listen, '--listen'),
    http: values.http === undefined ? splitHostPort(member.http) : endpoint(values.http, '--http'),
    supervisorListen: splitHostPort(member.supervisor),
    tls,
    onElected,
    onElectedGraceMs,
    resetState: values['reset-state'] === true,
    crashHints: values['no-crash-hints'] !== true,
    supervise: values.supervise === true,
    logLevel: logLevel as LogLevel,
    etcd,
  };
}

/** --backend and the etcd flags that go with it; refuses combinations that make no sense. */
function etcdBackend(values: Partial<Record<keyof typeof OPTIONS, string | boolean>>, env: Record<string, string | undefined>): EtcdBackendSettings | null {
  const backend = values.backend ?? 'conclave';
  if (typeof backend !== 'string' || !(BACKENDS as readonly string[]).includes(backend)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')} (got "${String(backend).slice(0, 40)}")`);
  }
  const given = new Map<string, string>();
  for (const name of ETCD_FLAGS) {
    const value = values[name];
    if (typeof value === 'string') given.set(name, value);
  }
  if (backend !== 'etcd') {
    const stray = given.keys().next();
    if (stray.done !== true) throw new UsageError(`--${stray.value} goes with --backend etcd`);
    return null;
  }
  if (values['reset-state'] === true) throw new UsageError('--reset-state does not go with --backend etcd: an etcd-backed agent keeps no election state of its own (etcd holds it)');
  if (!given.has('etcd')) throw new UsageError("--backend etcd needs --etcd URL[,URL...]: the etcd cluster's client URLs");
  const election = given.get('election');
  if (election === undefined) throw new UsageError('--backend etcd needs --election NAME: the election to campaign in (its keys are NAME/<lease id>)');
  if (election.length > ELECTION_NAME_CHARS_MAX || !ELECTION_NAME_PATTERN.test(election)) {
    throw new UsageError(
      `--election must be 1 to ${ELECTION_NAME_CHARS_MAX} letters, digits, dots, dashes and underscores, in parts separated by single slashes, like orders or election/orders (got "${election.slice(0, 80)}")`,
    );
  }
  const ttlRaw = given.get('lease-ttl-s');
  const leaseTtlS = ttlRaw === undefined ? DEFAULT_LEASE_TTL_S : Number(ttlRaw);
  if (ttlRaw !== undefined && (!/^\d+$/.test(ttlRaw) || leaseTtlS < 1 || leaseTtlS > LEASE_TTL_S_MAX)) {
    throw new UsageError(`--lease-ttl-s must be a whole number of seconds from 1 to ${LEASE_TTL_S_MAX} (got "${ttlRaw.slice(0, 40)}")`);
  }
  return { access: etcdWatchChoice(given, env), election, leaseTtlS };
}
