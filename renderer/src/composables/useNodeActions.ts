/**
 * What can be done to one node, and why not: the same list for the topology's menu, the node
 * cards and the details panel, so every place that acts on a node offers the same actions with
 * the same reasons (offline, replaying, a real cluster that cannot do it, the node's state).
 */
import { storeToRefs } from 'pinia';
import { computed, type Ref } from 'vue';
import type { Command, NodeView, TargetControl } from '../../../shared/protocol/types.js';
import { useClusterStore } from '../stores/cluster.js';
import { useCommand } from './useCommand.js';

export type NodeActionId = 'kill' | 'restart' | 'pause' | 'resume' | 'transfer';

export interface NodeAction {
  id: NodeActionId;
  /** The button's text: "Kill". */
  text: string;
  /** Its accessible name: "Kill n1". */
  name: string;
  /** What it does, or why it cannot now. */
  title: string;
  disabled: string | null;
  danger: boolean;
  command: Command;
}

export function useNodeActions(node: Ref<NodeView | null>) {
  const store = useClusterStore();
  const { algorithm, leader } = storeToRefs(store);
  const command = useCommand();

  const actions = computed<NodeAction[]>(() => {
    const view = node.value;
    if (view === null) return [];
    const id = view.id;
    const termLabel = algorithm.value?.termLabel ?? 'term';
    const blocked = (control: TargetControl): string | null => store.blockedReason(control);
    const make = (actionId: NodeActionId, text: string, name: string, title: string, disabled: string | null, danger = false): NodeAction => ({
      id: actionId,
      text,
      name,
      title: disabled ?? title,
      disabled,
      danger,
      command: { type: actionId, nodeId: id },
    });
    const list = [
      make('kill', 'Kill', `Kill ${id}`, `Crash ${id}: volatile state is lost, its ${termLabel} and vote are kept`, blocked('kill') ?? (view.status === 'down' ? `${id} is already down` : null), true),
      make(
        'restart',
        'Restart',
        `Restart ${id}`,
        view.status === 'down' ? `Boot ${id} from its persisted state` : `Reboot ${id}: crash it and boot it again`,
        blocked('restart'),
      ),
      view.status === 'paused'
        ? make('resume', 'Resume', `Resume ${id}`, `Thaw ${id}: it processes the messages that waited, then its overdue timers fire`, blocked('pause'))
        : make(
            'pause',
            'Pause',
            `Pause ${id}`,
            `Freeze ${id} like SIGSTOP: messages to it wait until it resumes`,
            blocked('pause') ?? (view.status === 'down' ? `${id} is down; only a running node can be paused` : null),
          ),
    ];
    const info = algorithm.value;
    let transferBlocked = blocked('transfer');
    if (transferBlocked === null && info !== null && info.transfer !== true) transferBlocked = info.transfer;
    if (transferBlocked === null && view.voting === false) transferBlocked = `${id} does not vote: it follows but never leads`;
    if (transferBlocked === null && view.status !== 'up') transferBlocked = `${id} is ${view.status}`;
    if (transferBlocked === null && leader.value === null) transferBlocked = 'there is no leader to hand leadership over from';
    if (transferBlocked === null && leader.value?.id === id) transferBlocked = `${id} already leads`;
    list.push(make('transfer', 'Lead', `Lead: transfer leadership to ${id}`, `Ask ${leader.value?.id ?? 'the leader'} to hand leadership to ${id}`, transferBlocked));
    return list;
  });

  /** Sends the action; true when the hub accepted it. */
  function perform(action: NodeAction): Promise<boolean> {
    return command.run(action.command);
  }

  return { actions, perform, pending: command.pending, error: command.error };
}
