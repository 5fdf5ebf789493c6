/**
 * The minimal preload: the dashboard talks to the hub over Socket.IO like any browser, so all
 * it gets here is which shell it runs in and the application menu's actions, by name only
 * (from a fixed list, on one channel). No ipcRenderer, no Node.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { MENU_ACTION_CHANNEL, isMenuAction, type MenuAction } from '../shared/protocol/shell.js';

contextBridge.exposeInMainWorld('conclaveShell', {
  kind: 'electron',
  versions: { electron: process.versions.electron, chrome: process.versions.chrome },
  /** Calls back with each menu action; returns the function that stops listening. */
  onMenuAction(callback: (action: MenuAction) => void): () => void {
    if (typeof callback !== 'function') throw new TypeError('onMenuAction needs a function');
    const listener = (_event: IpcRendererEvent, action: unknown): void => {
      if (isMenuAction(action)) callback(action);
    };
    ipcRenderer.on(MENU_ACTION_CHANNEL, listener);
    return () => {
      ipcRenderer.removeListener(MENU_ACTION_CHANNEL, listener);
    };
  },
});
