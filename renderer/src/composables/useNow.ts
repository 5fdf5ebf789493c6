/** A shared, slowly ticking clock for durations on screen ("leading for 12 s"). */
import { onScopeDispose, ref } from 'vue';

export function useNow(intervalMs = 200) {
  const now = ref(performance.now());
  const timer = setInterval(() => (now.value = performance.now()), intervalMs);
  onScopeDispose(() => clearInterval(timer));
  return now;
}
