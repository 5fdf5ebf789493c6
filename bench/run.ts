/**
 * `npm run bench`: every measurement, written to bench/results/<section>.json and rendered into
 * docs/benchmarks.md with the machine, the command, the commit and the date. Nothing here is a
 * test assertion; figures are compared as ratios measured in the same run.
 *
 *   npm run bench                        every section (about an hour on 2 cores)
 *   npm run bench -- --quick             fewer trials and rounds (a few minutes), for a look
 *   npm run bench -- --only figure16,hub one or more sections: failover, figure16, sim, hub, memory
 */
import { parseArgs } from 'node:util';
import { benchFailover } from './failover.js';
import { benchFigure16 } from './figure16.js';
import { benchHubLatency } from './hub.js';
import { runContext, progress, writeResult } from './lib.js';
import { benchIdleMemory, benchServeMemory } from './memory.js';
import { writeReport } from './report.js';
import { benchSimSpeed } from './sim-speed.js';

const SECTIONS = ['failover', 'figure16', 'sim', 'hub', 'memory'] as const;
type Section = (typeof SECTIONS)[number];

const USAGE = `Usage: npm run bench [-- --quick] [-- --only ${SECTIONS.join(',')}]`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const only = values.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !(SECTIONS as readonly string[]).includes(name)) ?? [];
  if (unknown.length > 0) {
    console.error(`bench: unknown section ${unknown.join(', ')} (sections: ${SECTIONS.join(', ')})`);
    return 2;
  }
  const chosen = (only ?? SECTIONS) as Section[];
  const quick = values.quick === true;
  const context = runContext(`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`);
  progress(`${chosen.join(', ')} on ${context.machine}, Node ${context.node}, commit ${context.commit}${quick ? ' (quick)' : ''}`);
  for (const section of chosen) {
    const started = performance.now();
    progress(`${section}: started`);
    switch (section) {
      case 'failover':
        writeResult(section, context, await benchFailover(quick ? { kills: 5, pauses: 2, sizes: [3] } : { kills: 30, pauses: 10, sizes: [3, 5] }));
        break;
      case 'figure16':
        writeResult(section, context, benchFigure16(quick ? 100 : 1_000));
        break;
      case 'sim':
        writeResult(section, context, benchSimSpeed([5, 25, 101], quick ? 5 : 20));
        break;
      case 'hub':
        writeResult(section, context, await benchHubLatency(quick ? 10 : 50));
        break;
      case 'memory':
        writeResult(section, context, { serve: await benchServeMemory([5, 25, 101], quick ? 30 : 300), idle: await benchIdleMemory(quick ? 10 : 60) });
        break;
    }
    progress(`${section}: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const report = writeReport();
  progress(`wrote ${report}`);
  return 0;
}

// Every process a section starts is killed by an exit handler; Node runs those on a signal only
// when the signal is handled, so a Ctrl+C never leaves a paused (SIGSTOPped) agent or etcd member behind.
for (const [signal, number] of [
  ['SIGINT', 2],
  ['SIGTERM', 15],
  ['SIGHUP', 1],
] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping every process the bench started`);
    process.exit(128 + number);
  });
}

process.exitCode = await main();
