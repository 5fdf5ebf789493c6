/**
 * The dashboard's frame rate and main-thread stalls while the leader is killed every 2 s, at 5,
 * 25 and 101 nodes: a built `conclave serve` per size, the dashboard in Chromium (Playwright) at
 * 1400×900, and for each size a run of DURATION_S seconds in which the "K" shortcut kills the
 * leader every 2 s and "H" heals 1 s later. Frames are counted with requestAnimationFrame; stalls
 * are the Long Tasks API's entries (main-thread tasks over 50 ms).
 *
 *   npm run bench:ui                       # 5, 25 and 101 nodes, 30 s each
 *   npm run bench:ui -- --nodes 101 --seconds 20
 *
 * Prints a Markdown table (docs/performance.md keeps the figures, with the machine and the date).
 */
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { chromiumLaunchOptions } from '../test/e2e/browser.js';
import { BUILT_CLI, startBuilt, stopProcess } from '../test/support/processes.js';

const { values } = parseArgs({ options: { nodes: { type: 'string', multiple: true }, seconds: { type: 'string', default: '30' } } });
const sizes = (values.nodes ?? ['5', '25', '101']).map(Number);
const durationS = Number(values.seconds);

interface Figures {
  nodes: number;
  seconds: number;
  fps: number;
  /** The slowest second's frame count. */
  worstSecondFps: number;
  longTasks: number;
  longTaskMsTotal: number;
  longTaskMsMax: number;
  kills: number;
  leaderAtEnd: string;
}

async function measure(nodes: number): Promise<Figures> {
  const server = await startBuilt(BUILT_CLI, ['serve', '--port', '0', '--seed', '7', '--nodes', String(nodes)]);
  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
    await page.getByTestId('headline').getByTestId('leader-id').waitFor({ timeout: 30_000 });
    if (process.env.BENCH_TAB) await page.getByRole('tab', { name: new RegExp(`^${process.env.BENCH_TAB}`) }).click();
    await page.waitForTimeout(2_000);
    // A string, not a function: the bundler's helpers (tsx names functions) do not exist in the page.
    await page.evaluate(`(() => {
      const state = { frames: [], longTasks: [] };
      window.bench = state;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) state.longTasks.push(entry.duration);
      }).observe({ type: 'longtask', buffered: false });
      const frame = (now) => {
        state.frames.push(now);
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    })()`);
    let kills = 0;
    const started = Date.now();
    await page.locator('body').focus();
    while (Date.now() - started < durationS * 1_000) {
      await page.keyboard.press('k');
      kills += 1;
      await page.waitForTimeout(1_000);
      await page.keyboard.press('h');
      await page.waitForTimeout(1_000);
    }
    const raw = (await page.evaluate('window.bench')) as { frames: number[]; longTasks: number[] };
    const first = raw.frames[0] ?? 0;
    const last = raw.frames.at(-1) ?? first;
    const seconds = (last - first) / 1_000;
    const perSecond = new Map<number, number>();
    for (const t of raw.frames) perSecond.set(Math.floor((t - first) / 1_000), (perSecond.get(Math.floor((t - first) / 1_000)) ?? 0) + 1);
    const whole = [...perSecond.entries()].filter(([second]) => second < Math.floor(seconds)).map(([, count]) => count);
    return {
      nodes,
      seconds: Math.round(seconds),
      fps: Math.round((raw.frames.length / seconds) * 10) / 10,
      worstSecondFps: Math.min(...whole),
      longTasks: raw.longTasks.length,
      longTaskMsTotal: Math.round(raw.longTasks.reduce((sum, ms) => sum + ms, 0)),
      longTaskMsMax: Math.round(Math.max(0, ...raw.longTasks)),
      kills,
      leaderAtEnd: (await page.getByTestId('headline').textContent())?.replace(/\s+/g, ' ').trim().slice(0, 40) ?? '',
    };
  } finally {
    await browser.close();
    await stopProcess(server.process);
  }
}

const rows: Figures[] = [];
for (const nodes of sizes) {
  const figures = await measure(nodes);
  rows.push(figures);
  console.error(`${nodes} nodes: ${JSON.stringify(figures)}`);
}
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
console.log('');
console.log('| nodes | seconds | kills | frames/s | worst second | long tasks | long-task ms (total) | longest task ms |');
console.log('|------:|--------:|------:|---------:|-------------:|-----------:|---------------------:|----------------:|');
for (const row of rows) {
  console.log(`| ${row.nodes} | ${row.seconds} | ${row.kills} | ${row.fps} | ${row.worstSecondFps} | ${row.longTasks} | ${row.longTaskMsTotal} | ${row.longTaskMsMax} |`);
}
