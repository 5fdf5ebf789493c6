/**
 * The headless runtime: an embedded cluster on real (scalable) time plus the hub. `npm run serve`
 * and the Electron main process both start exactly this.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ELECTION_CONFIG } from '../shared/core/election.js';
import type { ServeOptions } from './cli/flags.js';
import { startHub, type Hub } from './hub/hub.js';
import { EmbeddedRuntime } from './runtime/embedded.js';

export interface Served {
  hub: Hub;
  runtime: EmbeddedRuntime;
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
  const runtime = new EmbeddedRuntime({
    algorithm: options.algorithm,
    nodes: options.nodes,
    config: DEFAULT_ELECTION_CONFIG,
    seed: options.seed,
  });
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
    runtime.stop();
    throw error;
  }
  runtime.start();
  const dashboardUrl = options.token ? `${hub.url}?token=${encodeURIComponent(options.token)}` : hub.url;
  return {
    hub,
    runtime,
    dashboardUrl,
    stop: async () => {
      runtime.stop();
      await hub.close();
    },
  };
}
