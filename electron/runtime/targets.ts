/**
 * Building the cluster a spec names: the one place that knows every kind of target. The embedded
 * cluster runs here; agent processes and attached clusters are reached through their agents.
 */
import { parseElectionConfig } from '../../shared/core/config.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import type { TargetSpec } from '../../shared/protocol/types.js';
import { DEFAULT_NODE_COUNT, MAX_NODES } from './cluster.js';
import type { ManagedTarget } from './console.js';
import { EmbeddedRuntime } from './embedded.js';

export interface TargetContext {
  /** The seed of the embedded cluster's random choices. */
  seed: number;
}

export async function openTarget(spec: TargetSpec, context: TargetContext): Promise<ManagedTarget> {
  switch (spec.kind) {
    case 'embedded': {
      const nodes = spec.nodes ?? DEFAULT_NODE_COUNT;
      if (nodes > MAX_NODES) throw new Error(`an embedded cluster has 1 to ${MAX_NODES} nodes (got ${nodes})`);
      const config = parseElectionConfig({ ...DEFAULT_ELECTION_CONFIG, ...spec.config }, 'target.config');
      return new EmbeddedRuntime({ algorithm: spec.algorithm ?? 'raft', nodes, config, seed: context.seed });
    }
    case 'processes':
    case 'attached':
      throw new Error(`${spec.kind === 'processes' ? 'agent processes' : 'attaching to a cluster'} is not available in this build`);
  }
}
