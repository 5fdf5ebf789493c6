/**
 * Keyboard shortcuts for what a presenter repeats: kill the leader, heal all, freeze the
 * cluster, and a help overlay listing them. Ignored while typing in a field. In the desktop
 * app the same actions come from the application menu, by name, and are performed alike.
 */
import { onBeforeUnmount, onMounted, ref } from 'vue';
import { isMenuAction, type MenuAction } from '../../../shared/protocol/shell.js';
import { useClusterStore } from '../stores/cluster.js';
import { useClockControl } from './useClockControl.js';
import { useCommand } from './useCommand.js';

const FEEDBACK_MS = 4_000;

export const SHORTCUTS = [
  { key: 'K', does: 'Kill the leader' },
  { key: 'H', does: 'Heal every fault' },
  { key: 'F', does: 'Freeze or unfreeze the cluster' },
  { key: '?', does: 'Show or hide this help' },
  { key: 'Esc', does: 'Close help, menus and node details' },
  { key: 'Tab, arrows, Enter', does: 'Reach the topology\'s nodes, move between them, open a node\'s actions' },
] as const;

const KEY_ACTIONS: Readonly<Record<string, MenuAction>> = {
  k: 'kill-leader',
  K: 'kill-leader',
  h: 'heal-all',
  H: 'heal-all',
  f: 'toggle-freeze',
  F: 'toggle-freeze',
  '?': 'toggle-help',
};

export function useShortcuts(onEscape: () => void) {
  const store = useClusterStore();
  const clock = useClockControl();
  const command = useCommand();
  const helpOpen = ref(false);
  /** What the last shortcut did or why it could not, for a live region. */
  const feedback = ref('');

  let clearTimer: ReturnType<typeof setTimeout> | null = null;
  /** Says what happened, then fades after a few seconds. */
  function tell(text: string): void {
    feedback.value = text;
    if (clearTimer !== null) clearTimeout(clearTimer);
    clearTimer = setTimeout(() => (feedback.value = ''), FEEDBACK_MS);
  }

  /** Says what was done, or that it could not be and why ("Could not kill n2: not connected to the hub"). */
  async function act(done: string, failed: string, run: () => Promise<boolean>, error: () => string | null): Promise<void> {
    tell((await run()) ? done : `${failed}: ${error() ?? 'unknown error'}`);
  }

  /** Performs an action; false when there is no live cluster to act on (replaying, or not connected yet). */
  function perform(action: MenuAction): boolean {
    if (action === 'toggle-help') {
      helpOpen.value = !helpOpen.value;
      return true;
    }
    if (store.replaying || store.snapshot === null) return false;
    const control = action === 'kill-leader' ? 'kill' : action === 'toggle-freeze' ? 'clock' : undefined;
    const blocked = store.blockedReason(control);
    if (blocked !== null) {
      tell(blocked);
      return true;
    }
    if (action === 'kill-leader') {
      const leader = store.leader;
      if (leader === null) tell('No leader to kill');
      else void act(`Killed ${leader.id}`, `Could not kill ${leader.id}`, () => command.run({ type: 'kill', nodeId: leader.id }), () => command.error.value);
    } else if (action === 'heal-all') {
      void act('Healed every fault', 'Could not heal', () => command.run({ type: 'heal' }), () => command.error.value);
    } else {
      const frozen = clock.frozen.value;
      void act(frozen ? 'Unfroze the cluster' : 'Froze the cluster', frozen ? 'Could not unfreeze the cluster' : 'Could not freeze the cluster', clock.toggleFreeze, () => clock.command.error.value);
    }
    return true;
  }

  function onKey(event: KeyboardEvent): void {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target as HTMLElement | null;
    if (target !== null && (target.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName))) return;
    // Inside a modal (help, a dialog) or a menu, keys belong to it.
    if (event.key !== 'Escape' && event.key !== '?' && target?.closest?.('[aria-modal="true"], dialog[open], [role="menu"]')) return;
    if (event.key === 'Escape') {
      helpOpen.value = false;
      onEscape();
    } else {
      const action = KEY_ACTIONS[event.key];
      if (action === undefined || !perform(action)) return;
    }
    event.preventDefault();
  }

  /** A menu click is a deliberate request: when it cannot apply, say why rather than nothing. */
  function onMenuAction(action: unknown): void {
    if (!isMenuAction(action) || perform(action)) return;
    tell(store.replaying ? 'Replaying a recorded run: go back to live first' : 'Not connected to a cluster yet');
  }

  let stopMenuActions: (() => void) | null = null;
  onMounted(() => {
    window.addEventListener('keydown', onKey);
    stopMenuActions = window.conclaveShell?.onMenuAction(onMenuAction) ?? null;
  });
  onBeforeUnmount(() => {
    window.removeEventListener('keydown', onKey);
    stopMenuActions?.();
    if (clearTimer !== null) clearTimeout(clearTimer);
  });
  return { helpOpen, feedback };
}
