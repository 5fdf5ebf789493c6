/** The scenario editor's round trip: a preset opens in it, is changed, saved as a file, loaded back, run, and reported. */
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../shared/scenario/format.js';
import { expect, leaderOf, showTab, test } from './fixtures.js';

test('open a preset in the editor, change it, save it, load the file back, run it and read the report', async ({ page, server }) => {
  await page.goto(server.url);
  await leaderOf(page);
  await showTab(page, 'Scenario');
  await page.getByLabel('Scenario preset').selectOption({ label: 'Crash the leader every 10 s' });
  await page.getByRole('button', { name: 'Open in editor' }).click();
  await expect(page.getByLabel('Scenario name')).toHaveValue('Crash the leader every 10 s');
  await expect(page.getByLabel('Step 1: when')).toHaveValue('every');

  // A shorter run: crash the leader every 1.2 s from 0.3 s, back after 0.5 s, for 3 s.
  await page.getByLabel('Scenario name').fill('Quick crashes');
  await page.getByLabel('Duration in ms').fill('3000');
  await page.getByLabel('Step 1: every ms').fill('1200');
  await page.getByLabel('Step 1: from ms').fill('300');
  await page.getByLabel('Step 1: undo after ms').fill('500');
  await page.getByLabel('Assertion 2: within ms').fill('2000');
  await page.getByLabel('Assertion 3', { exact: true }).selectOption('availability-above');
  await page.getByLabel('Assertion 3: ratio 0 to 1').fill('0.2');
  // A mistake is refused by the format's own validator, before anything is sent.
  await page.getByLabel('Step 1: undo after ms').fill('5000');
  await expect(page.getByTestId('scenario-invalid')).toContainText('scenario.steps[0].undoAfter must be between 1 and 3000');
  await expect(page.getByRole('button', { name: 'Run scenario' })).toBeDisabled();
  await page.getByLabel('Step 1: undo after ms').fill('500');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save as file' }).click()]);
  expect(download.suggestedFilename()).toBe('quick-crashes.json');
  const file = (await download.path())!;
  const saved = parseScenario(JSON.parse(readFileSync(file, 'utf8')));
  expect(saved).toMatchObject({ name: 'Quick crashes', durationMs: 3000, steps: [{ every: 1200, from: 300, undoAfter: 500, do: { type: 'kill', node: 'leader' } }] });

  await page.getByRole('button', { name: 'New', exact: true }).click();
  await expect(page.getByLabel('Scenario name')).toHaveValue('My scenario');
  await page.getByLabel('Load a scenario file').setInputFiles(file);
  await expect(page.getByLabel('Scenario name')).toHaveValue('Quick crashes');
  await expect(page.getByLabel('Step 1: every ms')).toHaveValue('1200');

  await page.getByRole('button', { name: 'Run scenario' }).click();
  await expect(page.getByRole('progressbar', { name: 'Progress of Quick crashes' })).toBeVisible();
  const report = page.getByTestId('scenario-report');
  await expect(report).toContainText('Quick crashes: passed', { timeout: 10_000 });
  await expect(report).toContainText('✓ no safety violation');
  await expect(report).toContainText('✓ availability above 20.0%');
});
