/**
 * The console's switch between clusters when it stops during an open: what the open builds is
 * stopped too, and never started.
 */
import { describe, expect, it } from 'vitest';
import { TargetSwitch } from '../../electron/targets/switch.js';
import type { ManagedTarget } from '../../electron/targets/target.js';
import type { ClusterSnapshot } from '../../shared/protocol/types.js';

/** A target that records what was done to it. */
function fakeTarget(name: string, log: string[]): ManagedTarget {
  return {
    snapshot: () => ({}) as ClusterSnapshot,
    history: () => [],
    execute: () => ({ ok: true }),
    inspect: () => null,
    timers: () => [],
    now: () => 0,
    subscribe: () => () => {},
    start: () => void log.push(`${name} start`),
    stop: () => void log.push(`${name} stop`),
  };
}

describe('TargetSwitch', () => {
  it('stops the cluster an open under way builds when the console stops meanwhile, and does not start it', async () => {
    const log: string[] = [];
    let opened!: (target: ManagedTarget) => void;
    const runtime = new TargetSwitch(fakeTarget('first', log), () => new Promise((resolve) => (opened = resolve)));
    runtime.start();
    const answer = runtime.execute({ type: 'open', target: { kind: 'embedded' } });
    const stopped = runtime.stop();
    opened(fakeTarget('second', log));
    await stopped;
    expect(await answer).toEqual({ ok: false, error: 'the console stopped while the cluster was being opened' });
    expect(log).toEqual(['first start', 'second stop', 'first stop']);
    expect(await runtime.execute({ type: 'open', target: { kind: 'embedded' } })).toEqual({ ok: false, error: 'the console is stopping' });
  });

  it('waits for an open that has replaced the cluster, and stops the new one', async () => {
    const log: string[] = [];
    let previousStopped!: () => void;
    const first = { ...fakeTarget('first', log), stop: () => new Promise<void>((resolve) => (previousStopped = () => (log.push('first stop'), resolve()))) };
    const runtime = new TargetSwitch(first, async () => fakeTarget('second', log));
    const answer = runtime.execute({ type: 'open', target: { kind: 'embedded' } });
    await new Promise((resolve) => setTimeout(resolve, 0));
    const stopped = runtime.stop();
    previousStopped();
    await stopped;
    expect(await answer).toEqual({ ok: true });
    expect(log).toEqual(['first stop', 'second start', 'second stop']);
  });
});
