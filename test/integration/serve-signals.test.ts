/**
 * `conclave serve --etcd-playground 3` stopped by a signal while the playground is still starting:
 * every etcd member it started dies with it, and its temporary folder goes. (Node runs no 'exit'
 * handler when a signal it does not handle ends the process.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ETCD_BIN, ETCD_SKIP_REASON } from '../support/etcd.js';
import { APP_ROOT } from '../support/processes.js';
import { waitFor } from './harness.js';

/** The pids of `parent`'s children that run `command` (Linux: from /proc). */
function childrenOf(parent: number, command: string): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) children.push(Number(entry));
    } catch {
      // It exited while we looked.
    }
  }
  return children;
}

/** Whether `pid` runs (a zombie does not: its parent died and nobody reaped it yet). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe.skipIf(ETCD_SKIP_REASON !== null || process.platform !== 'linux')('serve stopped by a signal while its etcd playground starts', () => {
  it.each(['SIGTERM', 'SIGHUP'] as const)('%s: kills every etcd member and removes the temporary folder', async (signal) => {
    const temp = mkdtempSync(join(tmpdir(), 'conclave-signals-'));
    let serve: ChildProcess | null = null;
    let members: number[] = [];
    try {
      serve = spawn(process.execPath, ['--import', 'tsx', 'electron/cli/bin.ts', 'serve', '--port', '0', '--etcd-playground', '3', '--etcd-bin', ETCD_BIN!], {
        cwd: APP_ROOT,
        env: { ...process.env, TMPDIR: temp },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      serve.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      serve.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => serve!.once('exit', (code) => resolve(code)));
      const pid = serve.pid!;
      members = await waitFor('3 etcd members started', () => {
        const etcd = childrenOf(pid, 'etcd');
        return etcd.length === 3 && etcd;
      }, 20_000);
      // Frozen members elect no leader: the start stays under way however fast etcd is.
      for (const member of members) process.kill(member, 'SIGSTOP');
      expect(readdirSync(temp).filter((name) => name.startsWith('conclave-etcd-'))).toHaveLength(1);
      expect(output).not.toContain('dashboard at');
      serve.kill(signal);
      const code = await Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 10_000))]);
      // Exited through process.exit, as a shell reports a signal's end, so that its exit handlers ran.
      expect(code, output).toBe(128 + constants.signals[signal]);
      await waitFor('every etcd member gone', () => members.every((member) => !alive(member)), 5_000);
      expect(readdirSync(temp).filter((name) => name.startsWith('conclave-etcd-'))).toEqual([]);
    } finally {
      if (serve !== null && serve.exitCode === null && serve.signalCode === null) {
        const gone = new Promise((resolve) => serve!.once('exit', resolve));
        serve.kill('SIGKILL');
        await gone;
      }
      for (const member of members) if (alive(member)) process.kill(member, 'SIGKILL');
      rmSync(temp, { recursive: true, force: true });
    }
  });
});
