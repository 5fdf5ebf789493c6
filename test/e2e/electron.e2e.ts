/**
 * The desktop shell: the window opens on the dashboard and shows a leader. Needs the Electron
 * binary and a display; where either is missing the test is skipped and says why.
 */
import { _electron as electron } from '@playwright/test';
import { electronPackageDir, installedElectron, missingDisplay } from '../../electron/cli/electron-binary.js';
import { APP_ROOT } from '../support/processes.js';
import { expect, test } from './fixtures.js';

const packageDir = electronPackageDir(APP_ROOT);
const binary = packageDir === null ? null : installedElectron(packageDir);
const skipReason =
  binary === null ? 'the Electron binary is not installed (it downloads on the first "npm start" where there is internet)' : missingDisplay();
if (skipReason !== null) console.log(`skipping the Electron smoke test: ${skipReason}`);

test('the Electron window opens on the dashboard and shows a leader', async () => {
  test.skip(skipReason !== null, skipReason ?? '');
  const app = await electron.launch({ executablePath: binary!, args: [APP_ROOT, '--port', '0'], cwd: APP_ROOT });
  try {
    const page = await app.firstWindow();
    await expect(page).toHaveTitle('Conclave');
    await expect(page.getByTestId('headline').getByTestId('leader-id')).toHaveText(/^n\d+$/);
    // Sandboxed and isolated: no Node in the page, only the preload's allow-list.
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => (globalThis as { conclaveShell?: { kind: string } }).conclaveShell?.kind)).toBe('electron');
  } finally {
    await app.close();
  }
});
