/**
 * The built Electron main process (out/main/main.js, as `npm run build` makes it) against a
 * recording fake of Electron (fake-electron.ts): what it starts, the window it opens and how
 * that window is locked down, one instance per user, the menu, the remembered window place,
 * the failures it reports, and quitting. The Electron binary itself is never needed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Display, HandlerDetails, MenuItem, MenuItemConstructorOptions, RenderProcessGoneDetails, WebContents } from 'electron';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MENU_ACTION_CHANNEL } from '../../shared/protocol/shell.js';
import { connectControl, connected, refused } from '../integration/harness.js';
import { APP_ROOT } from '../support/processes.js';
import { FakeElectron, display, electronEvent, type FakeWindow, type MenuTemplate } from './fake-electron.js';

const BUILT_MAIN = fileURLToPath(new URL('../../out/main/main.js', import.meta.url));
const APP_PATH = resolve(APP_ROOT);
const LAPTOP = display(1, { x: 0, y: 0, width: 1920, height: 1080 });
const DEV_SERVER = 'http://localhost:5173';

const current = vi.hoisted(() => ({ electron: null as FakeElectron | null }));
vi.mock('electron', () => {
  const fake = (): FakeElectron => {
    if (current.electron === null) throw new Error('the contract test set up no fake Electron');
    return current.electron;
  };
  return {
    get app() {
      return fake().app;
    },
    get BrowserWindow() {
      return fake().BrowserWindow;
    },
    get Menu() {
      return fake().Menu;
    },
    get dialog() {
      return fake().dialog;
    },
    get screen() {
      return fake().screen;
    },
    get session() {
      return fake().session;
    },
    get shell() {
      return fake().shell;
    },
  };
});

let userData = '';
const output = { log: [] as string[], error: [] as string[] };

beforeEach(() => {
  if (!existsSync(BUILT_MAIN)) throw new Error(`${BUILT_MAIN} is missing: run "npm run build" first`);
  userData = mkdtempSync(join(tmpdir(), 'conclave-user-data-'));
  output.log.length = 0;
  output.error.length = 0;
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void output.log.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void output.error.push(args.join(' ')));
  // The token must be the launch's own, whatever the environment running the tests holds.
  vi.stubEnv('CONCLAVE_TOKEN', '');
  vi.stubEnv('ELECTRON_RENDERER_URL', '');
});

afterEach(async () => {
  // A launch that got as far as a window has a hub running: quit, as the user would.
  const electron = current.electron;
  if (electron !== null && electron.windows.items.length > 0 && electron.app.exitCodes.items.length === 0) {
    electron.app.quit();
    await electron.app.exitCodes.nth(1);
  }
  current.electron = null;
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  rmSync(userData, { recursive: true, force: true });
});

/** Loads a fresh copy of the built main process, as `electron <app> ...args` would. */
async function launch(args: string[], options: { singleInstanceLock?: boolean; displays?: Display[] } = {}): Promise<FakeElectron> {
  const electron = new FakeElectron({ appPath: APP_PATH, userData, displays: options.displays ?? [LAPTOP] });
  electron.app.singleInstanceLock = options.singleInstanceLock ?? true;
  current.electron = electron;
  const argv = process.argv;
  // Electron's argv: the binary, Chromium's switches, the app path, then the app's flags.
  process.argv = ['/opt/electron/electron', '--no-sandbox', APP_PATH, ...args];
  vi.resetModules();
  try {
    await import(/* @vite-ignore */ BUILT_MAIN);
  } finally {
    process.argv = argv;
  }
  return electron;
}

interface Opened {
  electron: FakeElectron;
  window: FakeWindow;
  /** What the window loaded. */
  url: URL;
  hubUrl: string;
  token: string;
}

async function openDashboard(args = ['--port', '0', '--nodes', '3'], options: { displays?: Display[] } = {}): Promise<Opened> {
  const electron = await launch(args, options);
  electron.app.becomeReady();
  const window = await electron.windows.nth(1);
  const url = new URL(await window.loads.nth(1));
  const hubUrl = url.searchParams.get('hub') ?? `${url.origin}/`;
  return { electron, window, url, hubUrl, token: url.searchParams.get('token') ?? '' };
}

function menuItem(template: MenuTemplate, label: string): MenuItemConstructorOptions {
  for (const entry of template as MenuItemConstructorOptions[]) {
    const found = (entry.submenu as MenuItemConstructorOptions[] | undefined)?.find((item) => item.label === label);
    if (found) return found;
  }
  throw new Error(`no menu item "${label}"`);
}

/** Whether the window refuses to navigate to `target`. */
function refusesNavigation(window: FakeWindow, target: string): boolean {
  const event = electronEvent({ url: target, isSameDocument: false, isMainFrame: true, frame: null });
  window.webContents.emit('will-navigate', event, target);
  return event.defaultPrevented;
}

function clickMenu(template: MenuTemplate, label: string): void {
  menuItem(template, label).click!({} as MenuItem, undefined, {} as KeyboardEvent);
}

function listen(port: number): Promise<Server | null> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(null));
    server.listen(port, '127.0.0.1', () => done(server));
  });
}

describe('the Electron main process (built) against a fake Electron', () => {
  it('starts the hub behind a token of its own and opens the window on the dashboard with it', async () => {
    const { url, hubUrl, token } = await openDashboard();
    expect(url.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(output.log).toContain(`Conclave: embedded 3-node Raft cluster, dashboard at ${hubUrl} (in the window)`);
    expect(output.log.join('\n')).not.toContain(token);

    const page = await fetch(hubUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    expect((await fetch(new URL('/metrics', hubUrl))).status).toBe(401);
    expect((await fetch(new URL('/metrics', hubUrl), { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    await refused(connectControl(hubUrl).socket);
    const { socket } = connectControl(hubUrl, { token });
    await connected(socket);
    socket.disconnect();
  });

  it('draws a new token on every launch', async () => {
    const first = await openDashboard();
    first.electron.app.quit();
    await first.electron.app.exitCodes.nth(1);
    const second = await openDashboard();
    expect(second.token).not.toBe(first.token);
  });

  it('locks the window down: sandbox, isolation, no Node, no navigation away, no pop-ups, no permissions', async () => {
    const { electron, window, hubUrl } = await openDashboard();
    const preferences = window.options.webPreferences!;
    expect(preferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true });
    expect(preferences.preload).toMatch(/preload\.cjs$/);
    expect(existsSync(preferences.preload!)).toBe(true);
    expect(window.options.show).toBe(false);
    window.emit('ready-to-show');
    expect(window.calls).toContain('show');

    expect(refusesNavigation(window, 'https://example.com/')).toBe(true);
    expect(refusesNavigation(window, 'file:///etc/passwd')).toBe(true);
    expect(refusesNavigation(window, `${hubUrl}?token=other`)).toBe(false);

    const open = (target: string) => {
      const details: HandlerDetails = { url: target, frameName: '', features: '', disposition: 'new-window', referrer: { url: '', policy: 'no-referrer' } };
      return window.webContents.windowOpenHandler!(details);
    };
    expect(open('https://raft.github.io/')).toEqual({ action: 'deny' });
    expect(open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(electron.shell.opened).toEqual(['https://raft.github.io/']);

    const answers: boolean[] = [];
    const permissions = electron.session.defaultSession.permissionRequestHandler!;
    for (const permission of ['media', 'notifications', 'clipboard-read'] as const) {
      permissions({} as WebContents, permission, (granted) => answers.push(granted), { isMainFrame: true, requestingUrl: hubUrl });
    }
    expect(answers).toEqual([false, false, false]);
  });

  it('holds one instance per user: a second launch brings the first window forward and starts nothing', async () => {
    const { electron, window } = await openDashboard();
    window.minimize();
    electron.app.secondInstance(['/opt/electron/electron', APP_PATH]);
    expect(window.calls.slice(-3)).toEqual(['restore', 'show', 'focus']);

    const second = await launch(['--port', '0'], { singleInstanceLock: false });
    expect(await second.app.exitCodes.nth(1)).toBe(0);
    expect(second.app.calls).toEqual(['requestSingleInstanceLock', 'quit', 'exit 0']);
    expect(second.windows.items).toHaveLength(0);
    expect(output.log).toContain('Conclave is already running: brought its window to the front.');
    expect(output.log.filter((line) => line.includes('dashboard at'))).toHaveLength(1);
  });

  it("has an application menu whose actions reach the dashboard by name, with accelerators", async () => {
    const { electron, window } = await openDashboard();
    const menu = electron.applicationMenu!;
    expect(menu).toBe(electron.menus[0]);
    expect(menuItem(menu, 'Kill the Leader').accelerator).toBe('CmdOrCtrl+Shift+K');
    expect(menuItem(menu, 'Heal Every Fault').accelerator).toBe('CmdOrCtrl+Shift+H');
    clickMenu(menu, 'Kill the Leader');
    clickMenu(menu, 'Keyboard Shortcuts');
    expect(window.webContents.sent).toEqual([
      [MENU_ACTION_CHANNEL, 'kill-leader'],
      [MENU_ACTION_CHANNEL, 'toggle-help'],
    ]);
    window.close();
    clickMenu(menu, 'Heal Every Fault');
    expect(window.webContents.sent).toHaveLength(2);
  });

  it('reopens the window where it was, and remembers where it is when closed; closing it stops the hub and quits', async () => {
    const stateFile = join(userData, 'window-state.json');
    writeFileSync(stateFile, JSON.stringify({ x: 200, y: 100, width: 1100, height: 750, maximized: true }));
    const { electron, window, hubUrl } = await openDashboard();
    expect(window.options).toMatchObject({ x: 200, y: 100, width: 1100, height: 750, minWidth: 720, minHeight: 520 });
    expect(window.calls).toContain('maximize');

    window.normalBounds = { x: 40, y: 30, width: 900, height: 640 };
    window.close();
    expect(await electron.app.exitCodes.nth(1)).toBe(0);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ x: 40, y: 30, width: 900, height: 640, maximized: true });
    expect(electron.app.calls).toEqual(['requestSingleInstanceLock', 'quit', 'exit 0']);
    await expect(fetch(hubUrl)).rejects.toThrow();
  });

  it('fits a remembered place onto the displays there are now', async () => {
    writeFileSync(join(userData, 'window-state.json'), JSON.stringify({ x: 2500, y: 100, width: 1600, height: 900, maximized: false }));
    const { window } = await openDashboard(undefined, { displays: [display(1, { x: 0, y: 0, width: 1280, height: 800 })] });
    expect(window.options).toMatchObject({ width: 1280, height: 800 });
    expect(window.options.x).toBeUndefined();
  });

  it('opens at the default place when the remembered one is damaged', async () => {
    writeFileSync(join(userData, 'window-state.json'), '{"x": 200, "y": ');
    const { window } = await openDashboard();
    expect(window.options).toMatchObject({ width: 1360, height: 900 });
    expect(window.options.x).toBeUndefined();
  });

  it('quits on request (Cmd+Q or the menu) after stopping the hub', async () => {
    const { electron, window, hubUrl } = await openDashboard();
    electron.app.quit();
    expect(await electron.app.exitCodes.nth(1)).toBe(0);
    expect(window.isDestroyed()).toBe(true);
    expect(existsSync(join(userData, 'window-state.json'))).toBe(true);
    await expect(fetch(hubUrl)).rejects.toThrow();
  });

  it('offers to reload when the page crashes or does not load, and says why on stderr without the token', async () => {
    const { electron, window, url, token } = await openDashboard();
    const gone = (details: RenderProcessGoneDetails): boolean => window.webContents.emit('render-process-gone', electronEvent({}), details);
    const failedLoad = (code: number, description: string, mainFrame = true): boolean =>
      window.webContents.emit('did-fail-load', electronEvent({}), code, description, url.toString(), mainFrame, 1, 1);

    gone({ reason: 'clean-exit', exitCode: 0 });
    failedLoad(-3, 'ERR_ABORTED');
    failedLoad(-105, 'ERR_NAME_NOT_RESOLVED', false);
    expect(electron.dialog.messageBoxes.items).toHaveLength(0);

    failedLoad(-102, 'ERR_CONNECTION_REFUSED');
    const loadFailure = await electron.dialog.messageBoxes.nth(1);
    expect(loadFailure).toMatchObject({ type: 'error', buttons: ['Reload', 'Quit'] });
    expect(loadFailure.message).toBe(`The dashboard did not load from ${url.origin}/: ERR_CONNECTION_REFUSED (-102).`);
    expect(await window.loads.nth(2)).toBe(url.toString());

    gone({ reason: 'crashed', exitCode: 139 });
    expect((await electron.dialog.messageBoxes.nth(2)).message).toBe("The dashboard's page stopped (crashed, exit code 139).");
    expect(await window.loads.nth(3)).toBe(url.toString());
    expect(output.error).toEqual([
      `conclave: The dashboard did not load from ${url.origin}/: ERR_CONNECTION_REFUSED (-102).`,
      "conclave: The dashboard's page stopped (crashed, exit code 139).",
    ]);
    expect(output.error.join('\n')).not.toContain(token);

    electron.dialog.response = 1;
    gone({ reason: 'oom', exitCode: 1 });
    expect(await electron.app.exitCodes.nth(1)).toBe(0);
    expect(electron.app.calls).toContain('quit');
  });

  it('reports a port that is taken in a dialog and on stderr, and exits 1', async () => {
    const blocker = (await listen(0))!;
    const port = (blocker.address() as { port: number }).port;
    try {
      const electron = await launch(['--port', String(port)]);
      electron.app.becomeReady();
      expect(await electron.app.exitCodes.nth(1)).toBe(1);
      const message = `port ${port} on 127.0.0.1 is already in use: pick another with --port (0 picks a free one)`;
      expect(electron.dialog.errorBoxes).toEqual([{ title: 'Conclave cannot start', content: message }]);
      expect(output.error).toEqual([`conclave: ${message}`]);
      expect(electron.windows.items).toHaveLength(0);
    } finally {
      blocker.close();
    }
  });

  it('takes any free port when the default one is taken and none was asked for', async () => {
    // Whoever holds 4100 (this test, or something else on the machine), the app must still open.
    const blocker = await listen(4100);
    try {
      const { url } = await openDashboard(['--nodes', '3']);
      expect(url.port).not.toBe('4100');
    } finally {
      blocker?.close();
    }
  });

  it.each([
    [['--port', '70000'], {}, 2, '--port must be between 0 and 65535 (got 70000)'],
    [['--colour', 'blue'], {}, 2, 'unknown flag --colour'],
    [['--port', '0'], { ELECTRON_RENDERER_URL: 'file:///tmp/index.html' }, 1, 'ELECTRON_RENDERER_URL must be an http(s) URL (got "file:///tmp/index.html")'],
  ])('refuses %j %j in a dialog and on stderr (exit code %i)', async (args, env, exitCode, message) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const electron = await launch(args);
    expect(await electron.app.exitCodes.nth(1)).toBe(exitCode);
    expect(electron.dialog.errorBoxes).toHaveLength(1);
    expect(electron.dialog.errorBoxes[0]!.content).toContain(message);
    expect(output.error).toHaveLength(1);
    expect(output.error[0]).toContain(`conclave: ${message}`);
    expect(electron.app.calls).not.toContain('requestSingleInstanceLock');
  });

  it('prints its flags with --help and quits', async () => {
    const electron = await launch(['--help']);
    expect(await electron.app.exitCodes.nth(1)).toBe(0);
    expect(output.log.join('\n')).toContain('--nodes      embedded cluster size, 1 to 101');
  });
});

describe('npm run dev: the window on the renderer dev server', () => {
  it('loads the dev server, telling it where the hub is, with the token', async () => {
    vi.stubEnv('ELECTRON_RENDERER_URL', DEV_SERVER);
    const { window, url, hubUrl, token } = await openDashboard();
    expect(url.origin).toBe(DEV_SERVER);
    expect(hubUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(refusesNavigation(window, `${DEV_SERVER}/`)).toBe(false);
    expect(refusesNavigation(window, `${hubUrl}export.jsonl`)).toBe(false);
    expect(refusesNavigation(window, 'http://localhost:5174/')).toBe(true);
  });

  it("has the hub admit the dev server's origin, and no other", async () => {
    vi.stubEnv('ELECTRON_RENDERER_URL', DEV_SERVER);
    const { hubUrl, token } = await openDashboard();
    const { socket } = connectControl(hubUrl, { token, origin: DEV_SERVER });
    await connected(socket);
    socket.disconnect();
    await refused(connectControl(hubUrl, { token, origin: 'http://localhost:5174' }).socket);
  });
});
