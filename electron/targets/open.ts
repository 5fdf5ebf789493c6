/**
 * Building the cluster a spec names: the one place that knows every kind of target. The embedded
 * cluster runs in this process; agent processes and attached clusters are reached through their
 * agents (targets/agents/); etcd clusters, watched or started as a playground, through etcd's
 * own API (targets/etcd/).
 */
import { hostname } from 'node:os';
import { parseElectionConfig } from '../../shared/core/config.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import type { TargetSpec } from '../../shared/protocol/types.js';
import { findBuiltCli } from '../base/app-root.js';
import { AttachedCluster } from './agents/attached.js';
import { startProcesses } from './agents/processes.js';
import { EtcdCluster } from './etcd/cluster.js';
import { startEtcdPlayground } from './etcd/playground.js';
import type { TlsFiles } from '../wire/connection.js';
import { DEFAULT_NODE_COUNT, MAX_NODES } from './embedded/cluster.js';
import type { ManagedTarget } from './target.js';
import { EmbeddedTarget } from './embedded/embedded.js';

export interface TargetContext {
  /** The seed of the embedded cluster's random choices. */
  seed: number;
  /** Whether a killed embedded node's peers get a crash hint (default true). */
  crashHints?: boolean;
  /** Where agent processes keep their data dirs; a temporary folder when null. */
  dataDir?: string | null;
  /** Certificate files for attaching to agents that use TLS. */
  tls?: TlsFiles | null;
  /** The etcd binary of playgrounds (--etcd-bin); else found on PATH. */
  etcdBin?: string | null;
}

/** How this console names itself to agents (their logs; the owner of the faults it sets). */
export const CONSOLE_ID = `console@${hostname().slice(0, 40)}:${process.pid}`;

export async function openTarget(spec: TargetSpec, context: TargetContext): Promise<ManagedTarget> {
  switch (spec.kind) {
    case 'embedded': {
      const nodes = spec.nodes ?? DEFAULT_NODE_COUNT;
      if (nodes > MAX_NODES) throw new Error(`an embedded cluster has 1 to ${MAX_NODES} nodes (got ${nodes})`);
      const config = parseElectionConfig({ ...DEFAULT_ELECTION_CONFIG, ...spec.config }, 'target.config');
      return new EmbeddedTarget({ algorithm: spec.algorithm ?? 'raft', nodes, config, seed: context.seed, ...(context.crashHints === undefined ? {} : { crashHints: context.crashHints }) });
    }
    case 'processes': {
      const cli = findBuiltCli();
      if (cli === null) throw new Error('agent processes run the built CLI (out/main/cli.js), which is missing: run "npm run build"');
      parseElectionConfig({ ...DEFAULT_ELECTION_CONFIG, ...spec.config }, 'target.config');
      return startProcesses({
        nodes: spec.nodes,
        algorithm: spec.algorithm ?? 'raft',
        config: spec.config ?? {},
        cli,
        dataDir: context.dataDir ?? null,
        consoleId: CONSOLE_ID,
      });
    }
    case 'attached':
      return AttachedCluster.open({ addresses: spec.addresses, token: spec.token, consoleId: CONSOLE_ID, ...(context.tls ? { tls: context.tls } : {}) });
    case 'etcd':
      return EtcdCluster.watch(spec);
    case 'etcd-playground':
      return startEtcdPlayground(spec, { etcdBin: context.etcdBin ?? null });
  }
}
