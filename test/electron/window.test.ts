/** The window's remembered place (validated, fitted to the displays there are) and the URL it loads. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_WINDOW_SIZE,
  parseWindowState,
  placeWindow,
  readWindowState,
  writeWindowState,
  type Rectangle,
  type WindowState,
} from '../../electron/shell/window-state.js';
import { dashboardWindowUrl, devRendererUrl, withoutToken } from '../../electron/shell/window-url.js';

const STATE: WindowState = { x: 100, y: 50, width: 1000, height: 700, maximized: false };

describe('parseWindowState', () => {
  it('reads exactly a window state', () => {
    expect(parseWindowState(JSON.stringify(STATE))).toEqual(STATE);
    expect(parseWindowState(JSON.stringify({ ...STATE, x: -1800, maximized: true }))).toEqual({ ...STATE, x: -1800, maximized: true });
  });

  it.each([
    ['not JSON', '{"x": 1,'],
    ['not an object', '[100, 50, 1000, 700]'],
    ['null', 'null'],
    ['a missing field', JSON.stringify({ x: 1, y: 2, width: 800, height: 600 })],
    ['an extra field', JSON.stringify({ ...STATE, display: 2 })],
    ['a fraction', JSON.stringify({ ...STATE, width: 800.5 })],
    ['a string number', JSON.stringify({ ...STATE, x: '100' })],
    ['a zero size', JSON.stringify({ ...STATE, height: 0 })],
    ['a negative size', JSON.stringify({ ...STATE, width: -800 })],
    ['an absurd coordinate', JSON.stringify({ ...STATE, y: 1e12 })],
    ['a non-boolean maximized', JSON.stringify({ ...STATE, maximized: 'yes' })],
  ])('refuses %s', (_case, text) => {
    expect(parseWindowState(text)).toBeNull();
  });
});

describe('placeWindow', () => {
  const laptop: Rectangle = { x: 0, y: 0, width: 1440, height: 870 };
  const monitor: Rectangle = { x: 1440, y: -200, width: 2560, height: 1400 };

  it('opens at the default size, centred, when nothing is remembered', () => {
    expect(placeWindow(null, [laptop])).toEqual({ ...DEFAULT_WINDOW_SIZE, maximized: false });
  });

  it('restores a place that fits', () => {
    expect(placeWindow(STATE, [laptop, monitor])).toEqual(STATE);
    expect(placeWindow({ ...STATE, x: 2000, y: 0, maximized: true }, [laptop, monitor])).toEqual({ ...STATE, x: 2000, y: 0, maximized: true });
  });

  it('moves a window hanging off the edge back inside the display it is mostly on', () => {
    expect(placeWindow({ ...STATE, x: 1000, y: 400 }, [laptop])).toEqual({ ...STATE, x: 440, y: 170 });
    expect(placeWindow({ ...STATE, x: 3500, y: -300 }, [laptop, monitor])).toEqual({ ...STATE, x: 3000, y: -200 });
  });

  it('shrinks a window larger than its display, but not below the minimum size', () => {
    expect(placeWindow({ ...STATE, x: 0, y: 0, width: 3000, height: 2000 }, [laptop])).toEqual({ x: 0, y: 0, width: 1440, height: 870, maximized: false });
    expect(placeWindow({ ...STATE, width: 200, height: 100 }, [laptop])).toMatchObject({ width: 720, height: 520 });
  });

  it('centres on the primary display a window whose monitor has gone', () => {
    expect(placeWindow({ ...STATE, x: 5000, y: 100 }, [laptop])).toEqual({ width: 1000, height: 700, maximized: false });
  });
});

describe('the window state file', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('round-trips, creating its folder, and leaves no temporary file behind', () => {
    dir = mkdtempSync(join(tmpdir(), 'conclave-window-'));
    const file = join(dir, 'user-data', 'window-state.json');
    expect(readWindowState(file)).toBeNull();
    writeWindowState(file, STATE);
    expect(readWindowState(file)).toEqual(STATE);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(STATE);
    expect(readdirSync(join(dir, 'user-data'))).toEqual(['window-state.json']);
  });

  it('reads a damaged file as no state', () => {
    dir = mkdtempSync(join(tmpdir(), 'conclave-window-'));
    const file = join(dir, 'window-state.json');
    writeFileSync(file, '{"x": 100, "y": 5');
    expect(readWindowState(file)).toBeNull();
  });
});

describe('the window URL', () => {
  it("is the hub's dashboard with the token", () => {
    expect(dashboardWindowUrl('http://127.0.0.1:4100/', 'abc+/=', null)).toBe('http://127.0.0.1:4100/?token=abc%2B%2F%3D');
  });

  it('is the dev server told where the hub is, under npm run dev', () => {
    const url = new URL(dashboardWindowUrl('http://127.0.0.1:4100/', 'tok-123456', new URL('http://localhost:5173')));
    expect(url.origin).toBe('http://localhost:5173');
    expect(url.searchParams.get('hub')).toBe('http://127.0.0.1:4100/');
    expect(url.searchParams.get('token')).toBe('tok-123456');
  });

  it('takes the dev server from ELECTRON_RENDERER_URL only when it is an http(s) URL on this machine', () => {
    expect(devRendererUrl({})).toBeNull();
    expect(devRendererUrl({ ELECTRON_RENDERER_URL: '' })).toBeNull();
    expect(devRendererUrl({ ELECTRON_RENDERER_URL: 'http://localhost:5173' })?.origin).toBe('http://localhost:5173');
    expect(devRendererUrl({ ELECTRON_RENDERER_URL: 'https://[::1]:5173' })?.origin).toBe('https://[::1]:5173');
    expect(() => devRendererUrl({ ELECTRON_RENDERER_URL: 'localhost:5173' })).toThrow('must be an http(s) URL');
    expect(() => devRendererUrl({ ELECTRON_RENDERER_URL: 'not a url' })).toThrow('ELECTRON_RENDERER_URL is not a URL');
    expect(() => devRendererUrl({ ELECTRON_RENDERER_URL: 'file:///tmp/index.html' })).toThrow('must be an http(s) URL');
    expect(() => devRendererUrl({ ELECTRON_RENDERER_URL: 'http://192.168.1.20:5173' })).toThrow('must be on this machine');
  });

  it('is shown in messages without the token', () => {
    expect(withoutToken('http://localhost:5173/?hub=http%3A%2F%2F127.0.0.1%3A4100%2F&token=secret-1')).toBe('http://localhost:5173/?hub=http%3A%2F%2F127.0.0.1%3A4100%2F');
  });
});
