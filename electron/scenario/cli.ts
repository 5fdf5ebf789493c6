/**
 * `conclave scenario <file.json> | --preset <id>`: runs a scenario on the simulator from a seed
 * and prints its pass/fail report with the metrics; exits 1 when an assertion fails.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseScenario, type Scenario, type ScenarioReport } from '../../shared/scenario/format.js';
import { SCENARIO_PRESETS } from '../../shared/scenario/presets.js';
import { ValidationError } from '../../shared/protocol/validate.js';
import { UsageError, integerFlag, readFlags, stringFlag } from '../base/flags.js';
import { simulateScenario } from './simulate.js';

export const SCENARIO_USAGE = `Usage: conclave scenario <file.json> [--seed N] [--json]
       conclave scenario --preset <id> [--seed N] [--json]
       conclave scenario --list

Runs the scenario on the deterministic simulator (the same seed gives the same run) and prints
a pass/fail report; exits 1 when an assertion fails. Format: docs/scenarios.md.`;

const MAX_FILE_BYTES = 1_000_000;

function loadFile(path: string): Scenario {
  let text: string;
  try {
    if (statSync(path).size > MAX_FILE_BYTES) throw new UsageError(`${path} is larger than ${MAX_FILE_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseScenario(json);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

export function formatReport(report: ScenarioReport, context: string): string[] {
  const { metrics } = report;
  const ms = (value: number | null): string => (value === null ? '-' : `${Math.round(value)} ms`);
  const refused = report.steps.filter((step) => !step.ok);
  return [
    `Scenario "${report.name}" ${context}: ${report.passed ? 'PASSED' : report.stopped ? 'STOPPED' : 'FAILED'}`,
    `  steps: ${report.steps.length - refused.length} carried out${refused.length === 0 ? '' : `, ${refused.length} could not apply:`}`,
    ...refused.map((step) => `    at ${(step.t / 1000).toFixed(1)} s ${step.label}: ${step.note ?? 'refused'}`),
    ...report.assertions.map((assertion) => `  ${assertion.passed ? 'pass' : 'FAIL'}  ${assertion.description}: ${assertion.detail}`),
    `  metrics: ${metrics.elections} elections, ${metrics.leaderChanges} leader changes, ${metrics.failovers} failovers ` +
      `(p50 ${ms(metrics.failoverP50Ms)}, p99 ${ms(metrics.failoverP99Ms)}), leaderless ${(metrics.leaderlessMs / 1000).toFixed(2)} s, ` +
      `availability ${(metrics.availability * 100).toFixed(2)}%, safety violations ${metrics.safetyViolations}`,
  ];
}

export function scenarioCommand(argv: readonly string[], write: (line: string) => void = console.log): number {
  const file = argv[0] !== undefined && !argv[0].startsWith('--') ? argv[0] : undefined;
  const flags = readFlags(file === undefined ? argv : argv.slice(1), { seed: 'integer', preset: 'string', json: 'boolean', list: 'boolean', help: 'boolean' });
  if (flags.has('help')) {
    write(SCENARIO_USAGE);
    return 0;
  }
  if (flags.has('list')) {
    for (const [id, preset] of Object.entries(SCENARIO_PRESETS)) write(`${id.padEnd(18)} ${preset.name}`);
    return 0;
  }
  const presetId = stringFlag(flags, 'preset');
  if ((file === undefined) === (presetId === undefined)) throw new UsageError(`give a scenario file or --preset <id>\n\n${SCENARIO_USAGE}`);
  let scenario: Scenario;
  let replay: string;
  if (presetId !== undefined) {
    const preset = SCENARIO_PRESETS[presetId];
    if (preset === undefined) throw new UsageError(`unknown preset "${presetId}" (presets: ${Object.keys(SCENARIO_PRESETS).join(', ')})`);
    scenario = preset;
    replay = `--preset ${presetId}`;
  } else {
    scenario = loadFile(file!);
    replay = file!;
  }
  const seed = integerFlag(flags, 'seed', scenario.seed ?? 1, 0, 2 ** 32 - 1);
  const { report, algorithm, nodes } = simulateScenario(scenario, seed);
  if (flags.has('json')) write(JSON.stringify({ seed, algorithm, nodes, ...report }, null, 2));
  else {
    for (const line of formatReport(report, `on a ${nodes}-node ${algorithm} cluster (simulator, seed ${seed})`)) write(line);
    write(`  replay: npm run scenario -- ${replay} --seed ${seed}`);
  }
  return report.passed ? 0 : 1;
}
