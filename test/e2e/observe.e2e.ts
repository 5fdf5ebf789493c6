/** Seeing what happened: timeline and metrics after a kill, node details, replay, scenarios, shortcuts. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, leaderOf as headlineLeader, nodeAction, openNodeMenu, showTab, test } from './fixtures.js';

async function leaderOf(page: Page): Promise<string> {
  return (await headlineLeader(page)).id;
}

test('the timeline and the metrics follow a kill of the leader', async ({ page, server }) => {
  await page.goto(server.url);
  const old = await leaderOf(page);
  await showTab(page, 'Metrics');
  await expect(page.getByTestId('metric-leader-changes')).toHaveText('1');
  await expect(page.getByTestId('metric-failovers')).toHaveText('0');
  await expect(page.getByTestId('metric-has-leader')).toHaveText('yes');
  await expect(page.getByTestId('timeline-leader')).toHaveCount(1);
  await nodeAction(page, old, `Kill ${old}`);
  await expect(page.getByTestId('headline').getByTestId('leader-id')).not.toHaveText(old);
  await expect(page.getByTestId('metric-failovers')).toHaveText('1');
  await expect(page.getByTestId('metric-leader-changes')).toHaveText('2');
  await expect(page.getByTestId('metric-last-failover')).toHaveText(/^\d+ ms$/);
  await expect(page.getByTestId('timeline-leader')).toHaveCount(2);
  // The startup election and the failover, each shaded as a leaderless gap.
  await expect(page.getByTestId('timeline-gap')).toHaveCount(2);
  await expect(page.getByTestId('metric-availability')).toHaveText(/^\d+\.\d\d%$/);
});

test('a node shows everything it knows on click', async ({ page, server }) => {
  await page.goto(server.url);
  const leader = await leaderOf(page);
  await nodeAction(page, leader, `Details of ${leader}`);
  const detail = page.getByTestId('node-detail');
  await expect(detail).toContainText(`Node ${leader}`);
  await expect(detail.getByTestId('detail-internals')).toContainText('heartbeat due in');
  await expect(detail).toContainText('Last heard from');
  await expect(detail.getByTestId('detail-durable')).toContainText('votedFor');
  await page.keyboard.press('Escape');
  await expect(detail).toBeHidden();
});

test('export a run, then replay it with the slider and play', async ({ page, server }) => {
  await page.goto(server.url);
  const first = await leaderOf(page);
  await nodeAction(page, first, `Kill ${first}`);
  await expect(page.getByTestId('headline').getByTestId('leader-id')).not.toHaveText(first);
  const second = await leaderOf(page);
  await page.waitForTimeout(1_200);
  await showTab(page, 'Record');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-run').click()]);
  const file = await download.path();
  await page.getByLabel('Replay a run from a file').setInputFiles(file);

  await expect(page.getByTestId('replay-bar')).toContainText('Replaying');
  await openNodeMenu(page, second);
  await expect(page.getByRole('menuitem', { name: `Kill ${second}`, exact: true })).toBeDisabled();
  await page.keyboard.press('Escape');
  // A replay never shows "live".
  await expect(page.getByTestId('connection')).toHaveText('replay');
  const slider = page.getByRole('slider', { name: 'Replay position' });
  // At the start nobody leads yet; at the end the second leader does, as recorded.
  await slider.evaluate((element: HTMLInputElement) => {
    element.value = element.min;
    element.dispatchEvent(new Event('input'));
  });
  await expect(page.getByTestId('no-leader')).toBeVisible();
  await page.getByRole('button', { name: 'Play replay' }).click();
  await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(first);
  await slider.evaluate((element: HTMLInputElement) => {
    element.value = element.max;
    element.dispatchEvent(new Event('input'));
  });
  await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(second);
  await showTab(page, 'Nodes');
  await expect(page.getByTestId(`node-${first}`).getByTestId('role')).toHaveText('down');
  await expect(page.getByTestId('timeline-leader')).toHaveCount(2);
  await showTab(page, 'Metrics');
  await expect(page.getByTestId('metric-failovers')).toHaveText('1');

  await page.getByRole('button', { name: 'Back to live' }).click();
  await expect(page.getByTestId('replay-bar')).toBeHidden();
  await expect(page.getByTestId('connection')).toHaveText('live');
  await openNodeMenu(page, second);
  await expect(page.getByRole('menuitem', { name: `Kill ${second}`, exact: true })).toBeEnabled();
});

test('a bad run file is refused with a clear error and nothing changes', async ({ page, server }) => {
  await page.goto(server.url);
  await leaderOf(page);
  const dir = mkdtempSync(join(tmpdir(), 'conclave-e2e-'));
  try {
    const file = join(dir, 'broken.jsonl');
    writeFileSync(file, '{"format":"conclave-run","version":1,"algorithm":"raft","config":{},"members":["n1"],"exportedAt":0}\n{"event":{"type":"leader"}}\n');
    await showTab(page, 'Record');
    await page.getByLabel('Replay a run from a file').setInputFiles(file);
    await expect(page.getByRole('alert').filter({ hasText: 'Cannot replay broken.jsonl' })).toContainText('line 2: event.seq must be an integer');
    await expect(page.getByTestId('replay-bar')).toBeHidden();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a scenario runs from the dashboard with a progress bar and ends in a report', async ({ page, server }) => {
  await page.goto(server.url);
  await leaderOf(page);
  const dir = mkdtempSync(join(tmpdir(), 'conclave-e2e-'));
  try {
    const file = join(dir, 'short.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'Two quick crashes',
        durationMs: 3_000,
        steps: [{ every: 1_200, from: 300, until: 2_000, do: { type: 'kill', node: 'leader' }, undoAfter: 500 }],
        assertions: [{ type: 'no-safety-violation' }, { type: 'leader-within', after: 'fault', withinMs: 2_000 }],
      }),
    );
    await showTab(page, 'Scenario');
    await page.getByLabel('Load a scenario file').setInputFiles(file);
    await page.getByRole('button', { name: 'Run scenario' }).click();
    await expect(page.getByRole('progressbar', { name: 'Progress of Two quick crashes' })).toBeVisible();
    const report = page.getByTestId('scenario-report');
    await expect(report).toContainText('Two quick crashes: passed', { timeout: 10_000 });
    await expect(report).toContainText('✓ no safety violation');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keyboard shortcuts: help, kill the leader, freeze', async ({ page, server }) => {
  await page.goto(server.url);
  const leader = await leaderOf(page);
  await page.keyboard.press('?');
  await expect(page.getByTestId('help')).toContainText('Kill the leader');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help')).toBeHidden();
  await page.keyboard.press('k');
  await expect(page.getByRole('status').filter({ hasText: `Killed ${leader}` })).toBeVisible();
  await expect(page.getByTestId(`node-${leader}`).getByTestId('role')).toHaveText('down');
  await page.keyboard.press('f');
  await expect(page.getByTestId('clock-speed')).toHaveText('frozen');
});
