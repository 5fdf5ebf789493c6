/**
 * Who should lead, where the runtime knows it (not etcd): each node's priority and capabilities
 * and the rules that move leadership on their own (shared/core/leadership.ts). Shown in snapshots,
 * changed by commands (every node learns the new table at once), and recorded: the start's where
 * they differ from the defaults, so that a replay knows them, and every change.
 */
import type { ElectionConfig } from '../../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, priorityIn, takeoverDelayMs, type Capabilities, type LeadershipConfig } from '../../../shared/core/leadership.js';
import type { ClusterCommand, ClusterEventBody, CommandAck, LeadershipView, NodeView } from '../../../shared/protocol/types.js';
import type { NodeControl } from '../target.js';
import { refuse, unknownNode } from './refusals.js';

export type LeadershipCommand = Extract<ClusterCommand, { type: 'priority' | 'capabilities' | 'leadership' }>;

export class LeadershipTable {
  /** Priorities and leadership rules, where known (null: etcd). */
  private leadershipConfig: LeadershipConfig | null;
  private readonly capabilityTable = new Map<string, Capabilities>();
  private readonly memberSet: ReadonlySet<string>;

  constructor(
    private readonly config: ElectionConfig,
    private readonly members: readonly string[],
    private readonly control: NodeControl,
    private readonly record: (body: Extract<ClusterEventBody, { type: 'priority' | 'capabilities' | 'leadership' }>) => void,
    leadership: LeadershipConfig | null,
    capabilities: Readonly<Record<string, Capabilities>>,
  ) {
    this.leadershipConfig = leadership;
    this.memberSet = new Set(members);
    for (const [id, advertised] of Object.entries(capabilities)) if (this.memberSet.has(id)) this.capabilityTable.set(id, advertised);
  }

  /** Records the priorities, capabilities and rules the run starts with that differ from the defaults. */
  start(): void {
    const leadership = this.leadershipConfig;
    if (leadership === null) return;
    for (const id of this.members) {
      const priority = priorityIn(leadership, id);
      if (priority !== priorityIn(DEFAULT_LEADERSHIP, id)) this.record({ type: 'priority', nodeId: id, priority, previous: priorityIn(DEFAULT_LEADERSHIP, id) });
      const capabilities = this.capabilityTable.get(id);
      if (capabilities !== undefined && Object.keys(capabilities).length > 0) this.record({ type: 'capabilities', nodeId: id, capabilities });
    }
    if (leadership.takeoverAfterMs !== null || leadership.preferredLeader !== null) this.record({ type: 'leadership', ...this.view(leadership) });
  }

  /** Priorities and leadership rules in force, where known. */
  get current(): LeadershipConfig | null {
    return this.leadershipConfig;
  }

  /** The facts a node advertises (none known: empty). */
  capabilities(id: string): Capabilities {
    return this.capabilityTable.get(id) ?? {};
  }

  /** What a remote node says it measures about itself: kept, not recorded (it changes every few seconds); whether it changed. */
  observeCapabilities(id: string, capabilities: Capabilities): boolean {
    if (!this.memberSet.has(id) || JSON.stringify(this.capabilityTable.get(id) ?? {}) === JSON.stringify(capabilities)) return false;
    this.capabilityTable.set(id, capabilities);
    return true;
  }

  /** A node's view with its priority and capabilities, where they are known. */
  decorate(view: NodeView): NodeView {
    if (this.leadershipConfig === null) return view;
    return { ...view, priority: priorityIn(this.leadershipConfig, view.id), capabilities: this.capabilities(view.id) };
  }

  /** The rules in force as snapshots show them, where known. */
  snapshotView(): LeadershipView | null {
    return this.leadershipConfig === null ? null : this.view(this.leadershipConfig);
  }

  apply(command: LeadershipCommand): CommandAck {
    const current = this.leadershipConfig;
    const setLeadership = this.control.setLeadership;
    if (current === null || setLeadership === undefined) return refuse(this.control.leadershipRefusal ?? 'this cluster has no priorities to change');
    if (command.type !== 'leadership' && !this.memberSet.has(command.nodeId)) return refuse(unknownNode(command.nodeId, this.members));
    switch (command.type) {
      case 'priority': {
        const previous = priorityIn(current, command.nodeId);
        if (previous === command.priority) return { ok: true };
        this.leadershipConfig = { ...current, priorities: { ...current.priorities, [command.nodeId]: command.priority } };
        setLeadership(this.leadershipConfig);
        this.record({ type: 'priority', nodeId: command.nodeId, priority: command.priority, previous });
        return { ok: true };
      }
      case 'capabilities':
        if (this.control.setCapabilities === undefined) return refuse(this.control.leadershipRefusal ?? "this cluster's nodes measure their own capabilities");
        this.capabilityTable.set(command.nodeId, command.capabilities);
        this.control.setCapabilities(command.nodeId, command.capabilities);
        this.record({ type: 'capabilities', nodeId: command.nodeId, capabilities: command.capabilities });
        return { ok: true };
      case 'leadership':
        this.leadershipConfig = {
          ...current,
          ...(command.takeoverAfterMs === undefined ? {} : { takeoverAfterMs: command.takeoverAfterMs }),
          ...(command.preferredLeader === undefined ? {} : { preferredLeader: command.preferredLeader }),
        };
        setLeadership(this.leadershipConfig);
        this.record({ type: 'leadership', ...this.view(this.leadershipConfig) });
        return { ok: true };
    }
  }

  private view(leadership: LeadershipConfig): LeadershipView {
    return { takeoverAfterMs: takeoverDelayMs(this.config, leadership), preferredLeader: leadership.preferredLeader };
  }
}
