/// <reference types="vite/client" />

interface Window {
  /** Set by the Electron preload; absent in a plain browser. */
  conclaveShell?: { kind: 'electron'; versions: { electron: string; chrome: string } };
}
