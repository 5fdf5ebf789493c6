/**
 * `npm start` (the built launcher, out/main/start.js) with a fake Electron binary: a script
 * put where electron's own index.js looks when ELECTRON_OVERRIDE_DIST_PATH is set. It records
 * its argv and then behaves as told: runs, fails to start, reports a Conclave error, or finds
 * another instance. And without any binary, where the lazy download fails.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { electronPackageDir, installedElectron } from '../../electron/cli/electron-binary.js';
import { APP_ROOT, BUILT_LAUNCHER as launcher, startBuilt, stopProcess, type RunningServer } from '../support/processes.js';

const APP_PATH = resolve(APP_ROOT);

type FakeMode = 'run' | 'fail' | 'conclave-error' | 'second-instance';

const FAKE_ELECTRON = `#!${process.execPath}
const { writeFileSync } = require('node:fs');
const record = process.env.FAKE_ELECTRON_RECORD;
writeFileSync(record, JSON.stringify(process.argv.slice(2)));
switch (process.env.FAKE_ELECTRON_MODE) {
  case 'fail':
    process.stderr.write('[4242:1126/101010.123456:ERROR:ozone_platform_x11.cc(240)] Missing X server or $DISPLAY\\n');
    process.stderr.write('electron: error while loading shared libraries: libnss3.so: cannot open shared object file: No such file or directory\\n');
    process.exit(127);
  case 'conclave-error':
    process.stderr.write('conclave: port 4100 on 127.0.0.1 is already in use: pick another with --port (0 picks a free one)\\n');
    process.exit(1);
  case 'second-instance':
    console.log('Conclave is already running: brought its window to the front.');
    process.exit(0);
  default:
    // Ready for the launcher's SIGTERM before saying it has started.
    process.on('SIGTERM', () => {
      writeFileSync(record + '.signal', 'SIGTERM');
      process.exit(0);
    });
    setInterval(() => undefined, 60_000);
    console.log('Conclave: 5-node raft cluster, dashboard at http://127.0.0.1:1/ (in the window)');
}
`;

let dir = '';
let running: RunningServer | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-fake-electron-'));
  writeFileSync(join(dir, 'electron'), FAKE_ELECTRON);
  chmodSync(join(dir, 'electron'), 0o755);
});

afterEach(async () => {
  if (running) await stopProcess(running.process);
  running = null;
  rmSync(dir, { recursive: true, force: true });
});

const recordFile = (): string => join(dir, 'argv.json');
const recordedArgv = (): string[] => JSON.parse(readFileSync(recordFile(), 'utf8')) as string[];

function fakeEnv(mode: FakeMode): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DISPLAY: ':99',
    ELECTRON_OVERRIDE_DIST_PATH: dir,
    FAKE_ELECTRON_MODE: mode,
    FAKE_ELECTRON_RECORD: recordFile(),
    CONCLAVE_TOKEN: '',
  };
}

function runLauncher(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [launcher, ...args], { cwd: APP_ROOT, env, encoding: 'utf8', timeout: 20_000 });
}

describe('npm start with an Electron binary', () => {
  it('puts Chromium switches before the app path and Conclave flags after it, and stops Electron with itself', async () => {
    const args = ['--no-sandbox', '--port', '0', '--remote-debugging-port', '9222', '--nodes', '3', '--enable-features=OverlayScrollbar'];
    running = await startBuilt(launcher, args, fakeEnv('run'));
    expect(recordedArgv()).toEqual(['--no-sandbox', '--remote-debugging-port=9222', '--enable-features=OverlayScrollbar', APP_PATH, '--port', '0', '--nodes', '3']);
    expect(running.output()).not.toContain('Serving the dashboard for your browser');
    const exited = new Promise<number | null>((done) => running!.process.once('exit', (code) => done(code)));
    running.process.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readFileSync(`${recordFile()}.signal`, 'utf8')).toBe('SIGTERM');
  });

  it('falls back to the browser, with the reason, when the binary exists but fails to start', async () => {
    running = await startBuilt(launcher, ['--port', '0', '--no-sandbox'], fakeEnv('fail'));
    const lines = running.output().trim().split('\n');
    expect(lines[0]).toBe(
      'Electron could not start: electron: error while loading shared libraries: libnss3.so: cannot open shared object file: No such file or directory. Serving the dashboard for your browser instead.',
    );
    expect(lines[1]).toBe('Chromium switches only apply to the Electron window; ignoring --no-sandbox');
    expect(lines[2]).toMatch(/dashboard at http:\/\/127\.0\.0\.1:\d+\//);
    // Chromium's log before the failure is summed up by the reason, not replayed.
    expect(running.output()).not.toContain('Missing X server');
    const page = await fetch(running.url);
    expect(page.status).toBe(200);
  });

  it('falls back to the browser when the binary cannot even be executed', async () => {
    chmodSync(join(dir, 'electron'), 0o644);
    running = await startBuilt(launcher, ['--port', '0'], fakeEnv('run'));
    expect(running.output().split('\n')[0]).toBe(
      `Electron could not start: spawn ${join(dir, 'electron')} EACCES. Serving the dashboard for your browser instead.`,
    );
  });

  it("does not fall back on Conclave's own error in Electron: it is shown, and the exit code kept", () => {
    const result = runLauncher(['--port', '4100'], fakeEnv('conclave-error'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('conclave: port 4100 on 127.0.0.1 is already in use');
    expect(result.stdout).not.toContain('Serving the dashboard');
  });

  it('leaves quietly when another instance already runs', () => {
    const result = runLauncher(['--port', '0'], fakeEnv('second-instance'));
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('Conclave is already running: brought its window to the front.\n');
  });

  it.each([
    [['--colour', 'blue'], 'conclave: unknown flag --colour'],
    [['--remote-debugging-port'], 'conclave: --remote-debugging-port needs a value (--remote-debugging-port=<value>)'],
    [['--no-sandbox=1'], 'conclave: --no-sandbox takes no value'],
    [['--port', '70000', '--no-sandbox'], 'conclave: --port must be between 0 and 65535 (got 70000)'],
  ])('refuses %j on the terminal with exit code 2, before starting Electron', (args, message) => {
    const result = runLauncher(args, fakeEnv('run'));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(existsSync(recordFile())).toBe(false);
  });

  it('lists Conclave flags and Chromium switches with --help', () => {
    const result = runLauncher(['--help'], fakeEnv('run'));
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--nodes      embedded cluster size, 1 to 101');
    expect(result.stdout).toContain('Chromium switches for the Electron window (ignored when serving for a browser):');
    expect(existsSync(recordFile())).toBe(false);
  });

  it('serves for the browser without trying Electron where there is no display', async () => {
    const env = fakeEnv('run');
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    running = await startBuilt(launcher, ['--port', '0'], env);
    expect(running.output().split('\n')[0]).toBe(
      'Electron cannot run here: there is no display (DISPLAY and WAYLAND_DISPLAY are unset). Serving the dashboard for your browser instead.',
    );
    expect(existsSync(recordFile())).toBe(false);
  });
});

const electronDir = electronPackageDir(APP_ROOT);
const electronBinary = electronDir === null ? null : installedElectron(electronDir);
if (electronBinary !== null) {
  console.log(`skipping the no-Electron launcher test: an Electron binary is installed here (${electronBinary})`);
}

describe.skipIf(electronBinary !== null)('npm start without the Electron binary', () => {
  it('says in one line why the download failed, and serves the same dashboard for a browser', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CONCLAVE_TOKEN: '', ELECTRON_INSTALL_PLATFORM: 'plan9' };
    delete env.ELECTRON_OVERRIDE_DIST_PATH;
    // electron's installer refuses an unknown platform at once: a download failure without the network.
    running = await startBuilt(launcher, ['--port', '0', '--disable-gpu'], env);
    const lines = running.output().trim().split('\n');
    expect(lines[0]).toBe(
      'Electron cannot run here: its binary is not installed and could not be downloaded (Error: Electron builds are not available on platform: plan9). Serving the dashboard for your browser instead.',
    );
    expect(lines[1]).toBe('Chromium switches only apply to the Electron window; ignoring --disable-gpu');
    expect(lines[2]).toMatch(/dashboard at http:\/\/127\.0\.0\.1:\d+\//);
    const page = await fetch(running.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Conclave</title>');
  });
});
