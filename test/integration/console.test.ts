/** Switching the cluster a hub serves: `open` builds the new one first, then resets every client to it. */
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../../electron/hub/hub.js';
import { TargetSwitch } from '../../electron/targets/switch.js';
import { openTarget } from '../../electron/targets/open.js';
import { connectControl, connected, waitFor, type ControlClient } from './harness.js';

let hub: Hub | null = null;
let runtime: TargetSwitch | null = null;
let client: ControlClient | null = null;

afterEach(async () => {
  client?.disconnect();
  await runtime?.stop();
  await hub?.close();
  hub = null;
  runtime = null;
  client = null;
});

async function serve() {
  const context = { seed: 3 };
  runtime = new TargetSwitch(await openTarget({ kind: 'embedded', nodes: 5 }, context), (spec) => openTarget(spec, context));
  hub = await startHub({ host: '127.0.0.1', port: 0, token: null, dashboardDir: null, target: runtime });
  runtime.start();
  const control = connectControl(hub.url);
  client = control.socket;
  await connected(control.socket);
  await waitFor('a leader', () => control.latest()?.leader);
  return control;
}

describe('opening another cluster', () => {
  it('resets every client to the new run, starting from an empty history', async () => {
    const control = await serve();
    const historiesBefore = control.received.order.filter((kind) => kind === 'history').length;
    const ack = await control.socket.timeout(4_000).emitWithAck('command', { type: 'open', target: { kind: 'embedded', algorithm: 'bully', nodes: 3 } });
    expect(ack).toEqual({ ok: true });
    await waitFor('the new cluster', () => control.latest()?.nodes.length === 3 && control.latest()!.leader?.id === 'n3');
    expect(control.received.order.filter((kind) => kind === 'history')).toHaveLength(historiesBefore + 1);
    expect(control.received.history).toEqual([]);
    const latest = control.latest()!;
    expect(latest.algorithm).toBe('bully');
    expect(latest.target).toMatchObject({ kind: 'embedded', label: 'embedded 3-node Bully cluster', faultLeaseMs: null });
  });

  it('a cluster that cannot be opened leaves the current one in place, saying why', async () => {
    const control = await serve();
    const ack = await control.socket.timeout(4_000).emitWithAck('command', { type: 'open', target: { kind: 'embedded', nodes: 500 } });
    expect(ack).toEqual({ ok: false, error: 'an embedded cluster has 1 to 101 nodes (got 500)' });
    expect(control.latest()!.nodes).toHaveLength(5);
  });
});
