/**
 * Talking to etcd members through the `etcd3` client (on @grpc/grpc-js): one client per member
 * endpoint, so that every answer is that member's own view; no retries or circuit breakers of
 * the client's own (the poller retries, with its own backoff); and errors explained in words.
 */
import { rootCertificates } from 'node:tls';
import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError, Etcd3, GRPCDeadlineExceededError, type IOptions } from 'etcd3';
import type { EtcdTls, EtcdWatchSpec } from '../../shared/protocol/etcd.js';

/** What a member needs to let this console in: a user and password, and TLS files. */
export type EtcdAccess = Pick<EtcdWatchSpec, 'username' | 'password' | 'tls'>;

/** gRPC reconnects to a member that went away this soon, and at least this often. */
const RECONNECT_BACKOFF_MS_MIN = 50;
const RECONNECT_BACKOFF_MS_MAX = 1_000;

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/** A fault-handling policy that runs the call once: the caller (the poller, an agent's election) decides when to try again. */
const RUN_ONCE: HostPolicy = {
  // A type-only member of cockatiel's policies, never read.
  _altReturn: undefined as never,
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute: async (call, signal) => call({ signal: signal ?? new AbortController().signal }),
};

/** A client of one member, at `endpoint` (http(s)://host:port). */
export function memberClient(endpoint: string, access: EtcdAccess): Etcd3 {
  return new Etcd3(
    withAccess(
      {
        hosts: endpoint,
        faultHandling: { host: () => RUN_ONCE, global: RUN_ONCE },
        grpcOptions: {
          'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MS_MIN,
          'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MS_MAX,
        },
      },
      access,
    ),
  );
}

/**
 * A client of a cluster, for a long-lived session (an agent's election): each call goes to one of
 * the endpoints, at random, once (the caller retries, with its own backoff, and says why each
 * failed); every call that is not a stream has a deadline, and gRPC keepalives notice a connection
 * that went silent.
 */
export function clusterClient(endpoints: string[], access: EtcdAccess, callTimeoutMs: number): Etcd3 {
  return new Etcd3(
    withAccess(
      {
        hosts: endpoints,
        faultHandling: { host: () => RUN_ONCE, global: RUN_ONCE },
        defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
        grpcOptions: {
          'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MS_MIN,
          'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MS_MAX,
          // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time).
          'grpc.keepalive_time_ms': 10_000,
          'grpc.keepalive_timeout_ms': 5_000,
        },
      },
      access,
    ),
  );
}

function withAccess(options: IOptions, access: EtcdAccess): IOptions {
  if (access.username !== undefined && access.password !== undefined) options.auth = { username: access.username, password: access.password };
  const credentials = credentialsOf(access.tls);
  if (credentials !== undefined) options.credentials = credentials;
  return options;
}

function credentialsOf(tls: EtcdTls | undefined): IOptions['credentials'] {
  if (tls === undefined || (tls.ca === undefined && tls.cert === undefined)) return undefined;
  // Without a CA of its own the client trusts the system's, as https does.
  const ca = tls.ca ?? rootCertificates.join('\n');
  return {
    rootCertificate: Buffer.from(ca),
    ...(tls.key === undefined ? {} : { privateKey: Buffer.from(tls.key) }),
    ...(tls.cert === undefined ? {} : { certChain: Buffer.from(tls.cert) }),
  };
}

/** Deadline options for one call. */
export function within(ms: number): { deadline: number } {
  return { deadline: Date.now() + ms };
}

/** etcd's member ids are 64-bit: the client gives them as decimal strings; logs and rafthttp headers use hex. */
export function hexId(decimal: string): string {
  return BigInt(decimal).toString(16);
}

export type EtcdProblemKind = 'auth' | 'permission' | 'tls' | 'unreachable' | 'timeout' | 'other';

export interface EtcdProblem {
  kind: EtcdProblemKind;
  /** In words, for people: what went wrong and, where it helps, what to check. */
  message: string;
}

/** What a failed call means; `endpoint` is the member it went to. */
export function explainEtcdError(error: unknown, endpoint: string, access: EtcdAccess): EtcdProblem {
  if (error instanceof EtcdAuthenticationFailedError) {
    return { kind: 'auth', message: `etcd at ${endpoint} refused the user "${access.username ?? ''}": wrong user name or password` };
  }
  if (error instanceof EtcdPermissionDeniedError) {
    return { kind: 'permission', message: `etcd at ${endpoint} denied ${access.username === undefined ? 'this request' : `the user "${access.username}"`} permission` };
  }
  if (error instanceof GRPCDeadlineExceededError) return { kind: 'timeout', message: `etcd at ${endpoint} did not answer in time` };
  const raw = error instanceof Error ? error.message : String(error);
  // gRPC says "14 UNAVAILABLE: No connection established. Last error: <why>. Resolution note: ..."
  const why = (/Last error: (?:Error: )?([\s\S]*?)(?:\s*\(\d{4}-\d\d-\d\dT[^)]*\))?\.? Resolution note/.exec(raw)?.[1] ?? raw).trim();
  if (/alert bad certificate|alert certificate required|alert unknown ca/i.test(why)) {
    return { kind: 'tls', message: `etcd at ${endpoint} refused this console's client certificate (check the client certificate and key, and that the member's CA signed them)` };
  }
  if (/certificate|self[- ]signed|SSL|TLS|wrong version number|handshake/i.test(why)) {
    return { kind: 'tls', message: `TLS with etcd at ${endpoint} failed: ${why} (check the CA)` };
  }
  if (/^Failed to connect$/.test(why) && endpoint.startsWith('http:')) {
    return { kind: 'unreachable', message: `could not talk to etcd at ${endpoint} (does it want https://?)` };
  }
  if (/UNAVAILABLE|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|Failed to connect/.test(raw)) {
    return { kind: 'unreachable', message: `etcd at ${endpoint} is unreachable: ${why}` };
  }
  return { kind: 'other', message: `etcd at ${endpoint}: ${why}` };
}
