/** One control's command: sends it, tracks that it is in flight, keeps the error to show beside the control. */
import { ref } from 'vue';
import type { Command } from '../../../shared/protocol/types.js';
import { useHub } from './useHub.js';

export function useCommand() {
  const { sendCommand } = useHub();
  const pending = ref(false);
  const error = ref<string | null>(null);

  async function run(command: Command): Promise<boolean> {
    pending.value = true;
    error.value = null;
    const result = await sendCommand(command);
    pending.value = false;
    if (!result.ok) error.value = result.error;
    return result.ok;
  }

  return { pending, error, run };
}
