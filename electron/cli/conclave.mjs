#!/usr/bin/env node
// `npx conclave ...` in a checkout: runs the built CLI (out/main/cli.js), building it first
// with electron-vite when out/ is missing. Plain JavaScript: it runs before anything is built.
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../../out/main/cli.js', import.meta.url));

if (!existsSync(cli)) {
  console.error('conclave: out/ is missing; building it first (electron-vite build)');
  const electronVite = join(dirname(createRequire(import.meta.url).resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
  const build = spawnSync(process.execPath, [electronVite, 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0 || !existsSync(cli)) {
    console.error('conclave: the build failed; run "npm run build" to see why');
    process.exit(1);
  }
}

await import(pathToFileURL(cli).href);
