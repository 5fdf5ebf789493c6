/**
 * A watched etcd cluster's timing (heartbeat, election timeout, pre-vote), read from a member's
 * command line, which etcd publishes with Go's expvar at /debug/vars on its client URL. Flags it
 * was not given are etcd's defaults; settings from the environment or a config file are not
 * visible there, and the source says so.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ElectionConfig } from '../../../shared/core/election.js';
import type { EtcdAccess } from '../../clients/etcd.js';

/** For the whole answer, not between its bytes: a member that trickles it must not hold up an open. */
export const READ_TIMEOUT_MS = 1_000;
const BODY_BYTES_MAX = 1024 * 1024;

export interface EtcdTiming {
  config: ElectionConfig;
  /** Where it came from, in words, for the node's details. */
  source: string;
}

/** etcd's default timing: heartbeat 100 ms, election timeout 1 s (randomized up to twice that), check-quorum on; pre-vote on from 3.5. */
export function etcdDefaults(version: string | null): ElectionConfig {
  const [major = 3, minor = 4] = (version ?? '').split('.').map(Number);
  return {
    heartbeatMs: 100,
    electionTimeoutMinMs: 1_000,
    electionTimeoutMaxMs: 2_000,
    preVote: major > 3 || (major === 3 && minor >= 5),
    checkQuorum: true,
    // etcd draws every timeout uniformly: it has no ranked timeouts.
    rankedTimeouts: false,
  };
}

/** The value of a Go flag (`-name v`, `--name v`, `--name=v`; a bare boolean flag is "true"), or undefined. */
function flagValue(cmdline: readonly string[], name: string, boolean: boolean): string | undefined {
  for (let index = 1; index < cmdline.length; index++) {
    const match = /^--?([^=]+)(?:=(.*))?$/.exec(cmdline[index]!);
    if (match === null || match[1] !== name) continue;
    if (match[2] !== undefined) return match[2];
    return boolean ? 'true' : cmdline[index + 1];
  }
  return undefined;
}

/** The timing a member runs with, from its command line and version. */
export function timingFromCommandLine(cmdline: readonly string[], version: string | null): EtcdTiming {
  const defaults = etcdDefaults(version);
  const heartbeatMs = Number(flagValue(cmdline, 'heartbeat-interval', false) ?? defaults.heartbeatMs);
  const electionMs = Number(flagValue(cmdline, 'election-timeout', false) ?? defaults.electionTimeoutMinMs);
  const preVote = flagValue(cmdline, 'pre-vote', true);
  const config: ElectionConfig = {
    heartbeatMs: Number.isFinite(heartbeatMs) && heartbeatMs > 0 ? heartbeatMs : defaults.heartbeatMs,
    electionTimeoutMinMs: Number.isFinite(electionMs) && electionMs > 0 ? electionMs : defaults.electionTimeoutMinMs,
    electionTimeoutMaxMs: 2 * (Number.isFinite(electionMs) && electionMs > 0 ? electionMs : defaults.electionTimeoutMinMs),
    preVote: preVote === undefined ? defaults.preVote : preVote === 'true' || preVote === '1',
    checkQuorum: true,
    // etcd draws every timeout uniformly: it has no ranked timeouts.
    rankedTimeouts: false,
  };
  const hidden = flagValue(cmdline, 'config-file', false) !== undefined ? 'a config file' : 'ETCD_* environment variables';
  return { config, source: `the member's flags, and etcd's defaults for those not given (settings in ${hidden} are not visible)` };
}

/** Reads a member's timing from /debug/vars, or null when it cannot be read. */
export async function readTiming(endpoint: string, access: EtcdAccess): Promise<EtcdTiming | null> {
  const vars = await getJson(new URL('/debug/vars', endpoint), access);
  const cmdline = (vars as { cmdline?: unknown } | null)?.cmdline;
  if (!Array.isArray(cmdline) || !cmdline.every((arg) => typeof arg === 'string')) return null;
  const version = (await getJson(new URL('/version', endpoint), access)) as { etcdserver?: unknown } | null;
  return timingFromCommandLine(cmdline, typeof version?.etcdserver === 'string' ? version.etcdserver : null);
}

function getJson(url: URL, access: EtcdAccess): Promise<unknown> {
  return new Promise((resolve) => {
    const tls = access.tls;
    const options = {
      signal: AbortSignal.timeout(READ_TIMEOUT_MS),
      ...(url.protocol === 'https:' && tls !== undefined ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
    };
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes > BODY_BYTES_MAX) request.destroy();
      });
      response.on('end', () => {
        try {
          resolve(response.statusCode === 200 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null);
        } catch {
          resolve(null);
        }
      });
      response.on('error', () => resolve(null));
    });
    request.on('error', () => resolve(null));
    request.end();
  });
}
