/**
 * Keyboard shortcuts for what a presenter repeats: kill the leader, heal all, freeze the
 * cluster, and a help overlay listing them. Ignored while typing in a field.
 */
import { onBeforeUnmount, onMounted, ref } from 'vue';
import { useClusterStore } from '../stores/cluster.js';
import { useClockControl } from './useClockControl.js';
import { useCommand } from './useCommand.js';

const FEEDBACK_MS = 4_000;

export const SHORTCUTS = [
  { key: 'K', does: 'Kill the leader' },
  { key: 'H', does: 'Heal every fault' },
  { key: 'F', does: 'Freeze or unfreeze the cluster' },
  { key: '?', does: 'Show or hide this help' },
  { key: 'Esc', does: 'Close help and node details' },
] as const;

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

  async function act(label: string, run: () => Promise<boolean>, error: () => string | null): Promise<void> {
    tell((await run()) ? label : `${label} failed: ${error() ?? 'unknown error'}`);
  }

  function onKey(event: KeyboardEvent): void {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target as HTMLElement | null;
    if (target !== null && (target.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName))) return;
    if (event.key === '?') {
      helpOpen.value = !helpOpen.value;
    } else if (event.key === 'Escape') {
      helpOpen.value = false;
      onEscape();
    } else if (store.replaying || store.snapshot === null) {
      return;
    } else if (event.key === 'k' || event.key === 'K') {
      const leader = store.leader;
      if (leader === null) tell('No leader to kill');
      else void act(`Killed ${leader.id}`, () => command.run({ type: 'kill', nodeId: leader.id }), () => command.error.value);
    } else if (event.key === 'h' || event.key === 'H') {
      void act('Healed every fault', () => command.run({ type: 'heal' }), () => command.error.value);
    } else if (event.key === 'f' || event.key === 'F') {
      const frozen = clock.frozen.value;
      void act(frozen ? 'Unfroze the cluster' : 'Froze the cluster', clock.toggleFreeze, () => clock.command.error.value);
    } else {
      return;
    }
    event.preventDefault();
  }

  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => {
    window.removeEventListener('keydown', onKey);
    if (clearTimer !== null) clearTimeout(clearTimer);
  });
  return { helpOpen, feedback };
}
