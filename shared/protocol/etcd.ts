/**
 * The two etcd targets of an `open` command (docs/etcd.md): watching a real etcd cluster, and a
 * playground of etcd members that the hub starts on its own machine. Defined once with zod:
 * the TypeScript types, the runtime check with field-named errors.
 */
import { z } from 'zod';
import { formatPath } from './cluster-file.js';
import { ValidationError } from './validate.js';

/** Endpoints a watch may list (one per member is enough; any one that answers names the others). */
export const MAX_ETCD_ENDPOINTS = 25;
/** A PEM file: a CA bundle, a certificate chain or a key. */
export const MAX_PEM_CHARS = 32_768;
export const ETCD_PLAYGROUND_SIZES = [3, 5] as const;
/** etcd's own defaults (etcd --help). */
export const ETCD_DEFAULT_HEARTBEAT_MS = 100;
export const ETCD_DEFAULT_ELECTION_TIMEOUT_MS = 1_000;
/** The pre-vote a playground runs with unless told: etcd 3.5 and later default to it, as Kubernetes does. */
export const ETCD_DEFAULT_PRE_VOTE = true;
export const ETCD_HEARTBEAT_MS_MIN = 10;
export const ETCD_HEARTBEAT_MS_MAX = 5_000;
/** etcd refuses an election timeout of 50 s or more. */
export const ETCD_ELECTION_TIMEOUT_MS_MAX = 49_999;
/** etcd refuses an election timeout below five heartbeats. */
export const ETCD_ELECTION_HEARTBEATS_MIN = 5;

/** An http(s) URL with a port and nothing else: what etcd's --advertise-client-urls lists. */
function isEndpoint(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.hostname !== '' &&
    url.port !== '' &&
    (url.pathname === '/' || url.pathname === '') &&
    url.search === '' &&
    url.hash === '' &&
    url.username === '' &&
    url.password === ''
  );
}

const endpoint = z.string().max(300).refine(isEndpoint, 'must be an http(s) URL with a port and no path, like http://10.0.0.5:2379');

const pem = z
  .string()
  .max(MAX_PEM_CHARS)
  .refine((text) => text.includes('-----BEGIN '), 'must be PEM text (the contents of the file, starting with -----BEGIN)');

export const etcdTlsSchema = z
  .object({
    /** The CA that signed the members' certificates; the system's CAs when left out. */
    ca: pem.optional(),
    /** A client certificate (chain) and its key, for clusters started with --client-cert-auth. */
    cert: pem.optional(),
    key: pem.optional(),
  })
  .strict()
  .superRefine((tls, context) => {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      context.addIssue({ code: 'custom', path: [tls.cert === undefined ? 'cert' : 'key'], message: 'a client certificate and its key go together' });
    }
  });

export const etcdWatchSpecSchema = z
  .object({
    kind: z.literal('etcd'),
    endpoints: z.array(endpoint).min(1).max(MAX_ETCD_ENDPOINTS),
    /** etcd user and password, for clusters with authentication enabled. */
    username: z.string().min(1).max(256).optional(),
    password: z.string().min(1).max(1_024).optional(),
    tls: etcdTlsSchema.optional(),
  })
  .strict()
  .superRefine((spec, context) => {
    if ((spec.username === undefined) !== (spec.password === undefined)) {
      context.addIssue({ code: 'custom', path: [spec.username === undefined ? 'username' : 'password'], message: 'a user name and its password go together' });
    }
    const secure = spec.endpoints.map((url) => url.startsWith('https:'));
    if (secure.some((https) => https !== secure[0])) {
      context.addIssue({ code: 'custom', path: ['endpoints'], message: 'must all be http:// or all https://' });
    }
    if (spec.tls !== undefined && !secure[0]) {
      context.addIssue({ code: 'custom', path: ['tls'], message: 'goes with https:// endpoints' });
    }
  });

export const etcdPlaygroundSpecSchema = z
  .object({
    kind: z.literal('etcd-playground'),
    members: z.literal(ETCD_PLAYGROUND_SIZES),
    heartbeatMs: z.number().int().min(ETCD_HEARTBEAT_MS_MIN).max(ETCD_HEARTBEAT_MS_MAX).optional(),
    electionTimeoutMs: z.number().int().min(ETCD_HEARTBEAT_MS_MIN * ETCD_ELECTION_HEARTBEATS_MIN).max(ETCD_ELECTION_TIMEOUT_MS_MAX).optional(),
    preVote: z.boolean().optional(),
    // No binary here: whoever starts the hub chooses it (--etcd-bin, else PATH); a client that could
    // name one could run any executable as the hub's user.
  })
  .strict()
  .superRefine((spec, context) => {
    const heartbeatMs = spec.heartbeatMs ?? ETCD_DEFAULT_HEARTBEAT_MS;
    const electionTimeoutMs = spec.electionTimeoutMs ?? ETCD_DEFAULT_ELECTION_TIMEOUT_MS;
    if (electionTimeoutMs < ETCD_ELECTION_HEARTBEATS_MIN * heartbeatMs) {
      context.addIssue({
        code: 'custom',
        path: ['electionTimeoutMs'],
        message: `must be at least ${ETCD_ELECTION_HEARTBEATS_MIN} heartbeats (${ETCD_ELECTION_HEARTBEATS_MIN * heartbeatMs} ms), as etcd requires (got ${electionTimeoutMs} ms)`,
      });
    }
  });

export type EtcdTls = z.output<typeof etcdTlsSchema>;
export type EtcdWatchSpec = z.output<typeof etcdWatchSpecSchema>;
export type EtcdPlaygroundSpec = z.output<typeof etcdPlaygroundSpecSchema>;

/** Checks an etcd target of an `open` command; the error names every field that is wrong, under `path`. */
export function parseEtcdTarget(value: unknown, path: string): EtcdWatchSpec | EtcdPlaygroundSpec {
  const kind = (value as { kind?: unknown }).kind;
  const result = (kind === 'etcd' ? etcdWatchSpecSchema : etcdPlaygroundSpecSchema).safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys' && issue.keys.includes('etcdBin')
      ? `${path}.etcdBin: the etcd binary is chosen where the hub starts (--etcd-bin, else etcd on its PATH), not by a client`
      : `${path}${issue.path.length === 0 ? '' : `.${formatPath(issue.path)}`}: ${issue.message}`,
  );
  throw new ValidationError(problems.join('; '));
}
