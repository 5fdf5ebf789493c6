/**
 * Resident memory of `conclave serve` under churn (the leader killed every 2 s, restarted a second
 * later), at 5, 25 and 101 nodes; and of one idle agent process next to one idle etcd member.
 */
import { spawn } from 'node:child_process';
import { ETCD_BIN } from '../test/support/etcd.js';
import { agents, etcd, stopAll, type System } from './failover.js';
import { poll, progress, sleep } from './lib.js';
import { rssMiB, serveAndWatch } from './served.js';

export interface IdleMemoryRow {
  system: string;
  processes: number;
  /** Mean resident memory of one process after the cluster idled. */
  rssMiB: number;
}

/** The baseline: a Node process that loads nothing and only keeps a timer. */
const PLAIN_NODE = 'plain Node process (baseline)';

/** Three-node clusters left alone for `idleS`, then each process measured, after a plain Node process as the baseline. */
export async function benchIdleMemory(idleS: number): Promise<IdleMemoryRow[]> {
  const rows: IdleMemoryRow[] = [];
  const systems: System[] = [];
  const plain = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const killPlain = (): void => void plain.kill('SIGKILL');
  process.once('exit', killPlain);
  try {
    systems.push(await agents(3, true, true));
    if (ETCD_BIN !== null) systems.push(await etcd(3, true));
    await sleep(idleS * 1000);
    rows.push({ system: PLAIN_NODE, processes: 1, rssMiB: rssMiB(plain.pid!) });
    for (const system of systems) {
      const pids = system.pids();
      rows.push({ system: system.name.replace(', crash hints', ''), processes: pids.length, rssMiB: pids.reduce((sum, pid) => sum + rssMiB(pid), 0) / pids.length });
      progress(`idle memory: ${rows.at(-1)!.system} ${rows.at(-1)!.rssMiB.toFixed(0)} MiB per process`);
    }
  } finally {
    killPlain();
    process.removeListener('exit', killPlain);
    await stopAll(systems);
  }
  return rows;
}

export interface ServeMemoryRow {
  nodes: number;
  churnS: number;
  kills: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  refused: string | null;
}

export async function benchServeMemory(nodeCounts: readonly number[], churnS: number): Promise<ServeMemoryRow[]> {
  const rows: ServeMemoryRow[] = [];
  for (const nodes of nodeCounts) {
    let watched;
    try {
      watched = await serveAndWatch(['--nodes', String(nodes), '--seed', '5']);
    } catch (error) {
      rows.push({ nodes, churnS, kills: 0, rssStartMiB: NaN, rssEndMiB: NaN, rssMaxMiB: NaN, refused: error instanceof Error ? error.message.split('\n')[0]! : String(error) });
      continue;
    }
    const pid = watched.server.process.pid!;
    const rssStartMiB = rssMiB(pid);
    let rssMaxMiB = rssStartMiB;
    let kills = 0;
    const until = performance.now() + churnS * 1000;
    try {
      while (performance.now() < until) {
        const leader = await poll(() => watched.latest()?.leader ?? null, 20, 10_000);
        if (leader !== null && (await watched.send({ type: 'kill', nodeId: leader.id })).ok) kills += 1;
        await sleep(1_000);
        if (leader !== null) await watched.send({ type: 'restart', nodeId: leader.id });
        await sleep(1_000);
        rssMaxMiB = Math.max(rssMaxMiB, rssMiB(pid));
        if (kills % 30 === 0) progress(`memory, ${nodes} nodes: ${kills} kills, RSS ${rssMiB(pid).toFixed(0)} MiB`);
      }
      rows.push({ nodes, churnS, kills, rssStartMiB, rssEndMiB: rssMiB(pid), rssMaxMiB, refused: null });
    } finally {
      await watched.stop();
    }
  }
  return rows;
}
