/**
 * The mutation suite: deliberate breaks of the algorithms and the runtime that the simulator's
 * checkers must catch. A checker that never fails proves nothing; each break here is a bug a
 * real implementation could have, and CI runs seeds until every one is caught.
 */
import { DEFAULT_ELECTION_CONFIG, type AlgorithmName, type ElectionConfig, type NodeOptions } from '../../shared/core/election.js';
import { PaxosNode } from '../../shared/paxos/paxos.js';
import { RaftNode, type RaftMessage } from '../../shared/raft/raft.js';
import { Agent, type AgentOptions, type Batch } from '../runtime/agent.js';
import type { Variant } from './seeded.js';

export interface Mutation {
  name: string;
  algorithm: AlgorithmName;
  /** The bug, in words. */
  description: string;
  variant: Variant;
  /** The settings under which it is run (pre-vote and check-quorum hide some breaks from sight). */
  config: ElectionConfig;
}

class GrantEveryVote extends RaftNode {
  protected override grantsVote(): boolean {
    return true;
  }
}

class RaftQuorumMinusOne extends RaftNode {
  protected override quorumSize(): number {
    return super.quorumSize() - 1;
  }
}

class IgnoreHigherTerms extends RaftNode {
  protected override adoptHigherTerm(_message: RaftMessage, _now: number): void {}
}

class PaxosQuorumMinusOne extends PaxosNode {
  protected override quorumSize(): number {
    return super.quorumSize() - 1;
  }
}

/** Sends a batch's messages at once and saves its state afterwards: the swapped order. */
class SendBeforeSave extends Agent {
  protected override dispatch(batch: Batch): void {
    for (const message of batch.messages) this.transmit(message);
    super.dispatch({ ...batch, messages: [] });
  }
}

const PLAIN: ElectionConfig = { ...DEFAULT_ELECTION_CONFIG, preVote: false, checkQuorum: false };

const raft = (Machine: new (options: NodeOptions) => RaftNode): Variant => ({ createMachine: (options) => new Machine(options) });

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'grant-every-vote',
    algorithm: 'raft',
    description: 'Raft voters grant every vote request, even after voting in that term',
    variant: raft(GrantEveryVote),
    config: DEFAULT_ELECTION_CONFIG,
  },
  {
    name: 'raft-lead-on-quorum-minus-one',
    algorithm: 'raft',
    description: 'Raft candidates lead with one vote short of a majority',
    variant: raft(RaftQuorumMinusOne),
    config: DEFAULT_ELECTION_CONFIG,
  },
  {
    name: 'forget-vote-on-restart',
    algorithm: 'raft',
    description: "a node's disk forgets its term and vote, so a rebooted node starts from zero",
    variant: { forgetful: true },
    config: DEFAULT_ELECTION_CONFIG,
  },
  {
    name: 'send-before-save',
    algorithm: 'raft',
    description: 'the agent sends a vote before the write that records it is durable',
    variant: { createAgent: (options: AgentOptions) => new SendBeforeSave(options) },
    config: PLAIN,
  },
  {
    name: 'ignore-higher-terms',
    algorithm: 'raft',
    description: 'Raft nodes do not move to the higher term a message carries',
    variant: raft(IgnoreHigherTerms),
    config: DEFAULT_ELECTION_CONFIG,
  },
  {
    name: 'paxos-lead-on-quorum-minus-one',
    algorithm: 'paxos',
    description: 'Paxos proposers lead with promises from one node short of a majority',
    variant: { createMachine: (options) => new PaxosQuorumMinusOne(options) },
    config: DEFAULT_ELECTION_CONFIG,
  },
];
