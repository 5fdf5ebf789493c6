/**
 * The etcd election's lease keep-alive against a real etcd whose answers are tampered with: an
 * answer etcd would never give ends the session with its reason, rather than being retried as
 * network trouble until the lease may have expired.
 */
import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { EtcdElection } from '../../electron/agent/etcd-election.js';
import type { Logger } from '../../electron/agent/log.js';
import { ETCD_SKIP_REASON, startRawCluster, type RawCluster } from '../support/etcd.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Logs kept as [level, message, fields]. */
function recordingLogger(lines: Array<[string, string, Record<string, unknown>]>): Logger {
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push([level, message, fields]);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
}

describe.skipIf(ETCD_SKIP_REASON !== null)('etcd election keep-alive', () => {
  it('ends the session, saying why, when etcd answers a keep-alive with a malformed TTL', async () => {
    const etcd: RawCluster = await startRawCluster({ members: 1, heartbeatMs: 50, electionTimeoutMs: 500 });
    cleanups.push(() => etcd.stop());
    const real = new Etcd3({ hosts: etcd.endpoints[0]! });
    cleanups.push(() => real.close());
    // Every lease answers its keep-alives with a TTL etcd never sends.
    const client = new Proxy(real, {
      get(target, property) {
        if (property === 'lease') {
          return (...args: Parameters<Etcd3['lease']>) => {
            const lease = target.lease(...args);
            lease.keepaliveOnce = async () => ({ TTL: 'soon' }) as Awaited<ReturnType<typeof lease.keepaliveOnce>>;
            return lease;
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const lines: Array<[string, string, Record<string, unknown>]> = [];
    const election = new EtcdElection({
      client,
      election: 'conclave-test',
      self: { id: 'n1', address: '127.0.0.1:7401' },
      campaign: true,
      leaseTtlS: 5,
      members: new Map([['n1', '127.0.0.1:7401']]),
      endpoints: etcd.endpoints,
      explain: (error) => (error instanceof Error ? error.message : String(error)),
      log: recordingLogger(lines),
      onChange: () => {},
    });
    election.start();
    cleanups.push(() => election.stop());
    const deadline = Date.now() + 4_000;
    const failed = (): [string, string, Record<string, unknown>] | undefined => lines.find(([, message]) => message === 'etcd campaign failed: retrying');
    while (failed() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failed()?.[2].problem, JSON.stringify(lines)).toMatch(/^etcd answered a keep-alive of conclave-test\/[0-9a-f]+ with a TTL of "soon"$/);
    expect(lines.filter(([, message]) => message === 'etcd lease keep-alive failed: retrying')).toEqual([]);
  });
});
