/**
 * A fresh `conclave serve` (the built CLI, as users run it) per test, on 127.0.0.1 and an
 * ephemeral port; stopped after the test whatever happened.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { BUILT_CLI, startBuilt, stopProcess, type RunningServer } from '../support/processes.js';

export const test = base.extend<{ serveArgs: string[]; serveEnv: NodeJS.ProcessEnv; server: RunningServer }>({
  serveArgs: [[], { option: true }],
  serveEnv: [{}, { option: true }],
  server: async ({ serveArgs, serveEnv }, use) => {
    const server = await startBuilt(BUILT_CLI, ['serve', '--port', '0', '--seed', '7', ...serveArgs], { ...process.env, ...serveEnv });
    try {
      await use(server);
    } finally {
      await stopProcess(server.process);
    }
  },
});

export { expect };

/** Opens a node's menu on the topology, as a click on the node does. */
export async function openNodeMenu(page: Page, nodeId: string): Promise<void> {
  await page.locator(`[data-node="${nodeId}"]`).click();
  await expect(page.getByRole('menu', { name: `Actions for ${nodeId}` })).toBeVisible();
}

/** Acts on a node from its topology menu: "Kill n2", "Restart n2", "Pause n2", "Details of n2"... */
export async function nodeAction(page: Page, nodeId: string, name: string): Promise<void> {
  await openNodeMenu(page, nodeId);
  await page.getByRole('menuitem', { name, exact: true }).click();
}

/** Shows one of the console's side tabs: "Metrics", "Leader changes", "Record", "Scenario"... */
export async function showTab(page: Page, name: string): Promise<void> {
  await page.getByRole('tab', { name: new RegExp(`^${name}`) }).click();
}

/** The leader the headline names. */
export async function leaderOf(page: Page): Promise<{ id: string; term: number }> {
  const headline = page.getByTestId('headline');
  const leader = headline.getByTestId('leader-id');
  await expect(leader).toHaveText(/^n\d+$/);
  const [id, term] = await headline.evaluate((element) => [
    element.querySelector('[data-testid="leader-id"]')?.textContent ?? '',
    element.querySelector('[data-testid="leader-term"]')?.textContent ?? '',
  ]);
  if (!/^n\d+$/.test(id!)) return leaderOf(page);
  return { id: id!, term: Number(term) };
}
