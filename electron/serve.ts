/**
 * The headless runtime: the cluster the console serves (embedded by default) plus the hub.
 * `npm run serve` and the Electron main process both start exactly this.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findAppRoot } from './app-root.js';
import type { ServeOptions } from './cli/flags.js';
import { hubAccessPolicy, startHub, type Hub } from './hub/hub.js';
import { ConsoleRuntime } from './runtime/console.js';
import { openTarget } from './runtime/targets.js';

export interface Served {
  hub: Hub;
  runtime: ConsoleRuntime;
  /** The dashboard URL (never with the token: the dashboard asks for it). */
  dashboardUrl: string;
  stop(): Promise<void>;
}

/** The built dashboard (out/renderer), or null when it is not built. */
export function findDashboardDir(root = findAppRoot()): string | null {
  if (root === null) return null;
  const built = join(root, 'out', 'renderer');
  return existsSync(join(built, 'index.html')) ? resolve(built) : null;
}

export interface StartServeOptions extends ServeOptions {
  /** Browser origins besides the hub's own that may connect: the dev server under `npm run dev`. */
  allowedOrigins?: string[];
}

export async function startServe(options: StartServeOptions): Promise<Served> {
  // Refused flags are said at once, before a cluster (maybe etcd members) is started for nothing.
  hubAccessPolicy(options);
  const context = { seed: options.seed, dataDir: options.dataDir, tls: options.tls, etcdBin: options.etcdBin, crashHints: options.crashHints };
  const initial = await openTarget(options.cluster, context);
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
  const dashboardUrl = hub.url;
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
