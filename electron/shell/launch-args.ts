/**
 * One command line carries two kinds of arguments: Chromium's switches, for the Electron
 * window (--no-sandbox to run as root, --remote-debugging-port=9222, ...), and Conclave's own
 * flags. The launcher puts the switches before the app path, where Electron reads them, and
 * Conclave's flags after it; the main process reads only Conclave's. The switches are an
 * explicit allow-list, so a misspelt flag is still refused rather than handed to Chromium.
 */
import { resolve } from 'node:path';
import { UsageError } from '../base/flags.js';

/** `value` switches take `--name=v` or `--name v`; `optional-value` ones only `--name=v`, as Chromium does. */
type SwitchKind = 'flag' | 'value' | 'optional-value';

export const CHROMIUM_SWITCHES: Readonly<Record<string, SwitchKind>> = {
  'no-sandbox': 'flag',
  'disable-gpu': 'flag',
  'disable-gpu-sandbox': 'flag',
  'disable-software-rasterizer': 'flag',
  'disable-dev-shm-usage': 'flag',
  'in-process-gpu': 'flag',
  'ignore-gpu-blocklist': 'flag',
  'disable-http-cache': 'flag',
  'no-proxy-server': 'flag',
  'enable-logging': 'optional-value',
  inspect: 'optional-value',
  'inspect-brk': 'optional-value',
  'remote-debugging-port': 'value',
  'ozone-platform': 'value',
  'ozone-platform-hint': 'value',
  'enable-features': 'value',
  'disable-features': 'value',
  'js-flags': 'value',
  'proxy-server': 'value',
  'proxy-bypass-list': 'value',
  'proxy-pac-url': 'value',
  lang: 'value',
  'force-device-scale-factor': 'value',
  'user-data-dir': 'value',
  'use-gl': 'value',
  'use-angle': 'value',
  'log-file': 'value',
  'log-level': 'value',
  v: 'value',
  vmodule: 'value',
};

export interface LaunchArgs {
  /** Chromium switches, each as one `--name` or `--name=value` argument. */
  chromium: string[];
  /** Everything else, in order, for Conclave's own flag parser (which refuses what it does not know). */
  conclave: string[];
}

export function splitLaunchArgs(argv: readonly string[]): LaunchArgs {
  const chromium: string[] = [];
  const conclave: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq === -1 ? undefined : eq) : '';
    const kind = Object.hasOwn(CHROMIUM_SWITCHES, name) ? CHROMIUM_SWITCHES[name] : undefined;
    if (kind === undefined) {
      conclave.push(arg);
    } else if (kind === 'flag' && eq !== -1) {
      throw new UsageError(`--${name} takes no value`);
    } else if (kind === 'value' && eq === -1) {
      const value = argv[index + 1];
      // A value that starts with "--" (as --js-flags' do) is only unambiguous after "=".
      if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`--${name} needs a value (--${name}=<value>)`);
      chromium.push(`--${name}=${value}`);
      index++;
    } else if (eq !== -1 && eq === arg.length - 1) {
      throw new UsageError(`--${name} needs a value after "="`);
    } else {
      chromium.push(arg);
    }
  }
  return { chromium, conclave };
}

/**
 * Conclave's flags as the Electron main process sees them: after the app path (Electron's
 * `process.argv` is `[binary, ...switches, appPath, ...flags]`; tools such as electron-vite
 * put switches after the app path too, so they are split off here as well).
 */
export function conclaveArgs(argv: readonly string[], appPath: string): string[] {
  const index = argv.findIndex((arg, position) => position > 0 && resolve(arg) === appPath);
  return splitLaunchArgs(argv.slice(index === -1 ? 1 : index + 1)).conclave;
}

export const CHROMIUM_SWITCHES_USAGE = `Chromium switches for the Electron window (ignored when serving for a browser):
${wrap(Object.keys(CHROMIUM_SWITCHES).map((name) => `--${name}`), 96)}`;

function wrap(words: readonly string[], widthMax: number): string {
  const lines: string[] = [];
  let line = ' ';
  for (const word of words) {
    if (line.length + word.length + 2 > widthMax) {
      lines.push(line.trimEnd());
      line = ' ';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}
