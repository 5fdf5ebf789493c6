/**
 * What every benchmark section shares: the machine and run it was measured on, progress on
 * stderr, results written as bench/results/<section>.json. Figures are measurements with their
 * context, never assertions.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const BUILT_CLI = join(ROOT, 'out', 'main', 'cli.js');

export interface RunContext {
  machine: string;
  node: string;
  commit: string;
  date: string;
  command: string;
}

function quiet(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function runContext(command: string): RunContext {
  const cores = cpus();
  // The bench's own output (results and the report) does not make the tree dirty.
  const dirty = quiet('git', ['status', '--porcelain', '--', '.', ':!bench/results', ':!docs/benchmarks.md']) ? ' (with uncommitted changes)' : '';
  return {
    machine: `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    commit: `${quiet('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown'}${dirty}`,
    date: new Date().toISOString(),
    command,
  };
}

export function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export function writeResult(section: string, context: RunContext, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${section}.json`);
  writeFileSync(file, `${JSON.stringify({ section, context, data }, null, 2)}\n`);
  return file;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with another process's clock (the hub's event times). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every `everyMs` until it returns a value, or gives up after `timeoutMs` (null). */
export async function poll<T>(probe: () => Promise<T | null> | T | null, everyMs: number, timeoutMs: number): Promise<T | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = await probe();
    if (value !== null) return value;
    await sleep(everyMs);
  }
  return null;
}

export function ms(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

export function ratio(ours: number, theirs: number): string {
  return Number.isFinite(ours) && Number.isFinite(theirs) && theirs > 0 ? `${(ours / theirs).toFixed(2)}×` : '–';
}

/** A markdown table. */
export function markdownTable(rows: string[][]): string {
  const [head, ...body] = rows;
  return [`| ${head!.join(' | ')} |`, `|${head!.map(() => '---').join('|')}|`, ...body.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}
