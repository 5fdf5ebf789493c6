/**
 * The Electron shell, and the only module that imports electron. It starts the same runtime
 * as `conclave serve` and opens a locked-down window on the dashboard; everything testable
 * lives outside it.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, app, session, shell } from 'electron';
import { SERVE_USAGE, parseServeArgs } from './cli/flags.js';
import { describeListenError } from './cli/cli.js';
import { startServe, type Served } from './serve.js';

const preloadPath = join(fileURLToPath(new URL('.', import.meta.url)), '../preload/preload.cjs');

/** Conclave's own flags: what follows the app path (Chromium switches such as --inspect come before it). */
function userArgs(): string[] {
  const appPath = app.getAppPath();
  const index = process.argv.findIndex((arg, position) => position > 0 && resolve(arg) === appPath);
  return process.argv.slice(index === -1 ? 1 : index + 1);
}

function createWindow(url: string): BrowserWindow {
  const origin = new URL(url).origin;
  const window = new BrowserWindow({
    width: 1360,
    height: 900,
    minWidth: 720,
    minHeight: 520,
    title: 'Conclave',
    backgroundColor: '#0f1419',
    show: false,
    webPreferences: {
      preload: preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  window.once('ready-to-show', () => window.show());
  // The window only ever shows the dashboard; links elsewhere open in the user's browser.
  window.webContents.on('will-navigate', (event, target) => {
    if (new URL(target).origin !== origin) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(({ url: target }) => {
    if (/^https?:\/\//.test(target)) void shell.openExternal(target);
    return { action: 'deny' };
  });
  void window.loadURL(url);
  return window;
}

async function run(): Promise<void> {
  let served: Served;
  const options = parseServeArgs(userArgs(), process.env);
  if (options === 'help') {
    console.log(SERVE_USAGE);
    app.quit();
    return;
  }
  await app.whenReady();
  // The dashboard needs no camera, notifications or other permissions: refuse every request.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  try {
    served = await startServe(options).catch((error: unknown) => {
      // The window does not care about the port: if the default one is taken, take any free one.
      const portGiven = userArgs().some((arg) => arg === '--port' || arg.startsWith('--port='));
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && !portGiven) return startServe({ ...options, port: 0 });
      throw error;
    });
  } catch (error) {
    console.error(`conclave: ${describeListenError(error, options.host, options.port)}`);
    app.exit(1);
    return;
  }
  console.log(`Conclave: ${options.nodes}-node ${options.algorithm} cluster, dashboard at ${served.dashboardUrl}`);
  createWindow(served.dashboardUrl);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(served.dashboardUrl);
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    event.preventDefault();
    void served.stop().finally(() => app.exit(0));
  });
}

run().catch((error: unknown) => {
  console.error(`conclave: ${error instanceof Error ? error.message : String(error)}`);
  app.exit(1);
});
