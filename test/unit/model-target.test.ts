/** The base of every target: what it does once for all of them. */
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { EmbeddedTarget } from '../../electron/targets/embedded/embedded.js';

describe('a target stopping', () => {
  it('stops once when asked twice at the same time: the second call waits for the first', async () => {
    const target = new EmbeddedTarget({ algorithm: 'raft', nodes: 3, config: DEFAULT_ELECTION_CONFIG, seed: 1 });
    target.start();
    const close = vi.spyOn(target.cluster, 'stop');
    const first = target.stop();
    const second = target.stop();
    await Promise.all([first, second]);
    expect(close).toHaveBeenCalledTimes(1);
    expect(await target.execute({ type: 'kill', nodeId: 'n1' })).toEqual({ ok: false, error: 'the cluster is stopped' });
  });
});
