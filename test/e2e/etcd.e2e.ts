/** The dashboard on an etcd playground (real etcd members, started by `serve --etcd-playground 3`): killing the leader shows the next one. */
import { ETCD_SKIP_REASON } from '../support/etcd.js';
import { expect, leaderOf, nodeAction, test } from './fixtures.js';

test.describe('an etcd playground', () => {
  test.skip(ETCD_SKIP_REASON !== null, ETCD_SKIP_REASON ?? '');
  test.use({ serveArgs: ['--etcd-playground', '3'] });

  test('killing the etcd leader from the dashboard shows a new leader', async ({ page, server }) => {
    await page.goto(server.url);
    const leaderId = page.getByTestId('headline').getByTestId('leader-id');
    const { id: oldLeader } = await leaderOf(page);

    await nodeAction(page, oldLeader, `Kill ${oldLeader}`);

    // etcd's default timing: an election timeout of 1 to 2 s, then the new leader's first commit.
    await expect(leaderId).not.toHaveText(oldLeader, { timeout: 15_000 });
    await expect(leaderId).toHaveText(/^n[1-3]$/, { timeout: 15_000 });
  });
});
