/**
 * A playground whose start fails part-way leaves nothing behind: the peer proxies that did
 * listen are closed when another could not.
 */
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PeerProxy } from '../../electron/etcd/peer-proxy.js';
import { startEtcdPlayground } from '../../electron/etcd/playground.js';
import { ETCD_BIN, ETCD_SKIP_REASON } from '../support/etcd.js';

/** Whether anything accepts connections on a port of 127.0.0.1. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe.skipIf(ETCD_SKIP_REASON !== null)('an etcd playground that fails to start', () => {
  it('closes the peer proxies that listened when another could not', async () => {
    const listen = PeerProxy.listen.bind(PeerProxy);
    const listened: number[] = [];
    let calls = 0;
    vi.spyOn(PeerProxy, 'listen').mockImplementation(async (options, port) => {
      if (++calls === 2) throw new Error('listen EADDRINUSE: address already in use');
      const proxy = await listen(options, port);
      listened.push(Number(new URL(proxy.url).port));
      return proxy;
    });
    const dirsBefore = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('conclave-etcd-')));
    await expect(startEtcdPlayground({ kind: 'etcd-playground', members: 3 }, { etcdBin: ETCD_BIN })).rejects.toThrow('EADDRINUSE');
    // Any proxy still on its way has had time to listen.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(listened).toHaveLength(2);
    for (const port of listened) expect(await listening(port), `port ${port}`).toBe(false);
    const left = readdirSync(tmpdir()).filter((name) => name.startsWith('conclave-etcd-') && !dirsBefore.has(name));
    expect(left.filter((name) => existsSync(`${tmpdir()}/${name}`))).toEqual([]);
  });
});
