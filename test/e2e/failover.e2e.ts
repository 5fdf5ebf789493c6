/** The core promise of the dashboard: a leader shows, killing it shows the next one. */
import { expect, nodeAction, openNodeMenu, showTab, test } from './fixtures.js';

test('a leader appears; killing it yields a new leader in a higher term and an entry in the leader changes', async ({ page, server }) => {
  await page.goto(server.url);
  // The headline's leader (the node table names leaders too, as the leader each node follows).
  const leaderId = page.getByTestId('headline').getByTestId('leader-id');
  await expect(leaderId).toHaveText(/^n\d$/);
  await expect(page.getByTestId('connection')).toHaveText('live');
  const oldLeader = (await leaderId.textContent())!;
  const oldTerm = Number(await page.getByTestId('leader-term').textContent());
  await showTab(page, 'Leader changes');
  await expect(page.getByTestId('leader-changes').getByRole('listitem')).toHaveCount(1);

  await nodeAction(page, oldLeader, `Kill ${oldLeader}`);

  await expect(leaderId).not.toHaveText(oldLeader);
  await expect(leaderId).toHaveText(/^n\d$/);
  const newTerm = Number(await page.getByTestId('leader-term').textContent());
  expect(newTerm).toBeGreaterThan(oldTerm);
  const newLeader = (await leaderId.textContent())!;
  const changes = page.getByTestId('leader-changes').getByRole('listitem');
  await expect(changes.first()).toContainText(`term ${newTerm}`);
  await expect(changes.first()).toContainText(newLeader);
  expect(await changes.count()).toBeGreaterThanOrEqual(2);
  // The old leader's entry says how its leadership ended (on a loaded machine a slow heartbeat
  // may add another election after it, so it is found by its text rather than its place).
  await expect(changes.filter({ hasText: 'killed' })).toHaveCount(1);
  await expect(changes.filter({ hasText: 'killed' })).toContainText(`${oldLeader}`);
  const oldCard = page.getByTestId(`node-${oldLeader}`);
  await expect(oldCard.getByTestId('role')).toHaveText('down');
  await openNodeMenu(page, oldLeader);
  await expect(page.getByRole('menuitem', { name: `Kill ${oldLeader}`, exact: true })).toBeDisabled();
  await expect(page.getByRole('menu')).toContainText(`${oldLeader} is already down`);
});

test('restart brings a killed node back as a follower of the current leader', async ({ page, server }) => {
  await page.goto(server.url);
  await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(/^n\d$/);
  const leader = (await page.getByTestId('headline').getByTestId('leader-id').textContent())!;
  const victim = ['n1', 'n2', 'n3', 'n4', 'n5'].find((id) => id !== leader)!;
  await nodeAction(page, victim, `Kill ${victim}`);
  const card = page.getByTestId(`node-${victim}`);
  await expect(card.getByTestId('role')).toHaveText('down');
  await nodeAction(page, victim, `Restart ${victim}`);
  await expect(card.getByTestId('role')).toHaveText('follower');
  await expect(card.getByTestId('leader-id')).toHaveText(leader);
});

test.describe('a hub with a token', () => {
  test.use({ serveArgs: ['--token', 'e2e-token-123'] });

  test('the dashboard asks for the token, then shows the cluster', async ({ page, server }) => {
    const bare = new URL(server.url);
    expect(bare.searchParams.get('token')).toBe('e2e-token-123');
    bare.search = '';
    await page.goto(bare.toString());
    await expect(page.getByTestId('connection')).toHaveText('token needed');
    await page.getByLabel(/requires a token/).fill('e2e-token-123');
    await page.getByRole('button', { name: 'Connect' }).click();
    await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(/^n\d$/);
  });

  test('the printed URL carries the token and connects at once', async ({ page, server }) => {
    await page.goto(server.url);
    await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(/^n\d$/);
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
  });
});
