/**
 * Lint, and the layering rules of docs/architecture.md: imports only point downwards
 * (renderer -> shared, electron -> shared; shared -> nothing; nobody -> renderer), only
 * the Electron shell imports electron, and inside electron/ each folder imports only the layers
 * below its own (test/layers.js).
 */
import js from '@eslint/js';
import vue from 'eslint-plugin-vue';
import tseslint from 'typescript-eslint';
import { layersPlugin } from './layers.js';

const restrict = (patterns, paths = []) => ['error', { patterns, paths }];
const NODE_BUILTINS = { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'http', 'net', 'crypto', 'url', 'module'], message: 'shared/ is pure: no Node APIs.' };
const ELECTRON = { name: 'electron', message: 'Only electron/main.ts and electron/preload.ts may import electron.' };
const RENDERER = { group: ['**/renderer/**'], message: 'Nothing imports the renderer.' };
const ELECTRON_DIR = { group: ['**/electron/**', '../electron/*', '../../electron/*'], message: 'The renderer and shared/ must not import electron/ (the Node runtime).' };

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    files: ['**/*.ts', '**/*.vue'],
    // TypeScript checks names itself (and knows the DOM and Node globals); see typescript-eslint's docs.
    rules: { 'no-undef': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/html-indent': 'off',
      'vue/multiline-html-element-content-newline': 'off',
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([NODE_BUILTINS, RENDERER, ELECTRON_DIR, { group: ['vue', 'pinia', 'socket.io', 'socket.io-client'], message: 'shared/ depends on nothing.' }], [ELECTRON]),
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'The core never touches timers.' }, { name: 'setInterval', message: 'The core never touches timers.' }, { name: 'performance', message: 'Time is injected.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Randomness is injected and seeded.' }, { object: 'Date', property: 'now', message: 'Time is injected.' }],
    },
  },
  {
    files: ['electron/**/*.ts'],
    ignores: ['electron/main.ts', 'electron/preload.ts'],
    rules: { 'no-restricted-imports': restrict([RENDERER], [ELECTRON]) },
  },
  {
    files: ['electron/**/*.ts'],
    plugins: { layers: layersPlugin },
    rules: { 'layers/no-upward-import': 'error' },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    rules: { 'no-restricted-imports': restrict([NODE_BUILTINS, ELECTRON_DIR], [ELECTRON]) },
  },
);
