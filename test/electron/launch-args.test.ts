/** Splitting `npm start -- ...` into Chromium's switches and Conclave's flags, and naming why a child failed. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../electron/base/flags.js';
import { failureReason } from '../../electron/shell/failure-reason.js';
import { CHROMIUM_SWITCHES_USAGE, conclaveArgs, splitLaunchArgs } from '../../electron/shell/launch-args.js';

describe('splitLaunchArgs', () => {
  it.each([
    [[], [], []],
    [['--port', '0', '--nodes', '3'], [], ['--port', '0', '--nodes', '3']],
    [['--no-sandbox', '--port', '0'], ['--no-sandbox'], ['--port', '0']],
    [['--remote-debugging-port=9222', '--nodes=3'], ['--remote-debugging-port=9222'], ['--nodes=3']],
    // A separate value is joined, as Chromium only reads --name=value.
    [['--remote-debugging-port', '9222', '--seed', '4'], ['--remote-debugging-port=9222'], ['--seed', '4']],
    [['--inspect', '--enable-logging=stderr', '--js-flags=--expose-gc'], ['--inspect', '--enable-logging=stderr', '--js-flags=--expose-gc'], []],
    // Unknown flags stay with Conclave's, whose parser refuses them.
    [['--colour', 'blue', '--disable-gpu'], ['--disable-gpu'], ['--colour', 'blue']],
    [['--no-sandboxes'], [], ['--no-sandboxes']],
    [['--constructor'], [], ['--constructor']],
  ])('%j -> chromium %j, conclave %j', (argv, chromium, conclave) => {
    expect(splitLaunchArgs(argv)).toEqual({ chromium, conclave });
  });

  it.each([
    [['--no-sandbox=yes'], '--no-sandbox takes no value'],
    [['--remote-debugging-port'], '--remote-debugging-port needs a value (--remote-debugging-port=<value>)'],
    [['--lang', '--port', '0'], '--lang needs a value'],
    [['--js-flags', '--expose-gc'], '--js-flags needs a value (--js-flags=<value>)'],
    [['--inspect='], '--inspect needs a value after "="'],
  ])('refuses %j', (argv, message) => {
    expect(() => splitLaunchArgs(argv)).toThrow(UsageError);
    expect(() => splitLaunchArgs(argv)).toThrow(message);
  });

  it('lists every switch in the usage text', () => {
    expect(CHROMIUM_SWITCHES_USAGE).toContain('--no-sandbox');
    expect(CHROMIUM_SWITCHES_USAGE).toContain('--remote-debugging-port');
    for (const line of CHROMIUM_SWITCHES_USAGE.split('\n')) expect(line.length).toBeLessThanOrEqual(96);
  });
});

describe('conclaveArgs (the main process)', () => {
  const app = join('/opt', 'conclave');
  it('takes what follows the app path, without Chromium switches placed there (as electron-vite does)', () => {
    expect(conclaveArgs(['/bin/electron', '--no-sandbox', app, '--port', '0'], app)).toEqual(['--port', '0']);
    expect(conclaveArgs(['/bin/electron', app, '--port', '0', '--no-sandbox', '--inspect=9229'], app)).toEqual(['--port', '0']);
  });

  it('takes everything after the binary when there is no app path (a packaged app)', () => {
    expect(conclaveArgs(['/opt/Conclave/conclave', '--nodes', '3'], app)).toEqual(['--nodes', '3']);
  });
});

describe('failureReason', () => {
  it('finds the error message above a Node stack trace and its footer', () => {
    const stderr = [
      '/app/node_modules/electron/install.js:123',
      "      throw new Error('Electron builds are not available on platform: ' + platform);",
      '      ^',
      '',
      'Error: Electron builds are not available on platform: plan9',
      '    at getPlatformPath (/app/node_modules/electron/install.js:123:13)',
      '    at Object.<anonymous> (/app/node_modules/electron/install.js:11:22)',
      '',
      'Node.js v20.20.2',
      '',
    ].join('\n');
    expect(failureReason(stderr)).toBe('Error: Electron builds are not available on platform: plan9');
  });

  it('takes the last error line of several', () => {
    expect(failureReason('TypeError: fetch failed\n    at x (y.js:1:1)\nRequestError: getaddrinfo ENOTFOUND github.com\n')).toBe(
      'RequestError: getaddrinfo ENOTFOUND github.com',
    );
  });

  it("strips Chromium's log prefix and otherwise takes the last line", () => {
    const stderr =
      '[1234:1126/101010.123456:ERROR:ozone_platform_x11.cc(240)] Missing X server or $DISPLAY\n' +
      '[1234:1126/101010.123456:FATAL:electron_main_delegate.cc(296)] Running as root without --no-sandbox is not supported.\n';
    expect(failureReason(stderr)).toBe('Running as root without --no-sandbox is not supported.');
  });

  it('says nothing for silence, and bounds a long line', () => {
    expect(failureReason('\n  \n')).toBeNull();
    const reason = failureReason(`Error: ${'x'.repeat(1_000)}`)!;
    expect(reason).toHaveLength(300);
    expect(reason.endsWith('...')).toBe(true);
  });
});
