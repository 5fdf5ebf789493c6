/** Starting and stopping the built entry points (out/main/*.js) as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const APP_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUILT_CLI = fileURLToPath(new URL('../../out/main/cli.js', import.meta.url));
export const BUILT_LAUNCHER = fileURLToPath(new URL('../../out/main/start.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;

export interface RunningServer {
  url: string;
  process: ChildProcess;
  output: () => string;
}

/** Starts a built entry point and resolves with the dashboard URL it prints. */
export function startBuilt(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  if (!existsSync(script)) throw new Error(`${script} is missing: run "npm run build" first`);
  const child = spawn(process.execPath, [script, ...args], { cwd: APP_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no dashboard URL within ${START_TIMEOUT_MS} ms; output:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /dashboard at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, process: child, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code} before serving; output:\n${output}`));
    });
  });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

