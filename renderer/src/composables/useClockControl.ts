/** Freezing and slowing the cluster clock, shared by the header control and the keyboard shortcut. */
import { storeToRefs } from 'pinia';
import { computed, ref, watch } from 'vue';
import { useClusterStore } from '../stores/cluster.js';
import { useCommand } from './useCommand.js';

/** The speed while running, kept across a freeze so that unfreezing returns to it. */
const runningSpeed = ref(1);

export function useClockControl() {
  const { clockSpeed } = storeToRefs(useClusterStore());
  const command = useCommand();
  watch(
    clockSpeed,
    (speed) => {
      if (speed > 0) runningSpeed.value = speed;
    },
    { immediate: true },
  );
  const frozen = computed(() => clockSpeed.value === 0);

  function setSpeed(speed: number): Promise<boolean> {
    runningSpeed.value = speed;
    return frozen.value ? Promise.resolve(true) : command.run({ type: 'clock', speed });
  }

  function toggleFreeze(): Promise<boolean> {
    return command.run({ type: 'clock', speed: frozen.value ? runningSpeed.value : 0 });
  }

  return { clockSpeed, runningSpeed, frozen, command, setSpeed, toggleFreeze };
}
