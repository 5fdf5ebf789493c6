/** `serve` refuses flags the hub would refuse before it starts the cluster they come with. */
import { describe, expect, it } from 'vitest';
import { parseServeArgs, type ServeOptions } from '../../electron/cli/flags.js';
import { startServe } from '../../electron/serve.js';

describe('startServe', () => {
  it('refuses a non-loopback host without a token before it opens the cluster', async () => {
    // Opening this playground would fail on its binary: the refusal must come first.
    const options = parseServeArgs(['--host', '0.0.0.0', '--port', '0', '--etcd-playground', '3', '--etcd-bin', '/nonexistent/etcd'], {}) as ServeOptions;
    await expect(startServe(options)).rejects.toThrow('refusing to listen on 0.0.0.0 without a token');
  });

  it('refuses an allowed origin that is not one before it opens the cluster', async () => {
    const options = parseServeArgs(['--port', '0', '--etcd-playground', '3', '--etcd-bin', '/nonexistent/etcd'], {}) as ServeOptions;
    await expect(startServe({ ...options, allowedOrigins: ['*'] })).rejects.toThrow('allowedOrigins[0] must be an http(s) origin');
  });
});
