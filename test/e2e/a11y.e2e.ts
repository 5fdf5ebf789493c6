/**
 * axe-core on the dashboard's main states, in the dark and the light theme: idle, a node down,
 * node details open, settings open, a replay. Any serious or critical violation fails, named
 * with the elements it concerns.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, leaderOf, nodeAction, showTab, test } from './fixtures.js';

async function expectNoSeriousViolations(page: Page, state: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  const described = serious.map((violation) => `${violation.id} (${violation.impact}): ${violation.help}\n    ${violation.nodes.slice(0, 5).map((node) => node.target.join(' ')).join('\n    ')}`);
  expect(described, `axe-core in state "${state}"`).toEqual([]);
}

for (const colorScheme of ['dark', 'light'] as const) {
  test.describe(`${colorScheme} theme`, () => {
    test.use({ colorScheme });

    test('idle, a node down, details open, settings open and a replay pass axe-core', async ({ page, server }) => {
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.goto(server.url);
      const leader = await leaderOf(page);
      await expectNoSeriousViolations(page, 'idle');

      const victim = ['n1', 'n2', 'n3', 'n4', 'n5'].find((id) => id !== leader.id)!;
      await nodeAction(page, victim, `Kill ${victim}`);
      await expect(page.getByTestId(`node-${victim}`).getByTestId('role')).toHaveText('down');
      await expectNoSeriousViolations(page, 'node down');

      await nodeAction(page, leader.id, `Details of ${leader.id}`);
      await expect(page.getByTestId('node-detail').getByTestId('detail-internals')).toBeVisible();
      await expectNoSeriousViolations(page, 'details open');
      await page.keyboard.press('Escape');

      await page.getByRole('button', { name: 'Settings' }).click();
      await expect(page.getByRole('dialog', { name: 'Cluster settings' })).toBeVisible();
      await expectNoSeriousViolations(page, 'settings open');
      await page.getByRole('button', { name: 'Cancel' }).click();

      await showTab(page, 'Record');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-run').click()]);
      await page.getByLabel('Replay a run from a file').setInputFiles((await download.path())!);
      await expect(page.getByTestId('replay-bar')).toBeVisible();
      await expectNoSeriousViolations(page, 'replay');
    });
  });
}
