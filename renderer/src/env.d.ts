/// <reference types="vite/client" />

interface Window {
  /** Set by the Electron preload (electron/preload.ts); absent in a plain browser. */
  conclaveShell?: {
    kind: 'electron';
    versions: { electron: string; chrome: string };
    /** Calls back with each application-menu action's name; returns the function that stops listening. */
    onMenuAction(callback: (action: unknown) => void): () => void;
  };
}
