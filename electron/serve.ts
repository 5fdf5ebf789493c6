/**
 * The headless runtime: the cluster the console serves (embedded by default) plus the hub.
 * `npm run serve` and the Electron main process both start exactly this.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServeOptions } from './cli/flags.js';
import { startHub, type Hub } from './hub/hub.js';
import { ConsoleRuntime } from './runtime/console.js';
import { openTarget } from './runtime/targets.js';

export interface Served {
  hub: Hub;
  runtime: ConsoleRuntime;
  /** The dashboard URL, with the token when one is required. */
  dashboardUrl: string;
  stop(): Promise<void>;
}

/** The built dashboard (out/renderer), found from the repository root above this module. */
export function findDashboardDir(from = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (let depth = 0; depth < 6; depth++) {
    if (existsSync(join(dir, 'package.json'))) {
      const built = join(dir, 'out', 'renderer');
      return existsSync(join(built, 'index.html')) ? resolve(built) : null;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

export interface StartServeOptions extends ServeOptions {
  /** Browser origins besides the hub's own that may connect: the dev server under `npm run dev`. */
  allowedOrigins?: string[];
}

export async function startServe(options: StartServeOptions): Promise<Served> {
  const context = { seed: options.seed };
  const initial = await openTarget({ kind: 'embedded', algorithm: options.algorithm, nodes: options.nodes }, context);
  const runtime = new ConsoleRuntime(initial, (spec) => openTarget(spec, context));
  let hub: Hub;
  try {
    hub = await startHub({
      target: runtime,
      host: options.host,
      port: options.port,
      token: options.token,
      dashboardDir: findDashboardDir(),
      allowedOrigins: options.allowedOrigins,
    });
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  runtime.start();
  const dashboardUrl = options.token ? `${hub.url}?token=${encodeURIComponent(options.token)}` : hub.url;
  return {
    hub,
    runtime,
    dashboardUrl,
    stop: async () => {
      await runtime.stop();
      await hub.close();
    },
  };
}
