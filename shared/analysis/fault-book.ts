/**
 * The fault book: which faults are in force, by id, and since when, kept from a run's events.
 * The live model (electron/targets/model) and the run's analysis keep one each from the same
 * events, so the faults the dashboard lists and heals are the windows the timeline draws.
 *
 * Ids: `down:n1`, `paused:n1`, `partition`, `link:n1->n2` (one directed link) and `link:*` (the
 * all-links fault). A link event naming one end only is a fault on each link from (or to) that
 * node, as the network enforces it: each is listed, and healed, on its own.
 */
import { describeLinkFault, linkKey, type LinkFault } from '../protocol/faults.js';
import type { ActiveFault, ClusterEvent } from '../protocol/types.js';

export const PARTITION_FAULT_ID = 'partition';
export const ALL_LINKS_FAULT_ID = 'link:*';

export type NodeFaultKind = 'down' | 'paused';

/** A partition as its event described it. */
export interface PartitionInForce {
  label: string;
  groups: string[][] | null;
  blocked: string[];
}

/** A link fault in force: one directed link, or every link (from and to null). */
export interface LinkInForce {
  from: string | null;
  to: string | null;
  fault: LinkFault;
}

export function linkFaultId(from: string | null, to: string | null): string {
  return from === null || to === null ? ALL_LINKS_FAULT_ID : `link:${linkKey(from, to)}`;
}

/**
 * The links a link command or event names: both ends, one directed link; one end, every link
 * from (or to) it; neither, the all-links fault ([null, null]).
 */
export function linksNamed(from: string | null, to: string | null, members: readonly string[]): Array<[string, string] | [null, null]> {
  if (from === null && to === null) return [[null, null]];
  const links: Array<[string, string]> = [];
  for (const source of from === null ? members : [from]) {
    for (const target of to === null ? members : [to]) if (source !== target) links.push([source, target]);
  }
  return links;
}

/** A node's fault as listed: `down:n1`, "n1 down". */
export function nodeFault(kind: NodeFaultKind, nodeId: string, sinceT: number, sinceAt: number): ActiveFault {
  return { id: `${kind}:${nodeId}`, kind, label: `${nodeId} ${kind}`, nodes: [nodeId], sinceT, sinceAt };
}

/** Told when a fault starts and when it ends (the analysis draws each as a window). */
export interface FaultWindows {
  started(fault: ActiveFault): void;
  ended(id: string, t: number): void;
}

export class FaultBook {
  private readonly rank: Map<string, number>;
  private readonly nodeFaults = new Map<string, ActiveFault>();
  private partitionFault: { partition: PartitionInForce; fault: ActiveFault } | null = null;
  /** By fault id, in the order they were first set (as the network's rules list them). */
  private readonly linkFaults = new Map<string, { link: LinkInForce; fault: ActiveFault }>();

  constructor(
    private readonly members: readonly string[],
    private readonly windows: FaultWindows | null = null,
  ) {
    this.rank = new Map(members.map((id, index) => [id, index]));
  }

  /** Takes in a recorded event; events that start or end no fault change nothing. */
  observe(event: ClusterEvent): void {
    const { t, at } = event;
    switch (event.type) {
      case 'kill':
        this.endNodeFault('paused', event.nodeId, t);
        this.startNodeFault(nodeFault('down', event.nodeId, t, at));
        break;
      case 'restart':
        this.endNodeFault('down', event.nodeId, t);
        this.endNodeFault('paused', event.nodeId, t);
        break;
      case 'pause':
        this.startNodeFault(nodeFault('paused', event.nodeId, t, at));
        break;
      case 'resume':
        this.endNodeFault('paused', event.nodeId, t);
        break;
      case 'partition': {
        this.endPartition(t);
        const nodes = this.byRank([...new Set(event.blocked.flatMap((key) => key.split('->')))]);
        const fault: ActiveFault = { id: PARTITION_FAULT_ID, kind: 'partition', label: event.label, nodes, sinceT: t, sinceAt: at };
        this.partitionFault = { partition: { label: event.label, groups: event.groups, blocked: event.blocked }, fault };
        this.windows?.started(fault);
        break;
      }
      case 'link':
        for (const [from, to] of linksNamed(event.from, event.to, this.members)) {
          const id = linkFaultId(from, to);
          if (event.fault === null) {
            this.endLink(id, t);
            continue;
          }
          // A link set anew is a new fault, yet keeps its place in the list (as in the network's rules).
          if (this.linkFaults.has(id)) this.windows?.ended(id, t);
          const ends = from === null || to === null ? null : [from, to];
          const label = `${ends === null ? 'all links' : ends.join(' → ')}: ${describeLinkFault(event.fault)}`;
          const fault: ActiveFault = { id, kind: 'link', label, nodes: ends ?? [], sinceT: t, sinceAt: at };
          this.linkFaults.set(id, { link: { from, to, fault: event.fault }, fault });
          this.windows?.started(fault);
        }
        break;
      case 'heal':
        // Healing everything ends the network's faults; the nodes' end with their own restart
        // and resume events, and a runtime that drops its network faults leaves nodes as they are.
        if (event.faultId === null) {
          this.endPartition(t);
          for (const id of [...this.linkFaults.keys()]) this.endLink(id, t);
        } else if (event.faultId === PARTITION_FAULT_ID) this.endPartition(t);
        else if (this.linkFaults.has(event.faultId)) this.endLink(event.faultId, t);
        else if (this.nodeFaults.delete(event.faultId)) this.windows?.ended(event.faultId, t);
        break;
      default:
        break;
    }
  }

  /** Every fault in force: the nodes' in member order, the partition, then the link faults. */
  active(): ActiveFault[] {
    const nodeFaults = [...this.nodeFaults.values()].sort((a, b) => this.rankOf(a.nodes[0]!) - this.rankOf(b.nodes[0]!));
    return [...nodeFaults, ...this.networkFaults()];
  }

  /** The partition and link faults in force. */
  networkFaults(): ActiveFault[] {
    const faults = this.partitionFault === null ? [] : [this.partitionFault.fault];
    for (const { fault } of this.linkFaults.values()) faults.push(fault);
    return faults;
  }

  /** The fault in force with this id, if any. */
  get(id: string): ActiveFault | undefined {
    if (id === PARTITION_FAULT_ID) return this.partitionFault?.fault;
    return this.linkFaults.get(id)?.fault ?? this.nodeFaults.get(id);
  }

  get partition(): PartitionInForce | null {
    return this.partitionFault?.partition ?? null;
  }

  links(): LinkInForce[] {
    return [...this.linkFaults.values()].map(({ link }) => link);
  }

  /** The link (or all links) a link fault's id names, while it is in force. */
  link(id: string): LinkInForce | undefined {
    return this.linkFaults.get(id)?.link;
  }

  private startNodeFault(fault: ActiveFault): void {
    if (this.nodeFaults.has(fault.id)) this.windows?.ended(fault.id, fault.sinceT);
    this.nodeFaults.set(fault.id, fault);
    this.windows?.started(fault);
  }

  private endNodeFault(kind: NodeFaultKind, nodeId: string, t: number): void {
    const id = `${kind}:${nodeId}`;
    if (this.nodeFaults.delete(id)) this.windows?.ended(id, t);
  }

  private endPartition(t: number): void {
    if (this.partitionFault === null) return;
    this.partitionFault = null;
    this.windows?.ended(PARTITION_FAULT_ID, t);
  }

  private endLink(id: string, t: number): void {
    if (this.linkFaults.delete(id)) this.windows?.ended(id, t);
  }

  private rankOf(id: string): number {
    return this.rank.get(id) ?? this.members.length;
  }

  private byRank(ids: string[]): string[] {
    return ids.sort((a, b) => this.rankOf(a) - this.rankOf(b));
  }
}
