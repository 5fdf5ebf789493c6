/** The Raft paper's Figure 16 on the simulator, both network and disk models, next to what the paper says. */
import { FIGURE16_MODELS, runFigure16, type Figure16Row } from '../electron/sim/figure16.js';
import { ms, progress } from './lib.js';

export interface Figure16Result {
  trials: number;
  rows: Figure16Row[];
}

export function benchFigure16(trials: number): Figure16Result {
  const rows: Figure16Row[] = [];
  for (const model of FIGURE16_MODELS) {
    runFigure16({
      trials,
      seed: 1,
      model,
      onRow: (row) => {
        rows.push(row);
        progress(`figure 16, ${model.name}: ${row.range.join('-')} ms: p50 ${ms(row.failoverMs.p50)} ms, ${row.offChart}/${row.trials} off the chart`);
      },
    });
  }
  return { trials, rows };
}
