/**
 * The Electron shell, and with the preload the only module that imports electron. It starts
 * the same runtime as `conclave serve`, behind a token of its own, and opens one locked-down
 * window on the dashboard; what is worth testing on its own lives in electron/shell/.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, Menu, app, dialog, screen, session, shell } from 'electron';
import { MENU_ACTION_CHANNEL } from '../shared/protocol/shell.js';
import { describeListenError } from './cli/cli.js';
import { UsageError } from './base/flags.js';
import { SERVE_USAGE, parseServeArgs, type ServeOptions } from './cli/flags.js';
import { startServe, type Served } from './serve.js';
import { applicationMenuTemplate } from './shell/app-menu.js';
import { HUB_STOP_TIMEOUT_MS, stopWithin } from './shell/bounded-stop.js';
import { conclaveArgs } from './shell/launch-args.js';
import { WINDOW_SIZE_MIN, WINDOW_STATE_FILE, placeWindow, readWindowState, writeWindowState } from './shell/window-state.js';
import { dashboardWindowUrl, devRendererUrl, withoutToken } from './shell/window-url.js';

const preloadPath = join(fileURLToPath(new URL('.', import.meta.url)), '../preload/preload.cjs');
/** Chromium's ERR_ABORTED: a newer navigation replaced the load, nothing failed. */
const LOAD_ABORTED = -3;

interface Dashboard {
  url: string;
  /** Where the window may navigate: the page's origin and the hub's (they differ under `npm run dev`). */
  origins: ReadonlySet<string>;
}

/** Says why Conclave cannot go on, on stderr and in a dialog (a launch from a desktop icon has no terminal), then exits. */
function fail(message: string, exitCode: number): void {
  console.error(`conclave: ${message}`);
  dialog.showErrorBox('Conclave cannot start', message);
  app.exit(exitCode);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}

function openWindow(dashboard: Dashboard, stateFile: string): BrowserWindow {
  const workAreas = [screen.getPrimaryDisplay(), ...screen.getAllDisplays()].map((display) => display.workArea);
  const { maximized, ...bounds } = placeWindow(readWindowState(stateFile), workAreas);
  const window = new BrowserWindow({
    ...bounds,
    minWidth: WINDOW_SIZE_MIN.width,
    minHeight: WINDOW_SIZE_MIN.height,
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
  if (maximized) window.maximize();
  window.once('ready-to-show', () => window.show());
  window.on('close', () => {
    try {
      writeWindowState(stateFile, { ...window.getNormalBounds(), maximized: window.isMaximized() });
    } catch (error) {
      console.error(`conclave: could not remember the window's place in ${stateFile}: ${(error as Error).message}`);
    }
  });

  // The window only ever shows the dashboard; links elsewhere open in the user's browser.
  window.webContents.on('will-navigate', (event) => {
    if (!dashboard.origins.has(originOf(event.url))) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });

  const load = (): void => {
    // A failed load rejects here and is reported by did-fail-load below.
    window.loadURL(dashboard.url).catch(() => undefined);
  };
  let asking = false;
  const offerReload = async (problem: string): Promise<void> => {
    console.error(`conclave: ${problem}`);
    if (asking || window.isDestroyed()) return;
    asking = true;
    const { response } = await dialog.showMessageBox(window, {
      type: 'error',
      title: 'Conclave',
      message: problem,
      buttons: ['Reload', 'Quit'],
      defaultId: 0,
      cancelId: 1,
    });
    asking = false;
    if (window.isDestroyed()) return;
    if (response === 0) load();
    else app.quit();
  };
  window.webContents.on('render-process-gone', (_event, details) => {
    if (details.reason !== 'clean-exit') void offerReload(`The dashboard's page stopped (${details.reason}, exit code ${details.exitCode}).`);
  });
  window.webContents.on('did-fail-load', (_event, errorCode, errorDescription, validatedUrl, isMainFrame) => {
    if (isMainFrame && errorCode !== LOAD_ABORTED) {
      void offerReload(`The dashboard did not load from ${withoutToken(validatedUrl)}: ${errorDescription} (${errorCode}).`);
    }
  });
  load();
  return window;
}

/** The hub and cluster; when the default port is taken and none was asked for, any free port (the window does not care). */
async function serve(options: ServeOptions, portGiven: boolean, allowedOrigins: string[]): Promise<Served> {
  try {
    return await startServe({ ...options, allowedOrigins });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && !portGiven) return startServe({ ...options, port: 0, allowedOrigins });
    throw error;
  }
}

async function run(): Promise<void> {
  const args = conclaveArgs(process.argv, app.getAppPath());
  const parsed = parseServeArgs(args, process.env);
  if (parsed === 'help') {
    console.log(SERVE_USAGE);
    app.quit();
    return;
  }
  const devRenderer = devRendererUrl(process.env);
  // One cluster per user: a second launch brings the first window forward and leaves.
  if (!app.requestSingleInstanceLock()) {
    console.log('Conclave is already running: brought its window to the front.');
    app.quit();
    return;
  }
  let mainWindow: BrowserWindow | null = null;
  const liveWindow = (): BrowserWindow | null => (mainWindow === null || mainWindow.isDestroyed() ? null : mainWindow);
  app.on('second-instance', () => {
    const window = liveWindow();
    if (window === null) return;
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  });

  await app.whenReady();
  // The dashboard needs no camera, notifications or other permissions: refuse every request.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  // Even a page on this machine cannot drive this cluster without the token only the window gets.
  const options = { ...parsed, token: parsed.token ?? randomBytes(32).toString('base64url') };
  const portGiven = args.some((arg) => arg === '--port' || arg.startsWith('--port='));
  let served: Served;
  try {
    served = await serve(options, portGiven, devRenderer === null ? [] : [devRenderer.origin]);
  } catch (error) {
    fail(describeListenError(error, options.host, options.port), 1);
    return;
  }
  console.log(`Conclave: ${served.runtime.snapshot().target.label}, dashboard at ${served.hub.url} (in the window)`);

  const url = dashboardWindowUrl(served.hub.url, options.token, devRenderer);
  const dashboard: Dashboard = { url, origins: new Set([originOf(url), originOf(served.hub.url)]) };
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(applicationMenuTemplate(process.platform, (action) => liveWindow()?.webContents.send(MENU_ACTION_CHANNEL, action))),
  );
  app.on('window-all-closed', () => app.quit());
  let quitting = false;
  app.on('will-quit', (event) => {
    event.preventDefault();
    if (quitting) return;
    quitting = true;
    void stopWithin(() => served.stop(), HUB_STOP_TIMEOUT_MS).then((outcome) => {
      if (!outcome.stopped) console.error(`conclave: the hub ${outcome.reason}; quitting anyway`);
      app.exit(outcome.stopped ? 0 : 1);
    });
  });
  mainWindow = openWindow(dashboard, join(app.getPath('userData'), WINDOW_STATE_FILE));
}

run().catch((error: unknown) => {
  fail(error instanceof Error ? error.message : String(error), error instanceof UsageError ? 2 : 1);
});
