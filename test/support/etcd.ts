/**
 * Real etcd for the tests: whether it is installed (CI installs Debian's etcd-server and
 * etcd-client), etcd clusters the tests start themselves on 127.0.0.1 and free ports (bounded
 * waits; every process killed and every data dir removed), and etcdctl's word on them.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { freePorts } from '../../electron/base/free-ports.js';
import { etcdArgs } from '../../electron/targets/etcd/member-args.js';
import { findEtcdBinary } from '../../electron/targets/etcd/playground.js';

const ETCDCTL_TIMEOUT_MS = 5_000;

function findEtcd(): string | null {
  try {
    return findEtcdBinary(undefined);
  } catch {
    return null;
  }
}

/** etcdctl on PATH, else beside etcd. */
function findEtcdctl(etcd: string | null): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...(etcd === null ? [] : [dirname(etcd)])];
  for (const dir of dirs.filter((entry) => entry !== '')) {
    try {
      accessSync(join(dir, 'etcdctl'), constants.X_OK);
      return join(dir, 'etcdctl');
    } catch {
      // Not in this one.
    }
  }
  return null;
}

export const ETCD_BIN = findEtcd();
export const ETCDCTL_BIN = findEtcdctl(ETCD_BIN);

/** Why the etcd tests cannot run here, or null. Printed when they are skipped. */
export const ETCD_SKIP_REASON =
  ETCD_BIN === null
    ? 'etcd is not installed (sudo apt-get install etcd-server etcd-client): the tests against real etcd are skipped'
    : ETCDCTL_BIN === null
      ? 'etcdctl is not installed (sudo apt-get install etcd-client): the tests against real etcd are skipped'
      : null;
if (ETCD_SKIP_REASON !== null) console.warn(ETCD_SKIP_REASON);

export interface EtcdctlStatus {
  endpoint: string;
  /** Hex, as etcd's logs write ids. */
  memberId: string;
  leader: string;
  raftTerm: number;
}

/** `etcdctl endpoint status -w json` of each endpoint; ids are 64-bit, so they are read as text, not JSON numbers. */
export function etcdctlStatus(endpoints: string[], extra: string[] = []): Promise<EtcdctlStatus[]> {
  return new Promise((resolve, reject) => {
    execFile(ETCDCTL_BIN!, ['--endpoints', endpoints.join(','), '--command-timeout=2s', ...extra, 'endpoint', 'status', '-w', 'json'], { timeout: ETCDCTL_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error && stdout.trim() === '') {
        reject(new Error(`etcdctl failed: ${stderr || error.message}`));
        return;
      }
      try {
        // A member with no leader has no "leader" field: proto3's JSON leaves zeros out.
        const quoted = stdout.replace(/"(cluster_id|member_id|leader|revision|raft_term|raftIndex|raftTerm|raftAppliedIndex|dbSize|dbSizeInUse)":(\d+)/g, '"$1":"$2"');
        const entries = JSON.parse(quoted) as Array<{ Endpoint: string; Status: { header: { member_id: string }; leader?: string; raftTerm?: string } }>;
        resolve(
          entries.map((entry) => ({
            endpoint: entry.Endpoint,
            memberId: BigInt(entry.Status.header.member_id).toString(16),
            leader: BigInt(entry.Status.leader ?? '0').toString(16),
            raftTerm: Number(entry.Status.raftTerm ?? 0),
          })),
        );
      } catch (parseError) {
        reject(new Error(`etcdctl said something unexpected (${String(parseError)}): ${stdout.slice(0, 300)}`));
      }
    });
  });
}

/** Runs etcdctl, resolving with its output or rejecting with its error. */
export function etcdctl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ETCDCTL_BIN!, ['--command-timeout=3s', ...args], { timeout: ETCDCTL_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`etcdctl ${args.join(' ')}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

export interface RawMember {
  name: string;
  clientUrl: string;
  process: ChildProcess | null;
  /** SIGKILL; resolves once it exited. */
  kill(): Promise<void>;
  /** Starts it again on its data dir. */
  restart(): void;
}

export interface RawCluster {
  endpoints: string[];
  members: RawMember[];
  dir: string;
  stop(): Promise<void>;
}

/**
 * An etcd cluster the test starts itself, not through Conclave: what an operator would point
 * Conclave at. `flags` are added to every member's (TLS, for one).
 */
export async function startRawCluster(options: {
  members: number;
  heartbeatMs: number;
  electionTimeoutMs: number;
  scheme?: 'http' | 'https';
  flags?: string[];
  /** false: the members are only started by their restart(). */
  start?: boolean;
  /** The client URL a member advertises, when it is not the one it listens on (a proxy in front of it). */
  advertiseClientUrl?: (index: number, clientUrl: string) => string;
}): Promise<RawCluster> {
  const ports = await freePorts(2 * options.members);
  const dir = mkdtempSync(join(tmpdir(), 'conclave-etcd-test-'));
  const scheme = options.scheme ?? 'http';
  const names = Array.from({ length: options.members }, (_, index) => `e${index + 1}`);
  const peer = (index: number): string => `http://127.0.0.1:${ports[2 * index + 1]}`;
  const initialCluster = names.map((name, index) => `${name}=${peer(index)}`).join(',');
  const members: RawMember[] = names.map((name, index) => {
    const clientUrl = `${scheme}://127.0.0.1:${ports[2 * index]}`;
    const args = [
      ...etcdArgs({
        name,
        dataDir: join(dir, name),
        clientUrl,
        ...(options.advertiseClientUrl === undefined ? {} : { advertiseClientUrl: options.advertiseClientUrl(index, clientUrl) }),
        listenPeerUrl: peer(index),
        advertisePeerUrl: peer(index),
        initialCluster,
        clusterToken: `test-${process.pid}`,
        heartbeatMs: options.heartbeatMs,
        electionTimeoutMs: options.electionTimeoutMs,
        logOutput: join(dir, `${name}.log`),
      }),
      ...(options.flags ?? []),
    ];
    const member: RawMember = {
      name,
      clientUrl,
      process: null,
      kill: async () => {
        const child = member.process;
        if (child === null || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      },
      restart: () => {
        member.process = spawn(ETCD_BIN!, args, { stdio: 'ignore' });
      },
    };
    return member;
  });
  // On the way out (an exit handler, so a signal turned into process.exit too): SIGKILL, then the folder.
  const killAll = (): void => {
    for (const member of members) member.process?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killAll);
  const cluster: RawCluster = {
    endpoints: members.map((member) => member.clientUrl),
    members,
    dir,
    stop: async () => {
      process.off('exit', killAll);
      await Promise.all(members.map((member) => member.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (options.start !== false) for (const member of members) member.restart();
  return cluster;
}

/** A CA, a server certificate for 127.0.0.1, a client certificate, and a CA that signed neither: PEM files in `dir`, made with openssl. */
export function makeTestPki(dir: string): { ca: string; otherCa: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string } {
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore', timeout: 20_000 });
  };
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  for (const ca of ['ca', 'other-ca']) openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=conclave-test-${ca}`]);
  for (const name of ['server', 'client']) {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=conclave-test-${name}`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'ext']);
  }
  return {
    ca: join(dir, 'ca.crt'),
    otherCa: join(dir, 'other-ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

/** Why the TLS tests cannot run here, or null. */
export const OPENSSL_SKIP_REASON = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore', timeout: 5_000 });
    return null;
  } catch {
    return 'openssl is not installed: the etcd TLS tests (which make their certificates with it) are skipped';
  }
})();
if (OPENSSL_SKIP_REASON !== null) console.warn(OPENSSL_SKIP_REASON);
