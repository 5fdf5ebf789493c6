/**
 * The faults the model lists and heals. A node's fault is its run state (a node that is not up
 * is down or paused); the network's are the partition and the link faults, applied here to the
 * rules the network enforces. Since when each holds, and what the network's are, the fault book
 * says: the model keeps it from the events it records, as the run's analysis keeps its own
 * (shared/analysis/fault-book.ts), so the two name the same faults.
 */
import { FaultBook, linksNamed, nodeFault } from '../../../shared/analysis/fault-book.js';
import type { Random } from '../../../shared/core/random.js';
import { LinkRules } from '../../../shared/network/link-rules.js';
import { HEALTHY_LINK, isHealthy, type LinkFault } from '../../../shared/protocol/faults.js';
import type { ActiveFault, ClusterCommand, ClusterEvent, ClusterEventBody, CommandAck, NetworkView, NodeView } from '../../../shared/protocol/types.js';
import type { NodeControl } from '../target.js';
import { partitionOfGroups, partitionOfPreset } from './partitions.js';
import { refuse, unknownNode } from './refusals.js';

type NetworkEvent = Extract<ClusterEventBody, { type: 'partition' | 'link' | 'heal' }>;

export class ModelFaults {
  /** The network's fault rules: the embedded fabric reads them, attached agents get a copy. */
  readonly rules = new LinkRules();
  private readonly book: FaultBook;

  constructor(
    private readonly members: readonly string[],
    private readonly control: NodeControl,
    /** Randomness of the partition presets (random halves, ring order). */
    private readonly random: Random,
    private readonly record: (body: NetworkEvent) => void,
    /** Heals a node's fault: a down node restarts, a paused one resumes (recorded as such). */
    private readonly healNode: (type: 'restart' | 'resume', nodeId: string) => void,
    private readonly wallNow: () => number,
  ) {
    this.book = new FaultBook(members);
  }

  /** Every recorded event, for the fault book. */
  observe(event: ClusterEvent): void {
    this.book.observe(event);
  }

  /** The nodes' faults as their run state says (a node that never came up is down too), then the network's. */
  active(nodes: readonly NodeView[]): ActiveFault[] {
    const faults: ActiveFault[] = [];
    for (const node of nodes) {
      if (node.status === 'up') continue;
      const since = this.book.get(`${node.status}:${node.id}`);
      faults.push(nodeFault(node.status, node.id, since?.sinceT ?? 0, since?.sinceAt ?? this.wallNow()));
    }
    return [...faults, ...this.book.networkFaults()];
  }

  network(): NetworkView {
    const partition = this.book.partition;
    return {
      partition: partition === null ? null : { label: partition.label, groups: partition.groups },
      blocked: this.rules.blockedLinks(),
      links: this.rules.linkFaults().map(([from, to, fault]) => ({ from, to, fault })),
    };
  }

  /** The partition's groups, when the partition in force is a split into groups (its blocked links are exactly those between them). */
  splitGroups(): string[][] | null {
    return this.book.partition?.groups ?? null;
  }

  /** `leaderId`: the running leader of the highest term, the one `isolate-leader` cuts off. */
  partition(command: Extract<ClusterCommand, { type: 'partition' }>, leaderId: string | null): CommandAck {
    const plan = 'preset' in command ? partitionOfPreset(command.preset, this.members, this.random, leaderId) : partitionOfGroups(command.groups, this.members);
    if (!plan.ok) return plan;
    const { label, groups, blocked } = plan.partition;
    const refusal = this.control.networkRefusal?.({ ...this.rules.toTable(), blocked: [...blocked] }, groups) ?? null;
    if (refusal !== null) return refuse(refusal);
    this.rules.setBlocked(blocked);
    this.record({ type: 'partition', label, groups, blocked: [...blocked] });
    return { ok: true };
  }

  link(command: Extract<ClusterCommand, { type: 'link' }>): CommandAck {
    for (const id of [command.from, command.to]) if (id !== undefined && !this.members.includes(id)) return refuse(unknownNode(id, this.members));
    if (command.from !== undefined && command.from === command.to) return refuse('a link joins two different nodes');
    const fault: LinkFault = {
      cut: command.cut ?? HEALTHY_LINK.cut,
      dropProbability: command.dropProbability ?? HEALTHY_LINK.dropProbability,
      latencyMs: command.latencyMs ?? HEALTHY_LINK.latencyMs,
      jitterMs: command.jitterMs ?? HEALTHY_LINK.jitterMs,
      duplicateProbability: command.duplicateProbability ?? HEALTHY_LINK.duplicateProbability,
    };
    const healthy = isHealthy(fault);
    const links = linksNamed(command.from ?? null, command.to ?? null, this.members);
    if (!healthy && this.control.networkRefusal !== undefined) {
      const trial = new LinkRules();
      trial.load(this.rules.toTable());
      for (const [from, to] of links) trial.setLinkFault(from, to, fault);
      const refusal = this.control.networkRefusal(trial.toTable(), this.splitGroups());
      if (refusal !== null) return refuse(refusal);
    }
    for (const [from, to] of links) this.rules.setLinkFault(from, to, healthy ? null : fault);
    this.record({ type: 'link', from: command.from ?? null, to: command.to ?? null, fault: healthy ? null : fault });
    return { ok: true };
  }

  /** Heals the fault with this id, or every fault; `nodes`: every node's view now. */
  heal(faultId: string | undefined, nodes: readonly NodeView[]): CommandAck {
    const faults = this.active(nodes);
    if (faultId === undefined) {
      if (faults.length === 0) return { ok: true };
      for (const fault of faults) if (fault.kind === 'down' || fault.kind === 'paused') this.healNodeFault(fault);
      this.rules.load({ blocked: [], links: [] });
      this.record({ type: 'heal', faultId: null, label: 'every fault' });
      return { ok: true };
    }
    const fault = faults.find((f) => f.id === faultId);
    if (fault === undefined) return refuse(`no active fault "${faultId.slice(0, 80)}"`);
    if (fault.kind === 'partition') this.rules.setBlocked([]);
    else if (fault.kind === 'link') {
      const { from, to } = this.book.link(faultId)!;
      this.rules.setLinkFault(from, to, null);
    } else this.healNodeFault(fault);
    this.record({ type: 'heal', faultId, label: fault.label });
    return { ok: true };
  }

  /** Forgets the partition and link faults without touching any node, saying why; whether there were any. */
  dropNetworkFaults(label: string): boolean {
    if (this.book.networkFaults().length === 0) return false;
    this.rules.load({ blocked: [], links: [] });
    this.record({ type: 'heal', faultId: null, label });
    return true;
  }

  private healNodeFault(fault: ActiveFault): void {
    this.healNode(fault.kind === 'down' ? 'restart' : 'resume', fault.nodes[0]!);
  }
}
