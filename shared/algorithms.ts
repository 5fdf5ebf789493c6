/**
 * The registry of election algorithms: the only place that maps a name to an implementation,
 * and what the runtime, the checkers and the dashboard may know about each one.
 */
import type { AlgorithmName, ElectionNode, Message, NodeOptions, VoteGrant } from './core/election.js';
import { BULLY_TRANSFER_REFUSAL, BullyNode, type BullyMessage } from './bully/bully.js';
import { PaxosNode, paxosVoteGrant, type PaxosMessage } from './paxos/paxos.js';
import { RaftNode, raftCommittedTerm, raftVoteGrant, type RaftMessage } from './raft/raft.js';

/** Every kind of a message union, checked complete by the compiler. */
const everyKind =
  <K extends string>() =>
  <const L extends readonly K[]>(kinds: L & ([Exclude<K, L[number]>] extends [never] ? unknown : { missing: Exclude<K, L[number]> })): readonly string[] =>
    kinds;

export interface AlgorithmInfo {
  name: AlgorithmName;
  label: string;
  /** What its "term" is called on screen. */
  termLabel: string;
  /** What "voted for" means, or null when the algorithm has no votes. */
  voteLabel: string | null;
  /** At most one leader per term is a property of the algorithm (false: split brain is possible). */
  singleLeaderPerTerm: boolean;
  /** Whether leadership can be handed to a chosen node; otherwise why not. */
  transfer: true | string;
  /** The message kinds it sends: anything else from the wire is not one of its messages. */
  messageKinds: readonly string[];
  /** Whether its leaders hold a lease that keeps two from claiming leadership at once (docs/lease.md); otherwise why not. */
  leaderLease: true | string;
  /** Which of the config switches apply. */
  usesPreVote: boolean;
  usesCheckQuorum: boolean;
  usesRankedTimeouts: boolean;
  /**
   * The vote (promise) a message shows its sender gave, or null: what a checker with a view
   * of the wire counts. Bully has no votes.
   */
  voteGrant: (message: Message) => VoteGrant | null;
  /**
   * The term a message shows its sender had made durable when sending it, or null when the
   * message only proposes a term (Raft's pre-vote). Every other message carries its sender's
   * durable term (election number, promised ballot).
   */
  committedTerm: (message: Message) => number | null;
  summary: string;
}

export const ALGORITHM_INFO: Record<AlgorithmName, AlgorithmInfo> = {
  raft: {
    name: 'raft',
    label: 'Raft',
    termLabel: 'term',
    voteLabel: 'voted for',
    singleLeaderPerTerm: true,
    transfer: true,
    leaderLease: true,
    messageKinds: everyKind<RaftMessage['kind']>()(['PreVote', 'PreVoteResp', 'RequestVote', 'RequestVoteResp', 'Heartbeat', 'HeartbeatResp', 'TimeoutNow']),
    usesPreVote: true,
    usesCheckQuorum: true,
    usesRankedTimeouts: true,
    voteGrant: raftVoteGrant,
    committedTerm: raftCommittedTerm,
    summary: 'Terms, one vote per term, randomized timeouts; pre-vote, check-quorum and leader stickiness as in etcd.',
  },
  bully: {
    name: 'bully',
    label: 'Bully',
    termLabel: 'election',
    voteLabel: null,
    singleLeaderPerTerm: false,
    transfer: BULLY_TRANSFER_REFUSAL,
    leaderLease: 'Bully has no quorum: each side of a partition elects its coordinator, so no lease can keep two from answering at once',
    messageKinds: everyKind<BullyMessage['kind']>()(['Election', 'Answer', 'Coordinator', 'Heartbeat']),
    usesPreVote: false,
    usesCheckQuorum: false,
    usesRankedTimeouts: false,
    voteGrant: () => null,
    committedTerm: (message) => message.term,
    summary: 'The highest-ranked running node becomes coordinator; no quorum, so a partition yields a coordinator per side.',
  },
  paxos: {
    name: 'paxos',
    label: 'Paxos (ballot election)',
    termLabel: 'ballot',
    voteLabel: 'promised',
    singleLeaderPerTerm: true,
    transfer: true,
    leaderLease: true,
    messageKinds: everyKind<PaxosMessage['kind']>()(['Prepare', 'Promise', 'Nack', 'Heartbeat', 'HeartbeatAck', 'TimeoutNow']),
    usesPreVote: false,
    usesCheckQuorum: true,
    usesRankedTimeouts: true,
    voteGrant: paxosVoteGrant,
    committedTerm: (message) => message.term,
    summary: 'Phase 1 of Paxos: the proposer of a ballot promised by a majority leads; with check-quorum it holds a lease.',
  },
};

export function createElectionNode(algorithm: AlgorithmName, options: NodeOptions): ElectionNode {
  switch (algorithm) {
    case 'raft':
      return new RaftNode(options);
    case 'bully':
      return new BullyNode(options);
    case 'paxos':
      return new PaxosNode(options);
  }
}
