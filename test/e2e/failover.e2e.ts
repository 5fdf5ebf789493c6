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
  const TOKEN = 'e2e-Hub-Token-4Wq8-Zr2m-Kp7x-Nc3v';
  test.use({ serveEnv: { CONCLAVE_HUB_TOKEN: TOKEN } });

  test('the printed URL carries no token; the dashboard asks for it, then shows the cluster', async ({ page, server }) => {
    expect(server.url).not.toContain(TOKEN);
    expect(server.output()).toContain('(it asks for the hub token)');
    await page.goto(server.url);
    await expect(page.getByTestId('connection')).toHaveText('token needed');
    await page.getByLabel(/requires its token/).fill(TOKEN);
    await page.getByRole('button', { name: 'Connect' }).click();
    await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(/^n\d$/);
  });

  test('a URL with the token (as the desktop window gets it) connects at once, drops it from the address bar, and exports with it in a header', async ({ page, server }) => {
    const withToken = new URL(server.url);
    withToken.searchParams.set('token', TOKEN);
    const exports: Array<{ url: string; authorization: string | undefined }> = [];
    page.on('request', (request) => {
      if (request.url().includes('/export.jsonl')) exports.push({ url: request.url(), authorization: request.headers().authorization });
    });
    await page.goto(withToken.toString());
    await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(/^n\d$/);
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
    await page.getByRole('tab', { name: /^Record/ }).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-run').click()]);
    expect(download.suggestedFilename()).toMatch(/^conclave-raft-.*\.jsonl$/);
    expect(exports).toEqual([{ url: new URL('/export.jsonl', server.url).toString(), authorization: `Bearer ${TOKEN}` }]);
  });
});
