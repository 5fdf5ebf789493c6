/** Where this checkout (or installed app) is: the folder with package.json above the running module. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function findAppRoot(from = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (let depth = 0; depth < 6; depth++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

/** The built plain-Node CLI (out/main/cli.js), which agent processes run; null when not built. */
export function findBuiltCli(root = findAppRoot()): string | null {
  if (root === null) return null;
  const cli = join(root, 'out', 'main', 'cli.js');
  return existsSync(cli) ? cli : null;
}
