/**
 * A recording stand-in for the part of Electron's main-process API that electron/main.ts uses,
 * so the built main process runs under plain Node. Its members are typed from the electron
 * package's own .d.ts (`implements Pick<...>`, `Parameters<...>`): when the real API changes
 * shape, this file stops type-checking instead of the contract test passing against a fiction.
 * Events follow Electron's order: quit closes the windows, then emits will-quit, which may be
 * prevented; closing the last window otherwise emits window-all-closed.
 */
import { EventEmitter } from 'node:events';
import type {
  App,
  BaseWindow,
  BrowserWindow,
  BrowserWindowConstructorOptions,
  Dialog,
  Display,
  Event as ElectronEvent,
  LoadURLOptions,
  Menu,
  MessageBoxOptions,
  MessageBoxReturnValue,
  OpenExternalOptions,
  Rectangle,
  Screen,
  Session,
  Shell,
  WebContents,
} from 'electron';

/** A list a test can wait on. */
export class Recorded<T> {
  readonly items: T[] = [];
  private waiters: Array<{ count: number; resolve: (item: T) => void }> = [];

  push(item: T): void {
    this.items.push(item);
    const due = this.waiters.filter((waiter) => this.items.length >= waiter.count);
    this.waiters = this.waiters.filter((waiter) => this.items.length < waiter.count);
    for (const waiter of due) waiter.resolve(this.items[waiter.count - 1]!);
  }

  /** The count-th item (1-based), once there is one. */
  nth(count: number): Promise<T> {
    if (this.items.length >= count) return Promise.resolve(this.items[count - 1]!);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

export function electronEvent<Params extends object>(params: Params): ElectronEvent<Params> {
  let prevented = false;
  return {
    ...params,
    preventDefault: () => {
      prevented = true;
    },
    get defaultPrevented() {
      return prevented;
    },
  };
}

export function display(id: number, workArea: Rectangle): Display {
  return {
    id,
    label: `display ${id}`,
    bounds: workArea,
    workArea,
    size: { width: workArea.width, height: workArea.height },
    workAreaSize: { width: workArea.width, height: workArea.height },
    nativeOrigin: { x: workArea.x, y: workArea.y },
    accelerometerSupport: 'unknown',
    colorDepth: 24,
    colorSpace: 'srgb',
    depthPerComponent: 8,
    detected: true,
    displayFrequency: 60,
    internal: false,
    maximumCursorSize: { width: 64, height: 64 },
    monochrome: false,
    rotation: 0,
    scaleFactor: 1,
    touchSupport: 'unknown',
  };
}

type PermissionRequestHandler = NonNullable<Parameters<Session['setPermissionRequestHandler']>[0]>;
type WindowOpenHandler = Parameters<WebContents['setWindowOpenHandler']>[0];
export type MenuTemplate = Parameters<typeof Menu.buildFromTemplate>[0];

export class FakeWebContents extends EventEmitter implements Pick<WebContents, 'setWindowOpenHandler' | 'send'> {
  windowOpenHandler: WindowOpenHandler | null = null;
  readonly sent: Array<[channel: string, ...args: unknown[]]> = [];

  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler;
  }

  send(channel: string, ...args: unknown[]): void {
    this.sent.push([channel, ...args]);
  }
}

type WindowMembers =
  | 'loadURL'
  | 'show'
  | 'focus'
  | 'restore'
  | 'minimize'
  | 'isMinimized'
  | 'maximize'
  | 'isMaximized'
  | 'getNormalBounds'
  | 'isDestroyed'
  | 'close';

export class FakeWindow extends EventEmitter implements Pick<BrowserWindow, WindowMembers> {
  readonly webContents = new FakeWebContents();
  /** Calls that change what the user sees, in order. */
  readonly calls: string[] = [];
  readonly loads = new Recorded<string>();
  /** Where the window is when not maximized: what the user last moved it to. */
  normalBounds: Rectangle;
  private minimized = false;
  private maximized = false;
  private destroyed = false;

  constructor(
    readonly options: BrowserWindowConstructorOptions,
    private readonly onClosed: (window: FakeWindow) => void,
  ) {
    super();
    this.normalBounds = { x: options.x ?? 0, y: options.y ?? 0, width: options.width ?? 800, height: options.height ?? 600 };
  }

  loadURL(url: string, _options?: LoadURLOptions): Promise<void> {
    this.loads.push(url);
    return Promise.resolve();
  }

  show(): void {
    this.calls.push('show');
  }

  focus(): void {
    this.calls.push('focus');
  }

  restore(): void {
    this.minimized = false;
    this.calls.push('restore');
  }

  minimize(): void {
    this.minimized = true;
    this.calls.push('minimize');
  }

  isMinimized(): boolean {
    return this.minimized;
  }

  maximize(): void {
    this.maximized = true;
    this.calls.push('maximize');
  }

  isMaximized(): boolean {
    return this.maximized;
  }

  getNormalBounds(): Rectangle {
    return this.normalBounds;
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  /** As the user closing it: 'close' (preventable), then 'closed'. */
  close(): void {
    if (this.destroyed) return;
    const event = electronEvent({});
    this.emit('close', event);
    if (event.defaultPrevented) return;
    this.destroyed = true;
    this.emit('closed');
    this.onClosed(this);
  }
}

export class FakeApp extends EventEmitter implements Pick<App, 'getAppPath' | 'getPath' | 'requestSingleInstanceLock' | 'whenReady' | 'quit' | 'exit'> {
  /** What requestSingleInstanceLock answers: false as if another Conclave held the lock. */
  singleInstanceLock = true;
  readonly calls: string[] = [];
  readonly exitCodes = new Recorded<number>();
  quitting = false;
  private markReady: () => void = () => undefined;
  private readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    private readonly appPath: string,
    private readonly userData: string,
    private readonly liveWindows: () => FakeWindow[],
  ) {
    super();
  }

  getAppPath(): string {
    return this.appPath;
  }

  getPath(name: Parameters<App['getPath']>[0]): string {
    if (name !== 'userData') throw new Error(`the fake app knows only the userData path, not ${name}`);
    return this.userData;
  }

  requestSingleInstanceLock(_additionalData?: Record<string, unknown>): boolean {
    this.calls.push('requestSingleInstanceLock');
    return this.singleInstanceLock;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Electron's 'ready': the test decides when it comes. */
  becomeReady(): void {
    this.markReady();
    this.emit('ready', electronEvent({}), {});
  }

  quit(): void {
    this.calls.push('quit');
    this.quitting = true;
    for (const window of this.liveWindows()) window.close();
    const event = electronEvent({});
    this.emit('will-quit', event);
    if (!event.defaultPrevented) this.exit(0);
  }

  exit(exitCode = 0): void {
    this.calls.push(`exit ${exitCode}`);
    this.exitCodes.push(exitCode);
  }

  /** Another launch of the app, as Electron reports it to the instance holding the lock. */
  secondInstance(argv: string[]): void {
    this.emit('second-instance', electronEvent({}), argv, '/', {});
  }
}

export class FakeDialog implements Pick<Dialog, 'showErrorBox' | 'showMessageBox'> {
  readonly errorBoxes: Array<{ title: string; content: string }> = [];
  readonly messageBoxes = new Recorded<MessageBoxOptions>();
  /** The button the user clicks in the next message box (its index). */
  response = 0;

  showErrorBox(title: string, content: string): void {
    this.errorBoxes.push({ title, content });
  }

  showMessageBox(windowOrOptions: BaseWindow | MessageBoxOptions, options?: MessageBoxOptions): Promise<MessageBoxReturnValue> {
    this.messageBoxes.push(options ?? (windowOrOptions as MessageBoxOptions));
    return Promise.resolve({ response: this.response, checkboxChecked: false });
  }
}

export class FakeScreen implements Pick<Screen, 'getPrimaryDisplay' | 'getAllDisplays'> {
  constructor(readonly displays: Display[]) {}

  getPrimaryDisplay(): Display {
    return this.displays[0]!;
  }

  getAllDisplays(): Display[] {
    return this.displays;
  }
}

export class FakeSession implements Pick<Session, 'setPermissionRequestHandler'> {
  permissionRequestHandler: PermissionRequestHandler | null = null;

  setPermissionRequestHandler(handler: Parameters<Session['setPermissionRequestHandler']>[0]): void {
    this.permissionRequestHandler = handler;
  }
}

export class FakeShell implements Pick<Shell, 'openExternal'> {
  readonly opened: string[] = [];

  openExternal(url: string, _options?: OpenExternalOptions): Promise<void> {
    this.opened.push(url);
    return Promise.resolve();
  }
}

/** One fake Electron: what the `electron` module exports to main.ts, plus what the test inspects. */
export class FakeElectron {
  readonly windows = new Recorded<FakeWindow>();
  readonly app: FakeApp;
  readonly dialog = new FakeDialog();
  readonly screen: FakeScreen;
  readonly session = { defaultSession: new FakeSession() };
  readonly shell = new FakeShell();
  readonly menus: MenuTemplate[] = [];
  applicationMenu: MenuTemplate | null = null;
  readonly BrowserWindow: new (options: BrowserWindowConstructorOptions) => FakeWindow;
  readonly Menu = {
    buildFromTemplate: (template: MenuTemplate): MenuTemplate => {
      this.menus.push(template);
      return template;
    },
    setApplicationMenu: (menu: MenuTemplate | null): void => {
      this.applicationMenu = menu;
    },
  };

  constructor(options: { appPath: string; userData: string; displays: Display[] }) {
    const live = (): FakeWindow[] => this.windows.items.filter((window) => !window.isDestroyed());
    this.app = new FakeApp(options.appPath, options.userData, live);
    this.screen = new FakeScreen(options.displays);
    const windowClosed = (): void => {
      if (live().length === 0 && !this.app.quitting) this.app.emit('window-all-closed', electronEvent({}));
    };
    const windows = this.windows;
    this.BrowserWindow = class extends FakeWindow {
      constructor(windowOptions: BrowserWindowConstructorOptions) {
        super(windowOptions, windowClosed);
        windows.push(this);
      }
    };
  }
}
