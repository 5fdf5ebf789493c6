/**
 * A fresh `conclave serve` (the built CLI, as users run it) per test, on 127.0.0.1 and an
 * ephemeral port; stopped after the test whatever happened.
 */
import { test as base, expect } from '@playwright/test';
import { BUILT_CLI, startBuilt, stopProcess, type RunningServer } from '../support/processes.js';

export const test = base.extend<{ serveArgs: string[]; server: RunningServer }>({
  serveArgs: [[], { option: true }],
  server: async ({ serveArgs }, use) => {
    const server = await startBuilt(BUILT_CLI, ['serve', '--port', '0', '--seed', '7', ...serveArgs]);
    try {
      await use(server);
    } finally {
      await stopProcess(server.process);
    }
  },
});

export { expect };
