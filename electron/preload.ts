/**
 * The minimal preload: the dashboard talks to the hub over Socket.IO like any browser, so the
 * only thing exposed is which shell it runs in. No ipcRenderer, no Node.
 */
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('conclaveShell', {
  kind: 'electron',
  versions: { electron: process.versions.electron, chrome: process.versions.chrome },
});
