/**
 * What an agent advertises about itself: the facts its cluster file lists for it, and what it
 * measures every few seconds (the 1-minute load average, free memory, how long it has run, its
 * version), rounded so that the values stay small on the wire and in the status. The
 * preferred-leader rule (docs/operators.md) can read any numeric one.
 */
import { freemem, loadavg } from 'node:os';
import type { Capabilities } from '../../shared/core/leadership.js';

/** How often an agent measures itself. */
export const CAPABILITY_REFRESH_MS = 5_000;

export interface Measured {
  loadavg: number;
  freememMb: number;
  uptimeS: number;
  version: string;
}

export function measure(uptimeMs: number, version: string): Measured {
  return {
    loadavg: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    freememMb: Math.round(freemem() / 2 ** 20),
    uptimeS: Math.floor(uptimeMs / 1_000),
    version: version.slice(0, 64),
  };
}

/** The file's facts with the measured ones over them (a measured name wins). */
export function advertised(fromFile: Capabilities, measured: Measured): Capabilities {
  return { ...fromFile, ...measured };
}
