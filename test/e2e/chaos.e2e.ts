/** Breaking the cluster on purpose from the dashboard, and watching it recover. */
import type { Page } from '@playwright/test';
import { expect, leaderOf, nodeAction, test } from './fixtures.js';

/** A node's row in the node table. */
const card = (page: Page, id: string) => page.getByTestId(`node-${id}`);
const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });

test('pause and resume a node', async ({ page, server }) => {
  await page.goto(server.url);
  const leader = await leaderOf(page);
  const victim = ['n1', 'n2', 'n3', 'n4', 'n5'].find((id) => id !== leader.id)!;
  await nodeAction(page, victim, `Pause ${victim}`);
  await expect(card(page, victim).getByTestId('role')).toHaveText('paused');
  await expect(page.getByTestId('active-faults')).toContainText(`${victim} paused`);
  await nodeAction(page, victim, `Resume ${victim}`);
  await expect(card(page, victim).getByTestId('role')).toHaveText('follower');
  await expect(card(page, victim).getByTestId('leader-id')).toHaveText(leader.id);
  await expect(page.getByText('No faults in force')).toBeVisible();
});

test('isolating the leader: the majority elects a new one; after heal the old leader follows it', async ({ page, server }) => {
  await page.goto(server.url);
  const old = await leaderOf(page);
  await button(page, 'Isolate the leader').click();
  await expect(page.getByTestId('active-faults')).toContainText(`Isolate the leader (${old.id})`);
  await expect(page.getByTestId('headline').getByTestId('leader-id')).not.toHaveText(old.id);
  const next = await leaderOf(page);
  expect(next.term).toBeGreaterThan(old.term);
  await expect(card(page, old.id).getByTestId('role')).not.toHaveText('leader');
  await button(page, 'Heal all').click();
  await expect(card(page, old.id).getByTestId('role')).toHaveText('follower');
  await expect(card(page, old.id).getByTestId('leader-id')).toHaveText(next.id);
  await expect(card(page, old.id).getByTestId('term')).toHaveText(String(next.term));
  await expect(button(page, 'Heal all')).toBeDisabled();
});

test('a one-way cut from the leader strands one follower without disturbing the leader', async ({ page, server }) => {
  await page.goto(server.url);
  const leader = await leaderOf(page);
  const victim = ['n1', 'n2', 'n3', 'n4', 'n5'].find((id) => id !== leader.id)!;
  const [a, b] = [leader.id, victim].sort();
  await page.locator(`[data-link="${a}-${b}"]`).click({ force: true });
  await button(page, `Cut ${leader.id} → ${victim}`).click();
  await expect(page.getByTestId('active-faults')).toContainText(`${leader.id} → ${victim}: cut`);
  await expect(page.locator(`[data-direction="${leader.id}->${victim}"]`)).toHaveAttribute('data-state', 'cut');
  await expect(page.locator(`[data-direction="${victim}->${leader.id}"]`)).toHaveAttribute('data-state', 'ok');
  // No heartbeats reach it: it asks for pre-votes, which the others (hearing their leader) refuse.
  await expect(card(page, victim).getByTestId('role')).toHaveText('pre-candidate');
  await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(leader.id);
  await expect(page.getByTestId('leader-term')).toHaveText(String(leader.term));
  await page.getByRole('button', { name: `Undo ${leader.id} → ${victim}: cut` }).click();
  await expect(card(page, victim).getByTestId('role')).toHaveText('follower');
});

test('slow motion and freeze', async ({ page, server }) => {
  await page.goto(server.url);
  await leaderOf(page);
  await button(page, 'Freeze').click();
  await expect(page.getByTestId('clock-speed')).toHaveText('frozen');
  const leader = await leaderOf(page);
  await nodeAction(page, leader.id, `Kill ${leader.id}`);
  await page.waitForTimeout(800);
  await expect(page.getByTestId('no-leader')).toBeVisible();
  await button(page, 'Unfreeze').click();
  await expect(page.getByTestId('clock-speed')).toHaveText('1×');
  await expect(page.getByTestId('headline').getByTestId('leader-id')).not.toHaveText(leader.id);
});
