/** Serves the built dashboard: fixed content types, no directory escapes, cache rules for hashed assets. */
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The dashboard a hub serves talks to that hub alone: `connect-src 'self'` (its WebSocket included, as CSP 3 says). */
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'",
};

export function sendText(response: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store' });
  response.end(text);
}

/** Answers a GET for the dashboard at `urlPath` (the request's parsed path); returns false when it is not a dashboard file. */
export function serveDashboard(request: IncomingMessage, urlPath: string, response: ServerResponse, dashboardDir: string | null): boolean {
  const pathname = decodePath(urlPath);
  if (pathname === null) {
    sendText(response, 400, 'Bad request path');
    return true;
  }
  if (dashboardDir === null) {
    if (pathname !== '/' && pathname !== '/index.html') return false;
    sendText(
      response,
      503,
      'The Conclave dashboard has not been built. Run "npm run build" (or "npm run serve", which builds first) and reload.',
    );
    return true;
  }
  const relative = pathname === '/' ? 'index.html' : pathname.slice(1);
  const file = normalize(join(dashboardDir, relative));
  if (!file.startsWith(dashboardDir.endsWith(sep) ? dashboardDir : dashboardDir + sep)) return false;
  let size: number;
  try {
    const stats = statSync(file);
    if (!stats.isFile()) return false;
    size = stats.size;
  } catch {
    return false;
  }
  const isHashedAsset = relative.startsWith('assets/');
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': size,
    'Cache-Control': isHashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (request.method === 'HEAD') {
    response.end();
  } else {
    // The file can vanish between the stat and the open (a rebuild while serving): the response is cut, the hub lives on.
    pipeline(createReadStream(file), response, () => {});
  }
  return true;
}

function decodePath(pathname: string): string | null {
  try {
    const decoded = decodeURIComponent(pathname);
    return decoded.includes('\0') ? null : decoded;
  } catch {
    return null;
  }
}
