/**
 * The dashboard's file server when a file cannot be read after it was found (a rebuild removed it
 * between the stat and the open): the response is cut, and the server keeps serving.
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync, type ReadStream } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, expect, it, vi } from 'vitest';
import { serveDashboard } from '../../electron/hub/static.js';

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, createReadStream: vi.fn(actual.createReadStream) };
});

let server: Server | null = null;
let dir: string | null = null;

afterEach(async () => {
  await new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve())));
  server?.closeAllConnections();
  server = null;
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

/** A GET that resolves with the status and body, or with the error that cut it. */
function getText(port: number, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', (error) => resolve({ error: error.message }));
    });
    request.on('error', (error) => resolve({ error: error.message }));
  });
}

it('cuts the response when the file cannot be read after its stat, and keeps serving', async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-static-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Conclave</title>');
  const dashboardDir = dir;
  server = createServer((request, response) => {
    if (!serveDashboard(request, new URL(request.url ?? '/', 'http://localhost').pathname, response, dashboardDir)) response.end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  vi.mocked(createReadStream).mockImplementationOnce(() => {
    const gone = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
    return new Readable({
      read() {
        this.destroy(gone);
      },
    }) as unknown as ReadStream;
  });
  const cut = await getText(port, '/');
  expect(cut).toHaveProperty('error');

  expect(await getText(port, '/')).toEqual({ status: 200, body: '<!doctype html><title>Conclave</title>' });
});
