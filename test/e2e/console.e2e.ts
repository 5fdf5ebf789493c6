/**
 * The console on one screen: acting on nodes from the topology (mouse and keyboard only),
 * honest state (offline, a new run after a reconnect, two leaders), scenarios that clean up
 * after themselves, rewinding the live run, and a 101-node cluster.
 */
import { createServer } from 'node:net';
import type { Page } from '@playwright/test';
import { BUILT_CLI, startBuilt, stopProcess, type RunningServer } from '../support/processes.js';
import { expect, leaderOf, nodeAction, showTab, test } from './fixtures.js';

const row = (page: Page, id: string) => page.getByTestId(`node-${id}`);

test('kill the leader from the topology menu with the mouse, and watch the failover without scrolling', async ({ page, server }) => {
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(server.url);
  const old = await leaderOf(page);
  await nodeAction(page, old.id, `Kill ${old.id}`);
  await expect(page.getByRole('menu')).toBeHidden();
  await expect(page.getByTestId('headline').getByTestId('leader-id')).not.toHaveText(old.id);
  await expect(page.getByTestId('headline-failover')).toContainText(/last failover \d+ ms/);
  await expect(page.getByTestId('timeline-leader')).toHaveCount(2);
  // Headline, topology and timeline all on screen: the page does not scroll.
  for (const part of [page.getByTestId('headline'), page.getByTestId('topology'), page.getByTestId('timeline')]) await expect(part).toBeInViewport();
  expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThanOrEqual(900);
  // Focus went back to the node that was acted on.
  await expect(page.locator(`[data-node="${old.id}"]`)).toBeFocused();
  await expect(row(page, old.id).getByTestId('role')).toHaveText('down');
});

test('act on a node with the keyboard only: Tab to the topology, arrows to the node, Enter, then the menu', async ({ page, server }) => {
  await page.goto(server.url);
  const leader = await leaderOf(page);
  const victim = ['n1', 'n2', 'n3', 'n4', 'n5'].find((id) => id !== leader.id)!;
  let presses = 0;
  while (!(await page.evaluate(() => document.activeElement?.hasAttribute('data-node') ?? false))) {
    await page.keyboard.press('Tab');
    presses += 1;
    expect(presses).toBeLessThan(20);
  }
  // One tab stop for all the nodes; arrows move between them.
  const focusedId = async () => page.evaluate(() => document.activeElement?.getAttribute('data-node'));
  while ((await focusedId()) !== victim) await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  const menu = page.getByRole('menu', { name: `Actions for ${victim}` });
  await expect(menu).toBeVisible();
  await expect(page.getByRole('menuitem', { name: `Kill ${victim}` })).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('menuitem', { name: `Pause ${victim}` })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(row(page, victim).getByTestId('role')).toHaveText('paused');
  await expect(page.locator(`[data-node="${victim}"]`)).toBeFocused();
  // Escape closes a menu and gives focus back to its node.
  await page.keyboard.press('Enter');
  await expect(menu).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(menu).toBeHidden();
  await expect(page.locator(`[data-node="${victim}"]`)).toBeFocused();
  // Details take focus, and give it back.
  await page.keyboard.press('Enter');
  await page.getByRole('menuitem', { name: `Details of ${victim}` }).press('Enter');
  await expect(page.getByRole('heading', { name: `Node ${victim}` })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.locator(`[data-node="${victim}"]`)).toBeFocused();
  // The shortcuts overlay is modal: Tab stays in it, Escape gives focus back.
  await page.keyboard.press('?');
  for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Close' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help')).toBeHidden();
  await expect(page.locator(`[data-node="${victim}"]`)).toBeFocused();
  // Heal all disables itself once nothing is left: focus goes back to the nodes, not to the page.
  await page.getByRole('button', { name: 'Heal all' }).focus();
  await page.keyboard.press('Enter');
  await expect(row(page, victim).getByTestId('role')).toHaveText('follower');
  await expect(page.locator(`[data-node="${victim}"]`)).toBeFocused();
});

test.describe('Bully', () => {
  test.use({ serveArgs: ['--algorithm', 'bully'] });

  test('a Bully cluster split in two halves shows both coordinators in the headline', async ({ page, server }) => {
    await page.goto(server.url);
    await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText('n5');
    for (const id of ['n1', 'n2']) await page.getByLabel(`Group of ${id}`).selectOption('B');
    await page.getByRole('button', { name: 'Apply partition' }).click();
    const split = page.getByTestId('leaders-split');
    await expect(split).toContainText('Two leaders');
    // The side with n1 and n2 elected n2 in a newer election; n5 still coordinates the other side.
    await expect(split.getByTestId('leader-id')).toHaveText('n2');
    await expect(split.getByTestId('other-leader')).toHaveText('n5');
    await expect(page.getByTestId('headline')).toContainText('each side of a partition elects its own coordinator');
    // Undo puts the editor back to one group.
    await page.getByRole('button', { name: /^Undo / }).click();
    await expect(page.getByTestId('leaders-split')).toBeHidden();
    await expect(page.getByLabel('Group of n1')).toHaveValue('A');
  });
});

test('stopping a scenario undoes the faults it set, and its report says which', async ({ page, server }) => {
  await page.goto(server.url);
  await leaderOf(page);
  await showTab(page, 'Scenario');
  await page.getByRole('button', { name: 'New', exact: true }).click();
  await page.getByLabel('Scenario name').fill('Kill n2 and wait');
  await page.getByLabel('Duration in ms').fill('60000');
  await page.getByLabel('Step 1: at ms').fill('200');
  await page.getByLabel('Step 1: node').selectOption('n2');
  await page.getByLabel('Step 1: undo after ms').fill('');
  await page.getByRole('button', { name: 'Run scenario' }).click();
  await showTab(page, 'Faults');
  await expect(page.getByTestId('active-faults')).toContainText('n2 down');
  await showTab(page, 'Scenario');
  await page.getByRole('button', { name: 'Stop scenario' }).click();
  await expect(page.getByTestId('scenario-report')).toContainText('Kill n2 and wait: stopped');
  await expect(page.getByTestId('scenario-undone')).toContainText('n2 down');
  await showTab(page, 'Faults');
  await expect(page.getByText('No faults in force')).toBeVisible();
  await showTab(page, 'Nodes');
  await expect(row(page, 'n2').getByTestId('role')).not.toHaveText('down');
});

test('rewind the live run from the timeline, then back to live', async ({ page, server }) => {
  await page.goto(server.url);
  const old = await leaderOf(page);
  await page.waitForTimeout(500);
  await nodeAction(page, old.id, `Kill ${old.id}`);
  await expect(page.getByTestId('headline').getByTestId('leader-id')).not.toHaveText(old.id);
  const next = await leaderOf(page);
  // Drag on the timeline to just after the first election: the old leader leads again there.
  const leaderBar = page.getByTestId('timeline-leader').first();
  const box = (await leaderBar.boundingBox())!;
  const plot = (await page.getByTestId('timeline').boundingBox())!;
  const y = box.y + box.height / 2;
  expect(y).toBeLessThan(plot.y + plot.height);
  await page.mouse.move(box.x + box.width - 4, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, y, { steps: 4 });
  await page.mouse.up();
  await expect(page.getByTestId('rewind-bar')).toBeVisible();
  await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(old.id);
  await expect(row(page, old.id).getByTestId('role')).toHaveText('leader');
  await expect(page.getByTestId('timeline-cursor')).toBeAttached();
  // Commands act on the present only: they wait until back to live.
  await expect(page.getByRole('button', { name: 'Heal all' })).toBeDisabled();
  await page.getByRole('button', { name: 'Back to live' }).first().click();
  await expect(page.getByTestId('rewind-bar')).toBeHidden();
  await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(next.id);
  await expect(row(page, old.id).getByTestId('role')).toHaveText('down');
});

test.describe('101 nodes', () => {
  test.use({ serveArgs: ['--nodes', '101'] });

  test('a 101-node cluster elects a leader and shows it on the topology, in the headline and the table', async ({ page, server }) => {
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(server.url);
    await expect(page.locator('[data-node]')).toHaveCount(101);
    // A leader that a majority follows, shown alike in the headline, on the topology and in the table.
    await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(/^n\d+$/, { timeout: 20_000 });
    await page.waitForTimeout(1_000);
    const leader = await leaderOf(page);
    await expect(page.locator(`[data-node="${leader.id}"]`)).toHaveAttribute('data-state', 'leader');
    // The table renders the rows near its view: scroll to the leader's, then to the last.
    const scrollTable = (rowIndex: number) => page.getByTestId('node-table').evaluate((table, top) => (table.parentElement!.scrollTop = top), rowIndex * 30);
    await scrollTable(Number(leader.id.slice(1)) - 3);
    await expect(row(page, leader.id).getByTestId('role')).toHaveText('leader');
    await scrollTable(101);
    await expect(row(page, 'n101')).toBeAttached();
    expect(await page.locator('[data-testid="node-table"] tbody tr[data-testid]').count()).toBeLessThan(60);
    await expect(page.locator('.topology-caption')).toContainText(`${leader.id} leads`);
    await expect(page.getByText('101/101 up')).toBeVisible();
  });
});

/** A free port on 127.0.0.1, so that a hub can be started again on the same address. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

test('offline greys out and disables every command with the reason; a hub back with a new run says so', async ({ page }) => {
  const port = await freePort();
  let hub: RunningServer | null = await startBuilt(BUILT_CLI, ['serve', '--port', String(port), '--seed', '7']);
  try {
    await page.goto(hub.url);
    const leader = await leaderOf(page);
    await stopProcess(hub.process);
    hub = null;
    await expect(page.getByTestId('connection')).toHaveText('offline');
    await expect(page.getByTestId('stale')).toContainText('last known at');
    await expect(page.getByTestId('headline')).toContainText('(last known)');
    const leadingFor = await page.getByTestId('leading-for').textContent();
    await page.waitForTimeout(700);
    await expect(page.getByTestId('leading-for')).toHaveText(leadingFor!);
    for (const name of ['Heal all', 'Settings', 'Cluster…', 'Freeze']) {
      const control = page.getByRole('button', { name, exact: true });
      await expect(control).toBeDisabled();
      await expect(control).toHaveAttribute('title', /^Offline: the hub cannot be reached/);
    }
    await page.locator(`[data-node="${leader.id}"]`).click();
    await expect(page.getByRole('menuitem', { name: `Kill ${leader.id}` })).toBeDisabled();
    await expect(page.getByRole('menu')).toContainText('Offline');
    await page.keyboard.press('Escape');
    await showTab(page, 'Metrics');
    await expect(page.getByTestId('metrics-stale')).toContainText('Last known at');

    hub = await startBuilt(BUILT_CLI, ['serve', '--port', String(port), '--seed', '8']);
    await expect(page.getByTestId('connection')).toHaveText('live', { timeout: 20_000 });
    const notice = page.getByTestId('run-change');
    await expect(notice).toContainText('The hub now serves a different run');
    await notice.getByRole('button', { name: 'Keep the previous run as a recording' }).click();
    await expect(page.getByTestId('replay-bar')).toContainText('the previous run');
    await expect(page.getByTestId('connection')).toHaveText('replay');
    await page.getByRole('button', { name: 'Back to live' }).click();
    await expect(page.getByTestId('connection')).toHaveText('live');
  } finally {
    if (hub !== null) await stopProcess(hub.process);
  }
});
