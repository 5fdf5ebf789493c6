/** `conclave agent` flags and cluster files: every value checked, errors naming the flag or the field, exit code 2. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { AGENT_USAGE, DEFAULT_ON_ELECTED_GRACE_MS, parseAgentArgs, type AgentSettings } from '../../electron/agent/flags.js';
import { UsageError } from '../../electron/base/flags.js';
import { parseServeArgs } from '../../electron/cli/flags.js';
import { APP_ROOT, BUILT_CLI } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | object): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : toYaml(content));
  return path;
}

const CLUSTER = {
  algorithm: 'raft',
  members: [
    { id: 'n1', address: '10.0.0.1:7400' },
    { id: 'n2', address: '10.0.0.2:7400', http: '10.0.0.2:9000' },
    { id: 'n3', address: '10.0.0.3:7400', voting: false },
  ],
};
const cluster = file('cluster.yaml', CLUSTER);
/** A token strong enough (about 190 bits by the estimate), and the same with spaces around it. */
const SECRET = 'Rk3-vT9q-Lm2x-Wz7p-Nb4s-Hc6d';
const token = file('token', `${SECRET}\n`);
const BASE = ['--id', 'n1', '--cluster', cluster, '--data-dir', join(dir, 'data'), '--token-file', token];

function parse(argv: string[], env: Record<string, string> = {}): AgentSettings {
  const settings = parseAgentArgs(argv, env);
  if (settings === 'help') throw new Error('help');
  return settings;
}

function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseAgentArgs(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('parseAgentArgs', () => {
  it('fills the defaults from the cluster file: listen on the address peers dial, http on port + 1000', () => {
    const settings = parse(BASE);
    expect(settings).toMatchObject({
      id: 'n1',
      token: SECRET,
      listen: { host: '10.0.0.1', port: 7400 },
      http: { host: '10.0.0.1', port: 8400 },
      supervisorListen: { host: '10.0.0.1', port: 9400 },
      tls: null,
      onElected: null,
      onElectedGraceMs: DEFAULT_ON_ELECTED_GRACE_MS,
      resetState: false,
      supervise: false,
      logLevel: 'info',
    });
    expect(settings.cluster.members.map((m) => m.voting)).toEqual([true, true, false]);
    expect(parse(['--id', 'n2', ...BASE.slice(2)]).http).toEqual({ host: '10.0.0.2', port: 9000 });
    expect(parse([...BASE, '--listen', '0.0.0.0:7500', '--http', '127.0.0.1:8500']).listen).toEqual({ host: '0.0.0.0', port: 7500 });
    expect(parseAgentArgs(['--help'], {})).toBe('help');
    expect(AGENT_USAGE).toContain('--token-file');
  });

  it('reads the same cluster as JSON, and the token from CONCLAVE_CLUSTER_TOKEN', () => {
    const json = file('cluster.json', JSON.stringify(CLUSTER));
    expect(parse(['--id', 'n1', '--cluster', json, '--data-dir', dir], { CONCLAVE_CLUSTER_TOKEN: SECRET }).token).toBe(SECRET);
  });

  it.each([
    ["Unknown option '--bogus'", ['--bogus']],
    ["Option '--id <value>' argument missing", ['--id']],
    ["Unexpected argument 'stray'", ['stray']],
    ['--id is given twice', [...BASE, '--id', 'n2']],
    ['--id is required', ['--cluster', cluster, '--data-dir', dir, '--token-file', token]],
    ['--cluster is required', ['--id', 'n1', '--data-dir', dir, '--token-file', token]],
    [`--id: "n9" is not a member of ${cluster} (members: n1, n2, n3)`, ['--id', 'n9', ...BASE.slice(2)]],
    ['--listen must be HOST:PORT with a port from 1 to 65535', [...BASE, '--listen', 'nowhere']],
    ['--http must be HOST:PORT', [...BASE, '--http', '127.0.0.1:70000']],
    ['--tls-cert, --tls-key and --tls-ca go together (missing: --tls-key, --tls-ca)', [...BASE, '--tls-cert', token]],
    [`--tls-ca: cannot read ${join(dir, 'missing.pem')} (ENOENT)`, [...BASE, '--tls-cert', token, '--tls-key', token, '--tls-ca', join(dir, 'missing.pem')]],
    ['--on-elected-grace-ms must be a whole number of milliseconds from 0 to 600000', [...BASE, '--on-elected-grace-ms', '1.5']],
    ['--on-elected must be a command of 1 to 4096 characters', [...BASE, '--on-elected', ' ']],
    ['--log-level must be one of fatal, error, warn, info, debug, trace, silent (got "loud")', [...BASE, '--log-level', 'loud']],
  ])('refuses a bad command line: %s', (words, argv) => {
    expect(refusal(argv as string[])).toContain(words);
  });

  it('requires a token of at least 128 bits, from a file or CONCLAVE_CLUSTER_TOKEN, and says when the old variable is set', () => {
    const withoutToken = BASE.slice(0, 6);
    const missing = 'a cluster token is required: --token-file FILE or the CONCLAVE_CLUSTER_TOKEN environment variable ("conclave token" makes one)';
    expect(refusal(withoutToken)).toBe(missing);
    expect(refusal(withoutToken, { CONCLAVE_TOKEN: SECRET })).toBe(`${missing} (CONCLAVE_TOKEN is set, but it is no longer read: each secret has its own name now, see docs/operators.md)`);
    expect(refusal(withoutToken, { CONCLAVE_CLUSTER_TOKEN: 'correct horse battery staple' })).toBe(
      'the token (CONCLAVE_CLUSTER_TOKEN) is too weak: about 110 bits, and at least 128 are needed (32 or more random characters, as "conclave token" or "openssl rand -base64 32" make them)',
    );
    // Long is not enough: a repeated character carries nothing.
    expect(refusal(withoutToken, { CONCLAVE_CLUSTER_TOKEN: 'a'.repeat(64) })).toMatch(/^the token \(CONCLAVE_CLUSTER_TOKEN\) is too weak: about 0 bits/);
    const short = file('short-token', 'abc\n');
    expect(refusal([...withoutToken, '--token-file', short])).toMatch(new RegExp(`^the token \\(--token-file ${short}\\) is too weak: about 14 bits`));
    // Agents need the cluster token; a console token is for consoles only.
    expect(refusal(withoutToken, { CONCLAVE_CLUSTER_TOKEN: `conclave-console.${'A'.repeat(43)}` })).toBe(
      'the token given is a console token, which only consoles use: an agent needs the cluster token it was made from',
    );
    expect(refusal([...withoutToken, '--token-file', join(dir, 'nope')])).toBe(`--token-file: cannot read ${join(dir, 'nope')} (ENOENT)`);
    const empty = file('empty-token', '');
    expect(refusal([...withoutToken, '--token-file', empty])).toBe(`--token-file: ${empty} is empty; it holds the cluster token`);
    expect(refusal([...withoutToken, '--token-file', dir])).toBe(`--token-file: cannot read ${dir} (EISDIR)`);
    expect(refusal([...withoutToken, '--token-file', file('two-lines', `${SECRET}\nsecond-line\n`)])).toMatch(/must be one line$/);
  });

  it('reads a token file exactly as serve --attach does: one trailing newline ignored, nothing else trimmed', () => {
    const attach = (tokenFile: string): string => {
      const options = parseServeArgs(['--attach', '10.0.0.1:7400', '--console-token-file', tokenFile], {});
      if (options === 'help' || options.cluster.kind !== 'attached') throw new Error('not attached');
      return options.cluster.token;
    };
    const refusedByServe = (tokenFile: string): string => {
      try {
        attach(tokenFile);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error(`serve accepted ${tokenFile}`);
    };
    for (const [name, text, expected] of [
      ['plain', SECRET, SECRET],
      ['newline', `${SECRET}\n`, SECRET],
      ['crlf', `${SECRET}\r\n`, SECRET],
      ['spaces', `  ${SECRET}  \n`, `  ${SECRET}  `],
    ] as const) {
      const path = file(`token-${name}`, text);
      expect(parse([...BASE.slice(0, 6), '--token-file', path]).token).toBe(expected);
      expect(attach(path)).toBe(expected);
    }
    for (const [name, text] of [['two-newlines', `${SECRET}\n\n`], ['empty', ''], ['short', 'abc\n']] as const) {
      const path = file(`token-${name}`, text);
      expect(refusedByServe(path)).toBe(refusal([...BASE.slice(0, 6), '--token-file', path]).replace('--token-file', '--console-token-file'));
    }
    expect(refusedByServe(join(dir, 'nope'))).toBe(`--console-token-file: cannot read ${join(dir, 'nope')} (ENOENT)`);
  });

  it('names the cluster file and the field that is wrong', () => {
    const cases: Array<[object | string, string]> = [
      ['members: [', 'is neither JSON nor YAML'],
      [{ ...CLUSTER, algorithm: 'zab' }, 'algorithm: Invalid option: expected one of "raft"|"bully"|"paxos"'],
      [{ ...CLUSTER, members: [{ id: 'n1', address: '10.0.0.1' }] }, 'members[0].address: must be host:port'],
      [{ ...CLUSTER, members: [...CLUSTER.members, { id: 'n1', address: '10.0.0.9:7400' }] }, 'members[3].id: "n1" is also members[0].id'],
      [{ ...CLUSTER, timing: { heartbeatMs: 500, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600 } }, 'timing'],
      [{ ...CLUSTER, members: CLUSTER.members.map((m) => ({ ...m, voting: false })) }, 'members: at least one member must vote'],
    ];
    for (const [content, words] of cases) {
      const path = file('bad.yaml', content);
      const message = refusal(['--id', 'n1', '--cluster', path, '--data-dir', dir, '--token-file', token]);
      expect(message).toContain(path);
      expect(message).toContain(words);
    }
  });
});

describe('the command line', () => {
  it('exits with code 2 and names the problem; --help lists the flags; the npx wrapper runs the built CLI', () => {
    const run = (args: string[], script = BUILT_CLI) => spawnSync(process.execPath, [script, ...args], { cwd: APP_ROOT, encoding: 'utf8', env: { ...process.env, CONCLAVE_CLUSTER_TOKEN: '' } });
    const bad = run(['agent', ...BASE, '--listen', 'nowhere']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('conclave: --listen must be HOST:PORT');
    const badFile = run(['agent', '--id', 'n1', '--cluster', file('bad-port.yaml', { ...CLUSTER, members: [{ id: 'n1', address: '10.0.0.1:99999' }] }), '--data-dir', dir, '--token-file', token]);
    expect(badFile.status).toBe(2);
    expect(badFile.stderr).toContain('members[0].address: the port must be 1 to 65535');
    const help = run(['agent', '--help'], join(APP_ROOT, 'electron/cli/conclave.mjs'));
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: conclave agent --id ID --cluster FILE --data-dir DIR');
    expect(execFileSync(process.execPath, [BUILT_CLI, '--help'], { encoding: 'utf8' })).toContain('agent     run one member of a real cluster');
  });
});

describe('serve flags (parseArgs, in this CLI\'s words)', () => {
  const serve = (argv: string[], env: Record<string, string> = {}) => {
    const options = parseServeArgs(argv, env);
    if (options === 'help') throw new Error('help');
    return options;
  };

  it('takes --name value, --name=value and boolean flags', () => {
    expect(serve(['--port', '0', '--host=127.0.0.1', '--seed=5', '--no-crash-hints', '--nodes', '3'])).toMatchObject({ port: 0, host: '127.0.0.1', seed: 5, crashHints: false, nodes: 3 });
    expect(parseServeArgs(['--help'], {})).toBe('help');
    expect(serve(['--processes', '3', '--data-dir', dir]).cluster).toEqual({ kind: 'processes', nodes: 3, algorithm: 'raft' });
  });

  it.each([
    [['--port'], '--port needs a value'],
    [['--port='], '--port needs a value'],
    [['--port', '--host', 'x'], '--port needs a value'],
    [['--colour', 'blue'], 'unknown flag --colour (known: --port, --host,'],
    [['--constructor', 'x'], 'unknown flag --constructor'],
    [['extra'], 'unexpected argument "extra"'],
    [['-p', '80'], 'unexpected argument "-p"'],
    [['--', '--port', '1'], 'unexpected argument "--"'],
    [['--port', '1', '--port', '2'], '--port is given twice'],
    [['--no-crash-hints=yes'], '--no-crash-hints takes no value'],
    [['--port', '70000'], '--port must be between 0 and 65535 (got 70000)'],
    [['--nodes', 'three'], '--nodes must be a whole number (got "three")'],
    [['--algorithm', 'zab'], '--algorithm must be one of raft, bully, paxos (got "zab")'],
    [['--token', SECRET], '--token would put the secret on the command line, where ps shows it: put it in a file and pass --token-file F, or set CONCLAVE_HUB_TOKEN'],
    [['--data-dir', '/tmp'], '--data-dir goes with --processes'],
    [['--console-token-file', '/tmp/x'], '--console-token-file goes with --attach'],
    [['--cluster-token-file', '/tmp/x'], '--cluster-token-file is now --console-token-file'],
    [['--attach', 'a:1', '--processes', '3'], '--attach and --processes cannot be used together'],
    [['--attach', 'nohost'], '--attach takes host:port addresses separated by commas (got "nohost")'],
    [['--attach', 'a:1'], '--attach needs the console token: --console-token-file F, or CONCLAVE_CONSOLE_TOKEN in the environment ("conclave token --console" makes it from the cluster token)'],
    [['--attach', 'a:1', '--tls-cert', '/x'], '--tls-cert, --tls-key and --tls-ca go together'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => serve(argv, { CONCLAVE_CONSOLE_TOKEN: argv.includes('--attach') && !message.includes('token') ? SECRET : '' })).toThrow(message);
    expect(() => serve(argv)).toThrow(UsageError);
  });

  it('--attach takes the console token from CONCLAVE_CONSOLE_TOKEN, else the cluster token (whose console token it uses), with the agents\' rules', () => {
    const consoleToken = `conclave-console.${'A'.repeat(43)}`;
    expect(serve(['--attach', 'a:1'], { CONCLAVE_CONSOLE_TOKEN: consoleToken, CONCLAVE_CLUSTER_TOKEN: SECRET }).cluster).toMatchObject({ token: consoleToken });
    expect(serve(['--attach', 'a:1'], { CONCLAVE_CLUSTER_TOKEN: SECRET }).cluster).toMatchObject({ token: SECRET });
    expect(() => serve(['--attach', 'a:1'], { CONCLAVE_CONSOLE_TOKEN: 'short-token' })).toThrow('the token (CONCLAVE_CONSOLE_TOKEN) is too weak');
    expect(() => serve(['--attach', 'a:1'], { CONCLAVE_CONSOLE_TOKEN: 'conclave-console.short' })).toThrow('starts like a console token but is not one');
  });

  it('the hub token comes from --token-file or CONCLAVE_HUB_TOKEN, never argv; CONCLAVE_TOKEN is named, not read', () => {
    expect(serve([], { CONCLAVE_HUB_TOKEN: SECRET }).token).toBe(SECRET);
    expect(serve(['--token-file', token]).token).toBe(SECRET);
    expect(serve([]).token).toBeNull();
    expect(() => serve([], { CONCLAVE_TOKEN: SECRET })).toThrow('CONCLAVE_TOKEN is no longer read: the hub token is CONCLAVE_HUB_TOKEN (or --token-file F), and agents have their own CONCLAVE_CLUSTER_TOKEN');
    expect(() => serve([], { CONCLAVE_HUB_TOKEN: 'hub-token-1' })).toThrow('the token (CONCLAVE_HUB_TOKEN) is too weak');
  });
});
