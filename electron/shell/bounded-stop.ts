/**
 * Stopping with a deadline: quitting the app must not hang on a hub that does not close
 * (a stuck socket, a runtime that never settles), so the stop gets a bounded time.
 */

export const HUB_STOP_TIMEOUT_MS = 3_000;

export type StopOutcome = { stopped: true } | { stopped: false; reason: string };

export async function stopWithin(stop: () => Promise<void>, timeoutMs: number): Promise<StopOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<StopOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ stopped: false, reason: `did not stop within ${timeoutMs} ms` }), timeoutMs);
  });
  // Through a promise, so a stop that throws synchronously counts as failed rather than escaping.
  const stopping = Promise.resolve().then(stop).then(
    (): StopOutcome => ({ stopped: true }),
    (error: unknown): StopOutcome => ({ stopped: false, reason: `failed to stop: ${error instanceof Error ? error.message : String(error)}` }),
  );
  try {
    return await Promise.race([stopping, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
