/**
 * The built preload (out/preload/preload.cjs) in a bare context with a fake of the electron
 * API it uses: what the page gets is the allow-list, and menu actions reach it by name only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import type { ContextBridge, IpcRenderer, IpcRendererEvent } from 'electron';
import { describe, expect, it } from 'vitest';
import { MENU_ACTION_CHANNEL, type MenuAction } from '../../shared/protocol/shell.js';

const BUILT_PRELOAD = fileURLToPath(new URL('../../out/preload/preload.cjs', import.meta.url));

type IpcListener = Parameters<IpcRenderer['on']>[1];

interface ShellApi {
  kind: string;
  versions: { electron: string; chrome: string };
  onMenuAction(callback: (action: MenuAction) => void): () => void;
}

function loadPreload() {
  if (!existsSync(BUILT_PRELOAD)) throw new Error(`${BUILT_PRELOAD} is missing: run "npm run build" first`);
  const exposed = new Map<string, unknown>();
  const listeners = new Map<string, IpcListener[]>();
  const required: string[] = [];
  const contextBridge: Pick<ContextBridge, 'exposeInMainWorld'> = {
    exposeInMainWorld: (apiKey: string, api: unknown) => void exposed.set(apiKey, api),
  };
  const ipcRenderer = {
    on: (channel: Parameters<IpcRenderer['on']>[0], listener: IpcListener) => void listeners.set(channel, [...(listeners.get(channel) ?? []), listener]),
    removeListener: (channel: Parameters<IpcRenderer['removeListener']>[0], listener: IpcListener) =>
      void listeners.set(channel, (listeners.get(channel) ?? []).filter((known) => known !== listener)),
  };
  runInNewContext(readFileSync(BUILT_PRELOAD, 'utf8'), {
    require: (id: string) => {
      required.push(id);
      if (id !== 'electron') throw new Error(`a sandboxed preload cannot require ${id}`);
      return { contextBridge, ipcRenderer };
    },
    process: { versions: { electron: '45.5.0', chrome: '142.0.0.0' } },
  });
  /** The main process sending on a channel, as webContents.send does. */
  const send = (channel: string, ...args: unknown[]): void => {
    for (const listener of listeners.get(channel) ?? []) listener({} as IpcRendererEvent, ...args);
  };
  return { exposed, listeners, required, send };
}

describe('the preload (built)', () => {
  it('exposes only which shell this is and a way to hear menu actions', () => {
    const { exposed, required } = loadPreload();
    expect([...exposed.keys()]).toEqual(['conclaveShell']);
    const api = exposed.get('conclaveShell') as ShellApi;
    expect(Object.keys(api)).toEqual(['kind', 'versions', 'onMenuAction']);
    expect(api.kind).toBe('electron');
    expect(api.versions).toEqual({ electron: '45.5.0', chrome: '142.0.0.0' });
    expect(required).toEqual(['electron']);
  });

  it('passes on menu actions from the fixed list, by name alone, on one channel', () => {
    const { exposed, listeners, send } = loadPreload();
    const heard: unknown[][] = [];
    const stop = (exposed.get('conclaveShell') as ShellApi).onMenuAction((...args: unknown[]) => heard.push(args));
    expect([...listeners.keys()]).toEqual([MENU_ACTION_CHANNEL]);
    send(MENU_ACTION_CHANNEL, 'heal-all');
    send(MENU_ACTION_CHANNEL, 'kill-leader', 'extra');
    send(MENU_ACTION_CHANNEL, 'format-disk');
    send(MENU_ACTION_CHANNEL, { action: 'heal-all' });
    send('some-other-channel', 'heal-all');
    expect(heard).toEqual([['heal-all'], ['kill-leader']]);
    stop();
    send(MENU_ACTION_CHANNEL, 'toggle-help');
    expect(heard).toHaveLength(2);
    expect(listeners.get(MENU_ACTION_CHANNEL)).toEqual([]);
  });

  it('refuses a callback that is not a function', () => {
    const { exposed } = loadPreload();
    const api = exposed.get('conclaveShell') as { onMenuAction(callback: unknown): unknown };
    expect(() => api.onMenuAction('alert(1)')).toThrow('onMenuAction needs a function');
  });
});
