/**
 * `conclave token`: prints a fresh random token (for a cluster, or a hub), or with --console the
 * console token of a cluster token (read from a file or the environment, never the command line).
 */
import { isConsoleToken } from '../../shared/protocol/tokens.js';
import { consoleTokenOf, newToken } from '../wire/tokens.js';
import { UsageError, readFlags, readToken, stringFlag } from '../base/flags.js';

export const TOKEN_USAGE = `Usage: conclave token [--console [--token-file F]]

  (no flags)      print a new random token: 256 bits, base64url. Use one as the cluster token of
                  your agents (CONCLAVE_CLUSTER_TOKEN or --token-file), another as a hub's token
                  (CONCLAVE_HUB_TOKEN or serve --token-file)
  --console       print the console token of the cluster token instead: consoles attach with it
                  (CONCLAVE_CONSOLE_TOKEN or --console-token-file) to watch and steer the agents,
                  and cannot join the cluster as a member with it
  --token-file F  the cluster token, for --console (else CONCLAVE_CLUSTER_TOKEN)

  umask 077; conclave token > /etc/conclave/token
  conclave token --console --token-file /etc/conclave/token > console-token`;

export function tokenCommand(argv: readonly string[], env: Record<string, string | undefined>): string {
  const flags = readFlags(argv, { console: 'boolean', 'token-file': 'string', help: 'boolean' });
  if (flags.has('help')) return TOKEN_USAGE;
  if (!flags.has('console')) {
    if (flags.has('token-file')) throw new UsageError('--token-file goes with --console');
    return newToken();
  }
  const cluster = readToken({
    flag: '--token-file',
    file: stringFlag(flags, 'token-file'),
    envNames: ['CONCLAVE_CLUSTER_TOKEN'],
    env,
    missing: '--console needs the cluster token: --token-file F, or CONCLAVE_CLUSTER_TOKEN in the environment',
  });
  if (isConsoleToken(cluster)) throw new UsageError('that is a console token already: --console takes the cluster token it is made from');
  return consoleTokenOf(cluster);
}
