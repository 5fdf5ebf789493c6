/**
 * The built CLI as users run it: `conclave serve` (npm run serve), `sim` and `scenario`.
 * The `npm start` launcher is in launcher.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { weakTokenProblem } from '../../shared/protocol/tokens.js';
import { consoleTokenOf } from '../../electron/wire/tokens.js';
import { APP_ROOT as root, BUILT_CLI as cli, startBuilt, stopProcess, type RunningServer } from '../support/processes.js';

let running: RunningServer | null = null;
afterEach(async () => {
  if (running) await stopProcess(running.process);
  running = null;
});

function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 15_000, env: { ...process.env, ...env } });
}

describe('conclave serve', () => {
  it('serves the dashboard and the control namespace, and stops cleanly on SIGTERM', async () => {
    running = await startBuilt(cli, ['serve', '--port', '0', '--nodes', '3', '--seed', '1']);
    expect(running.output()).toMatch(/^Conclave: embedded 3-node Raft cluster \(seed 1\), dashboard at http:\/\/127\.0\.0\.1:\d+\/$/m);
    const page = await fetch(running.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const exited = new Promise<number | null>((resolve) => running!.process.once('exit', (code) => resolve(code)));
    running.process.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it.each([
    [['serve', '--port', '70000'], '--port must be between 0 and 65535 (got 70000)'],
    [['serve', '--nodes', 'five'], '--nodes must be a whole number (got "five")'],
    [['serve', '--nodes', '0'], '--nodes must be between 1 and 101 (got 0)'],
    [['serve', '--algorithm', 'zab'], '--algorithm must be one of'],
    [['serve', '--port'], '--port needs a value'],
    [['serve', '--colour', 'blue'], 'unknown flag --colour'],
    [['serve', '--token', 'some-secret-on-the-command-line'], '--token would put the secret on the command line, where ps shows it'],
    [['serve', 'extra'], 'unexpected argument "extra"'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('refuses %j with a clear message and exit code 2', (args, message) => {
    const result = runCli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`conclave: ${message}`);
  });

  it('refuses to listen beyond loopback without a token (exit code 1)', () => {
    const result = runCli(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('refusing to listen on 0.0.0.0 without a token');
  });

  it('explains a port that is taken', async () => {
    running = await startBuilt(cli, ['serve', '--port', '0']);
    const port = new URL(running.url).port;
    const result = runCli(['serve', '--port', port]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
  });

  it('with a hub token, prints the dashboard URL without it, and the dashboard asks for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-hub-token-'));
    try {
      const token = runCli(['token']).stdout.trim();
      writeFileSync(join(dir, 'hub-token'), `${token}\n`, { mode: 0o600 });
      running = await startBuilt(cli, ['serve', '--port', '0', '--nodes', '1', '--token-file', join(dir, 'hub-token')]);
      expect(running.output()).toMatch(/dashboard at http:\/\/127\.0\.0\.1:\d+\/ \(it asks for the hub token\)$/m);
      expect(running.output()).not.toContain(token);
      expect((await fetch(new URL('/metrics', running.url))).status).toBe(401);
      expect((await fetch(new URL('/metrics', running.url), { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints its flags with --help', () => {
    const result = runCli(['serve', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--nodes      embedded cluster size, 1 to 101');
  });
});

describe('conclave token', () => {
  it('prints a new random token each time, strong enough for any of the secrets', () => {
    const first = runCli(['token']);
    const second = runCli(['token']);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(second.stdout).not.toBe(first.stdout);
    expect(weakTokenProblem(first.stdout.trim(), 'conclave token')).toBeNull();
  });

  it('--console prints the console token of the cluster token, read from a file or CONCLAVE_CLUSTER_TOKEN, never argv', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-token-'));
    try {
      const cluster = runCli(['token']).stdout.trim();
      writeFileSync(join(dir, 'token'), `${cluster}\n`);
      const fromFile = runCli(['token', '--console', '--token-file', join(dir, 'token')]);
      expect(fromFile.status).toBe(0);
      expect(fromFile.stdout).toBe(`${consoleTokenOf(cluster)}\n`);
      expect(runCli(['token', '--console'], { CONCLAVE_CLUSTER_TOKEN: cluster }).stdout).toBe(fromFile.stdout);
      const again = runCli(['token', '--console'], { CONCLAVE_CLUSTER_TOKEN: fromFile.stdout.trim() });
      expect(again.status).toBe(2);
      expect(again.stderr).toContain('that is a console token already: --console takes the cluster token it is made from');
      const none = runCli(['token', '--console'], { CONCLAVE_CLUSTER_TOKEN: '' });
      expect(none.status).toBe(2);
      expect(none.stderr).toContain('--console needs the cluster token: --token-file F, or CONCLAVE_CLUSTER_TOKEN in the environment');
      expect(runCli(['token', cluster]).stderr).toContain('unexpected argument');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('conclave sim', () => {
  it('replays a seed exactly, printing its trace and hash', () => {
    const args = ['sim', '--algorithm', 'paxos', '--seed', '12', '--duration-s', '20', '--trace'];
    const first = runCli(args);
    const second = runCli(args);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^paxos seed 12: passed; \d+ elections, \d+ fault events, \d+ messages; trace hash [0-9a-f]{8}$/m);
    expect(first.stdout).toMatch(/^t=\d+\.\d{3} n\d became leader of term \d+$/m);
    expect(second.stdout).toBe(first.stdout);
  });

  it('prints a summary table for every algorithm', () => {
    const result = runCli(['sim', '--seeds', '3', '--duration-s', '10']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('3 seeds from 1, 5 nodes, 10 simulated s each');
    for (const algorithm of ['raft', 'bully', 'paxos']) expect(result.stdout).toMatch(new RegExp(`^${algorithm}\\s+3\\s+3\\s+0\\s`, 'm'));
    expect(result.stdout).toContain('split brain');
  });

  it('measures failover and reports percentiles as JSON for tools', () => {
    const result = runCli(['sim', 'failover', '--algorithm', 'raft', '--nodes', '5', '--timeout-ms', '150-300', '--heartbeat-ms', '75', '--latency-ms', '7', '--trials', '100', '--json']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as { failed: number; failoverMs: Record<string, number>; options: { config: { heartbeatMs: number } } };
    expect(report.failed).toBe(0);
    expect(report.options.config.heartbeatMs).toBe(75);
    const { min, p50, p90, p99, max } = report.failoverMs;
    expect(min).toBeLessThanOrEqual(p50!);
    expect(p50).toBeLessThanOrEqual(p90!);
    expect(p90).toBeLessThanOrEqual(p99!);
    expect(p99).toBeLessThanOrEqual(max!);
  });

  it('warns in words about equal election timeouts, keeping --json output clean', () => {
    const result = runCli(['sim', 'failover', '--timeout-ms', '150-150', '--trials', '5', '--json']);
    expect(result.stderr).toMatch(/^warning: The minimum and maximum election timeouts are equal \(150 ms\)/m);
    expect(() => JSON.parse(result.stdout)).not.toThrow();
  });

  it('runs a deliberately broken variant, which the checkers catch', () => {
    const result = runCli(['sim', '--mutation', 'raft-lead-on-quorum-minus-one', '--seed', '1', '--duration-s', '5']);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/safety: leader-without-quorum at t=[\d.]+ ms/);
    expect(result.stdout).toContain('replay: npm run sim -- --mutation raft-lead-on-quorum-minus-one --seed 1');
  });

  it('prints the failover table', () => {
    const result = runCli(['sim', 'failover', '--trials', '20']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^failover ms(\s+[\d.]+){6}$/m);
    expect(result.stdout).toMatch(/^messages(\s+[\d.]+){6}$/m);
  });

  it.each([
    [['sim', '--algorithm', 'zab'], '--algorithm must be one of raft, bully, paxos, all'],
    [['sim', '--timeout-ms', '300-150'], 'must not be below the minimum'],
    [['sim', '--heartbeat-ms', '400'], 'must be greater than the heartbeat interval'],
    [['sim', '--faults', 'meteor'], '--faults takes a comma-separated list'],
    [['sim', 'failover', '--seeds', '3'], 'unknown flag --seeds'],
    [['sim', '--pre-vote', 'maybe'], '--pre-vote must be true or false'],
  ])('refuses %j', (args, message) => {
    const result = runCli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe('conclave scenario', () => {
  it('runs the documented example on the simulator and passes, reproducibly', () => {
    const first = runCli(['scenario', 'docs/scenarios/leader-churn.json']);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^Scenario "Leader churn with a lossy link" on a 5-node raft cluster \(simulator, seed 7\): PASSED$/m);
    expect(first.stdout).toMatch(/^ {2}pass {2}a leader followed by a majority within 1500 ms after each fault: worst \d+ ms over \d+ faults$/m);
    expect(first.stdout).toMatch(/^ {2}metrics: \d+ elections, .* availability [\d.]+%, safety violations 0$/m);
    expect(runCli(['scenario', 'docs/scenarios/leader-churn.json']).stdout).toBe(first.stdout);
  });

  it('prints the report as JSON for tools', () => {
    const result = runCli(['scenario', '--preset', 'leader-crash', '--seed', '2', '--json']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as { passed: boolean; seed: number; assertions: unknown[] };
    expect(report).toMatchObject({ passed: true, seed: 2 });
    expect(report.assertions).toHaveLength(3);
  });

  it('exits 1, naming the failed assertion, when the scenario fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-scenario-'));
    try {
      const file = join(dir, 'strict.json');
      writeFileSync(file, JSON.stringify({ name: 'too strict', durationMs: 5_000, steps: [{ at: 1_000, do: { type: 'kill', node: 'leader' } }], assertions: [{ type: 'leader-within', after: 'fault', withinMs: 1 }] }));
      const result = runCli(['scenario', file]);
      expect(result.status).toBe(1);
      expect(result.stdout).toContain('FAILED');
      expect(result.stdout).toMatch(/FAIL {2}a leader followed by a majority within 1 ms after each fault: after the fault at 1\.0 s it took \d+ ms/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [['scenario', 'nowhere.json'], 'cannot read nowhere.json: no such file'],
    [['scenario', 'package.json'], 'package.json: scenario has an unknown field'],
    [['scenario', '--preset', 'meteor'], 'unknown preset "meteor"'],
    [['scenario'], 'give a scenario file or --preset <id>'],
  ])('refuses %j', (args, message) => {
    const result = runCli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
