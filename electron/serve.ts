/**
 * The headless runtime: the cluster the console serves (embedded by default) plus the hub.
 * `npm run serve` and the Electron main process both start exactly this.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findAppRoot } from './base/app-root.js';
import type { AlgorithmName } from '../shared/core/election.js';
import type { TargetSpec } from '../shared/protocol/types.js';
import type { TlsFiles } from './wire/connection.js';
import { hubAccessPolicy, startHub, type Hub } from './hub/hub.js';
import { TargetSwitch } from './targets/switch.js';
import { openTarget } from './targets/open.js';

export interface ServeOptions {
  host: string;
  port: number;
  nodes: number;
  token: string | null;
  seed: number;
  algorithm: AlgorithmName;
  /** The cluster to serve first: embedded (--nodes), agent processes (--processes) or attached (--attach). */
  cluster: TargetSpec;
  /** --processes: where the agents' data dirs go (kept); a temporary folder otherwise. */
  dataDir: string | null;
  /** --attach: certificate files when the agents use TLS. */
  tls: TlsFiles | null;
  /** --no-crash-hints: a killed embedded node's peers learn of it by timeouts alone. */
  crashHints: boolean;
  /** --etcd-bin: the etcd binary of playgrounds (this one and any the dashboard opens); found on PATH when null. */
  etcdBin: string | null;
}

export interface Served {
  hub: Hub;
  runtime: TargetSwitch;
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
  const runtime = new TargetSwitch(initial, (spec) => openTarget(spec, context));
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
