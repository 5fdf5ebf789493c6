/** The registry of election algorithms: the only place that maps a name to an implementation. */
import type { AlgorithmName, ElectionNode, NodeOptions } from './core/election.js';
import { RaftNode } from './raft/raft.js';

export function createElectionNode(algorithm: AlgorithmName, options: NodeOptions): ElectionNode {
  switch (algorithm) {
    case 'raft':
      return new RaftNode(options);
  }
}
