/**
 * Two consoles attached to one real agent (in this process): the last one to set faults owns
 * them, and the other lets go instead of setting its own again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentArgs, type AgentSettings } from '../../electron/agent/flags.js';
import { createLogger } from '../../electron/agent/log.js';
import { startAgent, type RunningAgent } from '../../electron/agent/node.js';
import { AttachedCluster } from '../../electron/targets/agents/attached.js';
import { freePorts, sleep, TOKEN } from './support.js';

const FAULT_LEASE_MS = 1_000;

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function oneAgent(): Promise<{ agent: RunningAgent; address: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-consoles-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const [port, http] = await freePorts(2);
  const address = `127.0.0.1:${port}`;
  const members = [{ id: 'n1', address, http: `127.0.0.1:${http}`, supervisor: '127.0.0.1:1' }];
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ algorithm: 'raft', faultLeaseMs: FAULT_LEASE_MS, members }));
  const settings = parseAgentArgs(['--id', 'n1', '--cluster', join(dir, 'cluster.json'), '--data-dir', join(dir, 'data')], { CONCLAVE_CLUSTER_TOKEN: TOKEN }) as AgentSettings;
  const agent = await startAgent(settings, createLogger({}, 'silent'), { supervised: false });
  cleanups.push(() => agent.stop('test over'));
  return { agent, address };
}

async function attach(address: string, consoleId: string): Promise<AttachedCluster> {
  const cluster = await AttachedCluster.open({ addresses: [address], token: TOKEN, consoleId });
  cleanups.push(() => cluster.stop());
  cluster.start();
  return cluster;
}

describe('two consoles on one agent', () => {
  it('the last one to set faults owns them: the other lets go, says so, and stops renewing', async () => {
    const { agent, address } = await oneAgent();
    const a = await attach(address, 'A');
    const b = await attach(address, 'B');
    expect(await a.execute({ type: 'link', latencyMs: 100 })).toEqual({ ok: true });
    await sleep(100);
    expect(await b.execute({ type: 'link', latencyMs: 200 })).toEqual({ ok: true });
    const seen: string[] = [];
    for (let elapsedMs = 0; elapsedMs < 3 * FAULT_LEASE_MS; elapsedMs += 50) {
      await sleep(50);
      const version = agent.status().faults?.version ?? 'none';
      if (seen.at(-1) !== version) seen.push(version);
    }
    expect(seen).toEqual(['B#1']);
    // A no longer shows a fault it does not hold, and says who took over.
    expect(a.snapshot().faults).toEqual([]);
    expect(a.snapshot().target.label).toMatch(/another console took over the network faults \(n1: the fault table in force is version "B#1" \(set by B\)/);
    expect(a.history().filter((event) => event.type === 'heal').at(-1)).toMatchObject({ faultId: null, label: expect.stringContaining('another console took over') });
    expect(b.snapshot().faults.map((fault) => fault.label)).toEqual(['all links: 200 ms']);
    // A detaching leaves B's faults alone.
    await a.stop();
    expect(agent.status().faults?.version).toBe('B#1');
    // A console that sets faults again owns them again.
    const again = await attach(address, 'A');
    expect(await again.execute({ type: 'link', latencyMs: 50 })).toEqual({ ok: true });
    expect(again.snapshot().target.label).not.toMatch(/took over/);
    expect(agent.status().faults?.version).toBe('A#1');
  });
});
