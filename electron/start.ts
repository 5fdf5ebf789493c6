/**
 * `npm start`: opens the desktop app; where Electron cannot run (its binary is missing and
 * cannot be downloaded, or there is no display), says so in one line and serves the same
 * dashboard for a browser instead.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './cli/cli.js';
import { electronPackageDir, installedElectron, missingDisplay } from './cli/electron-binary.js';

const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;
const DOWNLOAD_NOTICE_AFTER_MS = 2_000;

const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs electron's lazy download once; quiet unless it takes long enough to need a word. */
function downloadElectron(packageDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(packageDir, 'install.js')], { stdio: 'ignore' });
    const notice = setTimeout(() => console.log('Downloading the Electron binary (first launch only)...'), DOWNLOAD_NOTICE_AFTER_MS);
    const timeout = setTimeout(() => child.kill('SIGTERM'), DOWNLOAD_TIMEOUT_MS);
    const finish = (ok: boolean): void => {
      clearTimeout(notice);
      clearTimeout(timeout);
      resolve(ok);
    };
    child.once('error', () => finish(false));
    child.once('exit', (code) => finish(code === 0));
  });
}

async function electronOrReason(): Promise<{ binary: string } | { reason: string }> {
  const packageDir = electronPackageDir(appRoot);
  if (packageDir === null) return { reason: 'the electron package is not installed' };
  let binary = installedElectron(packageDir);
  if (binary === null && (await downloadElectron(packageDir))) binary = installedElectron(packageDir);
  if (binary === null) return { reason: 'its binary is not installed and could not be downloaded' };
  const noDisplay = missingDisplay();
  return noDisplay === null ? { binary } : { reason: noDisplay };
}

async function start(argv: string[]): Promise<number> {
  const found = await electronOrReason();
  if ('reason' in found) {
    return main(['serve', ...argv], `Electron cannot run here: ${found.reason}. Serving the dashboard for your browser instead.`);
  }
  const child = spawn(found.binary, [appRoot, ...argv], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

const code = await start(process.argv.slice(2));
if (code !== 0) process.exit(code);
