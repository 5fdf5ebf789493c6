/**
 * `npm start`: opens the desktop app. Where Electron cannot run (its binary is missing and
 * cannot be downloaded, there is no display, or it fails to start), says why in one line and
 * serves the same dashboard for a browser instead.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './cli/cli.js';
import { downloadElectron, electronPackageDir, installedElectron, missingDisplay } from './cli/electron-binary.js';
import { UsageError } from './base/flags.js';
import { SERVE_USAGE, parseServeArgs } from './cli/flags.js';
import { failureReason, keepTail } from './shell/failure-reason.js';
import { CHROMIUM_SWITCHES_USAGE, splitLaunchArgs, type LaunchArgs } from './shell/launch-args.js';

/** What the main process prints once its hub serves (electron/main.ts): from then on Electron has started. */
const STARTED = /dashboard at /;

const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `npm start -- [flags]: the desktop app, with the flags of "conclave serve".

${SERVE_USAGE}

${CHROMIUM_SWITCHES_USAGE}`;

async function electronOrReason(): Promise<{ binary: string } | { reason: string }> {
  const packageDir = electronPackageDir(appRoot);
  if (packageDir === null) return { reason: 'the electron package is not installed' };
  let binary = installedElectron(packageDir);
  if (binary === null) {
    const failed = await downloadElectron(packageDir);
    if (failed !== null) return { reason: `its binary is not installed and could not be downloaded (${failed})` };
    binary = installedElectron(packageDir);
    if (binary === null) return { reason: 'its binary is missing even after a download' };
  }
  const noDisplay = missingDisplay();
  return noDisplay === null ? { binary } : { reason: noDisplay };
}

/** How a launch ended: the app ran (or declined, as a second instance does) and exited, or Electron could not start. */
type Launch = { exitCode: number } | { reason: string };

/**
 * Runs Electron until it exits. It has started once the main process prints its dashboard
 * line; until then its stderr is held back, so that a failure to start reads as one reason
 * rather than Chromium's log.
 */
function launchElectron(binary: string, args: string[]): Promise<Launch> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let started = false;
    let interrupted = false;
    let stdoutBeforeStart = '';
    let stderrBeforeStart = '';
    const forward = (signal: NodeJS.Signals): void => {
      interrupted = true;
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    let settled = false;
    const settle = (launch: Launch): void => {
      if (settled) return;
      settled = true;
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(launch);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      if (started) return;
      stdoutBeforeStart = keepTail(stdoutBeforeStart, chunk);
      if (!STARTED.test(stdoutBeforeStart)) return;
      started = true;
      process.stderr.write(stderrBeforeStart);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (started) process.stderr.write(chunk);
      else stderrBeforeStart = keepTail(stderrBeforeStart, chunk);
    });
    child.once('error', (error) => settle({ reason: error.message }));
    child.once('close', (code, signal) => {
      const exitCode = code ?? 1;
      if (started) return settle({ exitCode });
      // Conclave's own errors ("conclave: ...") are final: serving would meet them too.
      if (code === 0 || interrupted || /^conclave: /m.test(stderrBeforeStart)) {
        process.stderr.write(stderrBeforeStart);
        return settle({ exitCode });
      }
      settle({ reason: failureReason(stderrBeforeStart) ?? (signal ? `it was stopped by ${signal}` : `it exited with code ${code}`) });
    });
  });
}

function serveForBrowser(why: string, args: LaunchArgs): Promise<number> {
  const notes = [`${why.replace(/[.\s]+$/, '')}. Serving the dashboard for your browser instead.`];
  if (args.chromium.length > 0) notes.push(`Chromium switches only apply to the Electron window; ignoring ${args.chromium.join(' ')}`);
  return main(['serve', ...args.conclave], notes.join('\n'));
}

async function start(argv: string[]): Promise<number> {
  let args: LaunchArgs;
  try {
    args = splitLaunchArgs(argv);
    // Refused here, on the terminal, rather than in a dialog after Electron has started.
    if (parseServeArgs(args.conclave, process.env) === 'help') {
      console.log(USAGE);
      return 0;
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`conclave: ${error.message}`);
    return 2;
  }
  const found = await electronOrReason();
  if ('reason' in found) return serveForBrowser(`Electron cannot run here: ${found.reason}`, args);
  const launch = await launchElectron(found.binary, [...args.chromium, appRoot, ...args.conclave]);
  if ('exitCode' in launch) return launch.exitCode;
  return serveForBrowser(`Electron could not start: ${launch.reason}`, args);
}

const code = await start(process.argv.slice(2));
if (code !== 0) process.exit(code);
