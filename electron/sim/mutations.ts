/**
 * The mutation suite: deliberate breaks of the algorithms and the runtime that the simulator's
 * checkers must catch. A checker that never fails proves nothing; each break here is a bug a
 * real implementation could have, and CI runs seeds until every one is caught.
 */
import { DEFAULT_ELECTION_CONFIG, type AlgorithmName, type ElectionConfig, type Message, type NodeOptions } from '../../shared/core/election.js';
import { LeaderLease, LeasePromise } from '../../shared/core/lease.js';
import type { TermRefusal } from '../../shared/core/term-guard.js';
import { beatsByMargin, type PreferredLeaderRule } from '../../shared/core/leadership.js';
import { TakeoverWatch, type FollowerTrack } from '../../shared/core/takeover.js';
import { PaxosNode } from '../../shared/paxos/paxos.js';
import { RaftNode, type RaftMessage } from '../../shared/raft/raft.js';
import { Agent, type AgentOptions, type Batch } from '../runtime/agent.js';
import { LEADERSHIP_FAULTS } from './faults.js';
import type { Variant } from './seeded.js';
import type { SimulationOptions } from './simulator.js';

export interface Mutation {
  name: string;
  algorithm: AlgorithmName;
  /** The bug, in words. */
  description: string;
  variant: Variant;
  /** The settings under which it is run (pre-vote and check-quorum hide some breaks from sight). */
  config: ElectionConfig;
  /** Priorities, the rule and the faults it needs to show (breaks of priorities need priorities). */
  simulation?: Partial<Pick<SimulationOptions, 'priorities' | 'preferredLeader' | 'faults' | 'clockDriftMax'>>;
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

/** A priority-0 node stands for election anyway. */
class PriorityZeroCampaigns extends RaftNode {
  protected override mayCampaign(): boolean {
    return true;
  }
}

/** The leader's watch counts a follower reachable forever once it answered: it may hand over to a crashed or cut-off node. */
class BlindWatch extends TakeoverWatch {
  protected override reachableAt(): boolean {
    return true;
  }
}

class TakeoverToUnreachable extends RaftNode {
  protected override watchFollowers(...args: ConstructorParameters<typeof TakeoverWatch>): TakeoverWatch {
    return new BlindWatch(...args);
  }
}

/** The preferred-leader rule without its hysteresis: any better value, at once. */
class ImpatientWatch extends TakeoverWatch {
  protected override judge(track: FollowerTrack): void {
    track.preferredSince = beatsByMargin({ ...this.rule!, margin: 0 }, track.metric, this.metric) ? -Infinity : null;
  }
}

class RuleWithoutHysteresis extends RaftNode {
  protected override watchFollowers(...args: ConstructorParameters<typeof TakeoverWatch>): TakeoverWatch {
    return new ImpatientWatch(...args);
  }
}

/** The leader never hands over on its own: neither to a higher priority nor when its own priority became 0. */
class StubbornWatch extends TakeoverWatch {
  override decide(): null {
    return null;
  }
}

class PaxosNeverHandsOver extends PaxosNode {
  protected override watchFollowers(...args: ConstructorParameters<typeof TakeoverWatch>): TakeoverWatch {
    return new StubbornWatch(...args);
  }
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

/** The lease starts when a majority's acks arrive, not when the round left: it outlives the promises behind it by a round trip. */
class LeaseFromTheAck extends LeaderLease {
  protected override startOf(_sentAt: number, ackedAt: number): number {
    return ackedAt;
  }
}

/** The lease as long as the promises, with no room for clocks that drift. */
class LeaseWithoutDriftMargin extends LeaderLease {
  protected override lengthMs(): number {
    return this.timing.promiseMs;
  }
}

/** A follower forgets its promise when told its leader's connection closed: a new leader's acks are fresh at once. */
class PromiseForgottenOnHint extends LeasePromise {
  override hinted(): void {
    this.forget();
  }
}

class RaftLeaseFromTheAck extends RaftNode {
  protected override leaseOfLeader(...args: ConstructorParameters<typeof LeaderLease>): LeaderLease {
    return new LeaseFromTheAck(...args);
  }
}

class RaftLeaseWithoutDriftMargin extends RaftNode {
  protected override leaseOfLeader(...args: ConstructorParameters<typeof LeaderLease>): LeaderLease {
    return new LeaseWithoutDriftMargin(...args);
  }
}

class RaftHintsSkipTheLease extends RaftNode {
  protected override promiseToLeaders(...args: ConstructorParameters<typeof LeasePromise>): LeasePromise {
    return new PromiseForgottenOnHint(...args);
  }
}

/** The term guard with no margin: every higher term on one member's word is refused, so honest elections are too. */
class TermGuardWithoutMargin extends Agent {
  protected override termRefusal(message: Message, ownTerm: number): TermRefusal | null {
    return message.term > ownTerm ? { limit: ownTerm } : null;
  }
}

const PLAIN: ElectionConfig = { ...DEFAULT_ELECTION_CONFIG, preVote: false, checkQuorum: false };

const raft = (Machine: new (options: NodeOptions) => RaftNode): Variant => ({ createMachine: (options) => new Machine(options) });

/** The simulator's preferred-leader rule: its nemesis jitters loadavg by less than the margin. */
export const SIMULATED_RULE: PreferredLeaderRule = { capability: 'loadavg', prefer: 'lowest', margin: 0.5, stableMs: 3_000 };
/** Random priorities, changed by the nemesis, with noisy load averages and the rule. */
export const WITH_PRIORITIES: NonNullable<Mutation['simulation']> = { priorities: 'random', preferredLeader: SIMULATED_RULE, faults: LEADERSHIP_FAULTS };

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'lease-from-the-ack',
    algorithm: 'raft',
    description: 'a leader counts its lease from when a majority acknowledged a round, not from when the round left',
    variant: raft(RaftLeaseFromTheAck),
    config: DEFAULT_ELECTION_CONFIG,
  },
  {
    name: 'lease-without-drift-margin',
    algorithm: 'raft',
    description: "a leader's lease lasts as long as its followers' promises, with no room for clocks that drift",
    variant: raft(RaftLeaseWithoutDriftMargin),
    config: DEFAULT_ELECTION_CONFIG,
    // Clocks that drift up to 10% (as a badly synced VM's may): the margin is what keeps leases apart then.
    simulation: { clockDriftMax: 0.1 },
  },
  {
    name: 'hints-skip-the-lease',
    algorithm: 'raft',
    description: 'a follower told that its leader crashed forgets its lease promise and backs a new leader at once',
    variant: raft(RaftHintsSkipTheLease),
    config: DEFAULT_ELECTION_CONFIG,
  },
  {
    name: 'term-guard-without-margin',
    algorithm: 'raft',
    description: 'nodes refuse every higher term on one member\'s word, as a term guard with no margin would',
    variant: { createAgent: (options: AgentOptions) => new TermGuardWithoutMargin(options) },
    config: DEFAULT_ELECTION_CONFIG,
  },
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
    name: 'priority-zero-campaigns',
    algorithm: 'raft',
    description: 'a Raft node of priority 0 stands for election anyway',
    variant: raft(PriorityZeroCampaigns),
    config: DEFAULT_ELECTION_CONFIG,
    simulation: WITH_PRIORITIES,
  },
  {
    name: 'takeover-to-unreachable',
    algorithm: 'raft',
    description: 'a Raft leader counts a follower reachable forever once it answered, and hands over to it crashed or cut off',
    variant: raft(TakeoverToUnreachable),
    config: DEFAULT_ELECTION_CONFIG,
    simulation: WITH_PRIORITIES,
  },
  {
    name: 'rule-without-hysteresis',
    algorithm: 'raft',
    description: 'the preferred-leader rule hands over to any better value at once, without its margin and stable period',
    variant: raft(RuleWithoutHysteresis),
    config: DEFAULT_ELECTION_CONFIG,
    simulation: WITH_PRIORITIES,
  },
  {
    name: 'paxos-never-hands-over',
    algorithm: 'paxos',
    description: 'a Paxos leader never hands over on its own, to a higher priority or when its own became 0',
    variant: { createMachine: (options) => new PaxosNeverHandsOver(options) },
    config: DEFAULT_ELECTION_CONFIG,
    simulation: WITH_PRIORITIES,
  },
  {
    name: 'paxos-lead-on-quorum-minus-one',
    algorithm: 'paxos',
    description: 'Paxos proposers lead with promises from one node short of a majority',
    variant: { createMachine: (options) => new PaxosQuorumMinusOne(options) },
    config: DEFAULT_ELECTION_CONFIG,
  },
];
