import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      target: 'node20',
      rolldownOptions: {
        input: {
          // Electron shell (the only entry that imports electron).
          main: resolve(root, 'electron/main.ts'),
          // Plain Node: `conclave serve|...` and the `npm start` launcher.
          cli: resolve(root, 'electron/cli/bin.ts'),
          start: resolve(root, 'electron/start.ts'),
          // The --on-elected command's watchdog, its own small process (electron/agent/hook.ts).
          'hook-watchdog': resolve(root, 'electron/agent/hook-watchdog.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rolldownOptions: {
        input: { preload: resolve(root, 'electron/preload.ts') },
        // Sandboxed preloads must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [vue()],
    build: {
      rolldownOptions: {
        input: resolve(root, 'renderer/index.html'),
      },
    },
  },
});
