/**
 * Finding the Electron executable without importing `electron` (whose import would start a
 * download): used by `npm start` and by the Electron smoke test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export function electronPackageDir(appRoot: string): string | null {
  try {
    return dirname(createRequire(join(appRoot, 'package.json')).resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/** The installed Electron executable, or null when its binary has not been downloaded. */
export function installedElectron(packageDir: string): string | null {
  try {
    const relative = readFileSync(join(packageDir, 'path.txt'), 'utf8');
    const base = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(packageDir, 'dist');
    const binary = join(base, relative);
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** Why a window cannot open here even with the binary, or null when it can. */
export function missingDisplay(): string | null {
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)';
  }
  return null;
}
