/**
 * Finding the Electron executable without importing `electron` (whose import would start a
 * download), and its lazy download: used by `npm start` and by the Electron smoke test.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { failureReason, keepTail } from '../shell/failure-reason.js';

const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;
const DOWNLOAD_NOTICE_AFTER_MS = 2_000;

export function electronPackageDir(appRoot: string): string | null {
  try {
    return dirname(createRequire(join(appRoot, 'package.json')).resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/** The installed Electron executable, or null when its binary has not been downloaded. */
export function installedElectron(packageDir: string): string | null {
  let relative: string | null = null;
  try {
    relative = readFileSync(join(packageDir, 'path.txt'), 'utf8');
  } catch {
    // Not downloaded yet, unless an override directory holds the binary.
  }
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  // As electron's own index.js: an override directory without path.txt holds a plain `electron`.
  const binary = override ? join(override, relative ?? 'electron') : relative === null ? null : join(packageDir, 'dist', relative);
  return binary !== null && existsSync(binary) ? binary : null;
}

/** Why a window cannot open here even with the binary, or null when it can. */
export function missingDisplay(): string | null {
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)';
  }
  return null;
}

/** Runs electron's lazy download (its install.js) once; resolves with null when it worked, else with why not. */
export function downloadElectron(packageDir: string): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(packageDir, 'install.js')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr = keepTail(stderr, chunk)));
    const notice = setTimeout(() => console.log('Downloading the Electron binary (first launch only)...'), DOWNLOAD_NOTICE_AFTER_MS);
    const timeout = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, DOWNLOAD_TIMEOUT_MS);
    let settled = false;
    const finish = (reason: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(notice);
      clearTimeout(timeout);
      resolve(reason);
    };
    child.once('error', (error) => finish(error.message));
    child.once('close', (code) => {
      if (timedOut) finish(`the download took longer than ${DOWNLOAD_TIMEOUT_MS / 60_000} minutes`);
      else finish(code === 0 ? null : (failureReason(stderr) ?? `its installer exited with code ${code}`));
    });
  });
}
