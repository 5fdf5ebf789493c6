/**
 * Real agent processes on this machine (`serve --processes 3`), steered from the dashboard: a kill
 * is a SIGKILL of the leader's process, and a restart a new process that rejoins as a follower.
 */
import { expect, leaderOf, nodeAction, showTab, test } from './fixtures.js';

test.use({ serveArgs: ['--processes', '3'] });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("killing the leader's process: its pid disappears, a new leader appears; a restart brings a new process back as a follower", async ({ page, server }) => {
  await page.goto(server.url);
  await expect(page.getByTitle('3 agent processes on this machine')).toBeVisible();
  const old = await leaderOf(page);
  await showTab(page, 'Nodes');
  const row = page.getByTestId(`node-${old.id}`).first();
  await expect(row).toContainText(/pid \d+/);
  const pid = Number(/pid (\d+)/.exec((await row.textContent())!)![1]);
  expect(alive(pid)).toBe(true);

  await nodeAction(page, old.id, `Kill ${old.id}`);
  await expect.poll(() => alive(pid), { message: `process ${pid} of ${old.id} is gone` }).toBe(false);
  const next = await expect.poll(async () => (await leaderOf(page)).id).not.toBe(old.id).then(() => leaderOf(page));
  expect(next.term).toBeGreaterThan(old.term);
  await expect(row.getByTestId('status')).toHaveText('down');

  await nodeAction(page, old.id, `Restart ${old.id}`);
  await expect(row.getByTestId('role')).toHaveText('follower', { timeout: 15_000 });
  // Of whoever leads by then (on a loaded machine leadership may have moved again).
  await expect.poll(async () => (await row.getByTestId('leader-id').textContent()) === (await leaderOf(page)).id).toBe(true);
  const restartedPid = Number(/pid (\d+)/.exec((await row.textContent())!)?.[1]);
  expect(restartedPid).not.toBe(pid);
  expect(alive(restartedPid)).toBe(true);
});
