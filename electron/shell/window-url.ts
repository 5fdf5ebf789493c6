/**
 * What the window loads. Normally the hub's own dashboard; under `npm run dev` the renderer's
 * dev server (hot reload), told where the hub is. Either way the page gets this launch's
 * token, and the token goes to nothing but this machine.
 */
import { isLoopbackHost } from '../base/access.js';

/** The dev server electron-vite started (`ELECTRON_RENDERER_URL`), or null outside `npm run dev`. */
export function devRendererUrl(env: Record<string, string | undefined>): URL | null {
  const raw = env.ELECTRON_RENDERER_URL;
  if (raw === undefined || raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`ELECTRON_RENDERER_URL is not a URL (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`ELECTRON_RENDERER_URL must be an http(s) URL (got "${raw}")`);
  // The page receives the token: it must be served from this machine.
  if (!isLoopbackHost(url.hostname.replace(/^\[(.*)\]$/, '$1'))) throw new Error(`ELECTRON_RENDERER_URL must be on this machine (got "${raw}")`);
  return url;
}

export function dashboardWindowUrl(hubUrl: string, token: string, devRenderer: URL | null): string {
  const url = new URL(devRenderer ?? hubUrl);
  if (devRenderer !== null) url.searchParams.set('hub', hubUrl);
  url.searchParams.set('token', token);
  return url.toString();
}

/** A URL as messages show it: without the token. */
export function withoutToken(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.delete('token');
    return parsed.toString();
  } catch {
    return url;
  }
}
